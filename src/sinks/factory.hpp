// Builds the sink for a receiver's config (stdout, file, ...). Errors name the receiver's path.
#pragma once
#include "config/config.hpp"
#include "core/diagnostic.hpp"
#include "core/metrics.hpp"
#include "sinks/sink.hpp"

namespace ke::sinks {

// Checks a receiver's settings without opening anything: layouts compile, required keys,
// Loki's settings (URL, labels, limits), TLS files load, unimplemented kinds. What check-config
// reports; make_sink can then fail only on the environment (a file it cannot open).
void validate(const config::receiver& r, diagnostics& problems);

// Returns nullptr and adds an error diagnostic when the sink cannot be built (e.g. file path
// cannot be opened, invalid layout template).
sink_ptr make_sink(net::any_io_executor ex, const config::receiver& r, ke::metrics& m,
                   diagnostics& problems);

}  // namespace ke::sinks

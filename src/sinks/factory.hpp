// Builds the sink for a receiver's config (stdout, file, ...). Errors name the receiver's path.
#pragma once
#include "config/config.hpp"
#include "core/diagnostic.hpp"
#include "core/metrics.hpp"
#include "sinks/sink.hpp"

namespace ke::sinks {

// Returns nullptr and adds an error diagnostic when the sink cannot be built (e.g. file path
// cannot be opened, invalid layout template).
sink_ptr make_sink(net::any_io_executor ex, const config::receiver& r, ke::metrics& m,
                   diagnostics& problems);

}  // namespace ke::sinks

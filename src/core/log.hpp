// Logging setup: spdlog's default logger writing to stderr, as JSON lines (logFormat: json) or
// human-readable (pretty, ""). resmoio writes pretty logs to stdout; we keep stdout for the
// stdout receiver's event lines, so logs always go to stderr.
#pragma once
#include <string>

namespace ke {

// level: a resmoio/zerolog level name (trace, debug, info, warn, error, fatal, panic, disabled);
// format: "json" or "pretty"/"". Safe to call again (replaces the logger).
void setup_logging(const std::string& level, const std::string& format);

}  // namespace ke

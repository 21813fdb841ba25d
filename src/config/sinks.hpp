// Private to core/config_loader.cpp: reading a receiver's sink and queue from YAML.
#pragma once
#include <yaml-cpp/yaml.h>

#include <array>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/yaml_walk.hpp"

namespace ke::config::detail {

// The sink keys we implement.
inline constexpr std::array<std::string_view, 4> implemented_sinks = {"stdout", "file", "loki",
                                                                      "webhook"};
// resmoio's other sink keys (pkg/sinks/receiver.go): accepted, not implemented.
inline constexpr std::array<std::string_view, 17> unsupported_sinks = {
    "inMemory",   "pipe",      "syslog", "elasticsearch", "kinesis",    "firehose",
    "opensearch", "opsgenie",  "sqs",    "sns",           "slack",      "kafka",
    "pubsub",     "opscenter", "teams",  "bigquery",      "eventbridge"};

// Reads the value of the sink key `kind` (one of the above) found at `path`. An unimplemented
// kind gives unsupported_sink{kind} without looking inside.
sink parse_sink(yaml_walker& w, std::string_view kind, const YAML::Node& n,
                const std::string& path);

// Reads a receiver's queue: {maxRecords, onFull: block|drop}.
void parse_queue(yaml_walker& w, const YAML::Node& n, const std::string& path, queue& out);

}  // namespace ke::config::detail

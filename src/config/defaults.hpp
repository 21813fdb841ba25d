// The defaults resmoio documents, in one place: the config model, the loader's "0 means the
// default" rules and the watch's options all use these.
#pragma once
#include <cstdint>

namespace ke::config::defaults {

inline constexpr std::int64_t max_event_age_seconds = 5;  // maxEventAgeSeconds
inline constexpr double kube_qps = 5;                     // kubeQPS
inline constexpr int kube_burst = 10;                     // kubeBurst
inline constexpr int cache_size = 1024;                   // cacheSize
inline constexpr const char* leader_election_id = "kubernetes-event-exporter";

}  // namespace ke::config::defaults

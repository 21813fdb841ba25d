// `kube-event-exporter route-test`: routes events from a file through a config's route tree and
// prints, per event, the receivers it reaches. No API calls: label/annotation rules use the
// involvedObject.labels/annotations the events already carry (the enhanced form).
#pragma once
#include <iosfwd>

#include "config/config.hpp"
#include "route/rule_tree.hpp"

namespace ke::route {

// Reads one JSON object per line from `events` (a core/v1 Event, or a watch event
// {"type":..,"object":{..}}), writes one line per routed event to `out`:
// {"uid":..,"namespace":..,"reason":..,"receivers":[..]} (receivers in the order reached).
// Bad lines are reported on `err` as "<source>:<line>: <reason>" and skipped; BOOKMARK/ERROR
// watch events are skipped with a note; DELETED events are not exported, so they reach none.
// Returns the number of lines reported as bad.
std::size_t route_test(const config::config& cfg, const rule_tree& tree, std::istream& events,
                       const std::string& source, std::ostream& out, std::ostream& err);

}  // namespace ke::route

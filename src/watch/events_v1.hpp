// events.k8s.io/v1 Event -> the core/v1 Event shape, so both APIs feed the same decoder and
// produce the same record (kubernetes pkg/apis/events/v1/conversion.go, in reverse):
// regarding -> involvedObject, note -> message, reportingController -> reportingComponent,
// deprecatedSource -> source, deprecatedFirstTimestamp/LastTimestamp/Count ->
// firstTimestamp/lastTimestamp/count; metadata, reason, type, action, related, eventTime,
// series and reportingInstance keep their names. Unknown fields are dropped.
#pragma once
#include <nlohmann/json.hpp>

namespace ke::watch {

nlohmann::json events_v1_to_core(nlohmann::json event);

}  // namespace ke::watch

#include "core/kube_event.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/go_json.hpp"

namespace ke {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string events_dir() { return std::string(KE_TEST_DATA) + "/events/"; }

record decode_ok(const json& event, const kube_event_options& opt = {},
                 const involved_object_meta* meta = nullptr) {
  std::string error;
  auto rec = decode_kube_event(event, opt, meta, &error);
  EXPECT_TRUE(rec.has_value()) << error;
  return rec ? std::move(*rec) : record{};
}

std::string decode_error(const json& event) {
  std::string error;
  auto rec = decode_kube_event(event, {}, nullptr, &error);
  EXPECT_FALSE(rec.has_value());
  return error;
}

// A minimal legacy-recorder event.
json small_event() {
  return json::parse(R"({
    "metadata": {"name": "p.1", "namespace": "ns", "uid": "u-1",
                 "creationTimestamp": "2024-03-14T09:21:07Z"},
    "involvedObject": {"kind": "Pod", "namespace": "ns", "name": "p", "uid": "u-p",
                       "apiVersion": "v1"},
    "reason": "BackOff", "message": "Back-off restarting failed container",
    "source": {"component": "kubelet", "host": "node-a1"},
    "firstTimestamp": "2024-03-14T09:21:07Z", "lastTimestamp": "2024-03-14T09:26:41Z",
    "count": 5, "type": "Warning", "eventTime": null,
    "reportingComponent": "kubelet", "reportingInstance": "node-a1"})");
}

// Golden files: test/data/events/<name>.json is a core/v1 Event as the API server serves it
// (or, for enhanced_with_labels, as resmoio's file/stdout sink wrote it); <name>.expected.json
// is the line resmoio's json.Marshal(EnhancedEvent) produces for it, derived by hand from the
// Go structs (k8s.io/api v0.26 core/v1 Event, apimachinery ObjectMeta/Time/MicroTime, resmoio
// pkg/kube/event.go). Rules exercised:
//  pod_backoff_warning  - TypeMeta kind/apiVersion dropped (present in watch objects, absent
//                         from resmoio's informer objects); managedFields removed; "eventTime":null
//                         (zero MicroTime, struct so no omitempty); count kept; reportingComponent/
//                         reportingInstance after related; clusterName "" always present;
//                         involvedObject last (shadows Event.InvolvedObject) with
//                         "deleted":false and no labels (no lookup).
//  pod_scheduled_series - events.k8s.io-created event: "source":{} (struct, never omitted),
//                         firstTimestamp/lastTimestamp null, count absent (0 omitted),
//                         eventTime and series.lastObservedTime as MicroTime, series and
//                         action present.
//  node_not_ready       - cluster-scoped involved object: involvedObject has no namespace or
//                         apiVersion (omitempty); empty reportingComponent/Instance still
//                         written as "".
//  probe_html_unicode   - message escaping: < > & as \u003c \u003e \u0026, \n \t short
//                         escapes, ESC as \u001b, U+2028 escaped, \" and \\, other UTF-8
//                         (including an emoji given as a surrogate pair) copied as is.
//  enhanced_with_labels - enhanced input without a lookup: involvedObject labels/annotations
//                         kept with keys sorted as Go marshals maps, ownerReferences kept with
//                         controller/blockOwnerDeletion, deleted:true kept, the input's
//                         clusterName kept when the option is empty.
//  deployment_normalised- unknown fields dropped (note, regarding, deprecatedCount, related's
//                         labels); Time with fraction/offset re-marshalled as UTC seconds;
//                         MicroTime with nanoseconds truncated to micro; empty strings, zero
//                         count/generation, null series, empty slices/maps omitted; pointer
//                         deletionGracePeriodSeconds:0 kept; metadata labels sorted; related
//                         re-ordered to ObjectReference field order.
class KubeEventGolden : public testing::TestWithParam<const char*> {};

// Verifies that the line for each golden event is byte-for-byte the expected Go output.
TEST_P(KubeEventGolden, LineMatchesGoOutput) {
  const std::string name = GetParam();
  const json event = json::parse(read_file(events_dir() + name + ".json"));
  std::string expected = read_file(events_dir() + name + ".expected.json");
  while (!expected.empty() && expected.back() == '\n') {
    expected.pop_back();
  }
  const record rec = decode_ok(event);
  EXPECT_EQ(rec.line, expected);
  // The document serializes to the same line, and the line is valid JSON for that document.
  EXPECT_EQ(go_json(rec.doc), rec.line);
  EXPECT_EQ(ordered_json::parse(rec.line), rec.doc);
}

INSTANTIATE_TEST_SUITE_P(Events, KubeEventGolden,
                         testing::Values("pod_backoff_warning", "pod_scheduled_series",
                                         "node_not_ready", "probe_html_unicode",
                                         "enhanced_with_labels", "deployment_normalised"));

// Verifies that the routing fields of the record are filled from the event.
TEST(KubeEvent, FillsRoutingFields) {
  const record rec = decode_ok(small_event());
  EXPECT_EQ(rec.source, record_source::kube_event);
  EXPECT_EQ(rec.uid, "u-1");
  EXPECT_EQ(rec.namespace_, "ns");
  EXPECT_EQ(rec.name, "p.1");
  EXPECT_EQ(rec.reason, "BackOff");
  EXPECT_EQ(rec.type, "Warning");
  EXPECT_EQ(rec.message, "Back-off restarting failed container");
  EXPECT_EQ(rec.api_version, "v1");
  EXPECT_EQ(rec.kind, "Pod");
  EXPECT_EQ(rec.component, "kubelet");
  EXPECT_EQ(rec.host, "node-a1");
  EXPECT_EQ(rec.count, 5);
  EXPECT_EQ(rec.time_ns, 1710408401000000000);  // lastTimestamp
  EXPECT_TRUE(rec.labels.empty());
}

// Verifies that clusterName comes from the options, placed right before involvedObject.
TEST(KubeEvent, WritesClusterNameFromOptions) {
  json event = small_event();
  event["clusterName"] = "from-input";
  const record rec = decode_ok(event, {.cluster_name = "prod-eu1"});
  EXPECT_NE(
      rec.line.find(R"("reportingInstance":"node-a1","clusterName":"prod-eu1","involvedObject":{)"),
      std::string::npos)
      << rec.line;
}

// Verifies that clusterName is written as "" when neither options nor input set it.
TEST(KubeEvent, WritesEmptyClusterName) {
  const record rec = decode_ok(small_event());
  EXPECT_NE(rec.line.find(R"("clusterName":"",)"), std::string::npos) << rec.line;
}

// Verifies that looked-up metadata replaces the input's labels, sorted, with owner references
// and deleted:true, and fills the record's labels and annotations.
TEST(KubeEvent, EnrichesInvolvedObjectFromMeta) {
  json event = small_event();
  event["involvedObject"]["labels"] = {{"stale", "yes"}};
  involved_object_meta meta;
  meta.labels = {{"team", "data"}, {"app", "web"}, {"app", "api"}};
  meta.annotations = {{"owner", "sre"}};
  meta.owner_references = json::parse(R"([{"apiVersion":"apps/v1","kind":"ReplicaSet",
      "name":"web-1","uid":"rs-1","controller":true,"unknown":1}])");
  meta.deleted = true;
  const record rec = decode_ok(event, {}, &meta);
  EXPECT_NE(
      rec.line.find(
          R"("involvedObject":{"kind":"Pod","namespace":"ns","name":"p","uid":"u-p","apiVersion":"v1",)"
          R"("labels":{"app":"api","team":"data"},"annotations":{"owner":"sre"},)"
          R"("ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1",)"
          R"("uid":"rs-1","controller":true}],"deleted":true}})"),
      std::string::npos)
      << rec.line;
  EXPECT_EQ(rec.labels, (string_pairs{{"app", "api"}, {"team", "data"}}));
  EXPECT_EQ(rec.annotations, (string_pairs{{"owner", "sre"}}));
}

// Verifies that empty looked-up metadata omits labels/annotations/ownerReferences but keeps
// deleted, and drops malformed owner references as unstructured.GetOwnerReferences does.
TEST(KubeEvent, OmitsEmptyMetaFields) {
  involved_object_meta meta;
  meta.owner_references = json::parse(R"([{"kind":"ReplicaSet"}, "not an object"])");
  const record rec = decode_ok(small_event(), {}, &meta);
  EXPECT_NE(rec.line.find(R"("apiVersion":"v1","deleted":false}})"), std::string::npos) << rec.line;
}

// Verifies that JSON null fields decode as Go zero values: omitted or null, never errors.
TEST(KubeEvent, TreatsNullAsZeroValue) {
  const json event = json::parse(R"({"metadata":null,"involvedObject":null,"reason":null,
      "source":null,"count":null,"series":null,"related":null,"firstTimestamp":null})");
  const record rec = decode_ok(event);
  EXPECT_EQ(rec.line,
            R"({"metadata":{"creationTimestamp":null},"source":{},"firstTimestamp":null,)"
            R"("lastTimestamp":null,"eventTime":null,"reportingComponent":"",)"
            R"("reportingInstance":"","clusterName":"","involvedObject":{"deleted":false}})");
  EXPECT_EQ(rec.time_ns, 0);
}

// Verifies that Go's zero time written out in the input marshals back as null.
TEST(KubeEvent, WritesZeroTimeAsNull) {
  json event = small_event();
  event["firstTimestamp"] = "0001-01-01T00:00:00Z";
  event["eventTime"] = "0001-01-01T00:00:00.000000Z";
  const record rec = decode_ok(event);
  EXPECT_EQ(rec.doc["firstTimestamp"], nullptr);
  EXPECT_EQ(rec.doc["eventTime"], nullptr);
}

// Verifies that an empty series object keeps lastObservedTime as null (a struct pointer).
TEST(KubeEvent, WritesEmptySeries) {
  json event = small_event();
  event["series"] = json::object();
  const record rec = decode_ok(event);
  EXPECT_NE(
      rec.line.find(R"("eventTime":null,"series":{"lastObservedTime":null},"reportingComponent")"),
      std::string::npos)
      << rec.line;
}

// Verifies that a non-string count is rejected with an error naming the field.
TEST(KubeEvent, RejectsStringCount) {
  json event = small_event();
  event["count"] = "x";
  EXPECT_EQ(decode_error(event), "count: expected int32, got string");
}

// Verifies that a fractional or out-of-range count is rejected, as Go's int32 decode does.
TEST(KubeEvent, RejectsNonInt32Count) {
  json event = small_event();
  event["count"] = 5.5;
  EXPECT_EQ(decode_error(event), "count: expected int32, got number");
  event["count"] = 2147483648LL;
  EXPECT_EQ(decode_error(event), "count: expected int32, got number");
}

// Verifies that an involvedObject that is not an object is rejected, naming the field.
TEST(KubeEvent, RejectsStringInvolvedObject) {
  json event = small_event();
  event["involvedObject"] = "pod/p";
  EXPECT_EQ(decode_error(event), "involvedObject: expected object, got string");
}

// Verifies that nested type errors name the full path.
TEST(KubeEvent, NamesNestedFieldInError) {
  json event = small_event();
  event["involvedObject"]["labels"] = {{"app", 3}};
  EXPECT_EQ(decode_error(event), "involvedObject.labels.app: expected string, got number");
  event = small_event();
  event["involvedObject"]["ownerReferences"] = json::parse(R"([{"controller":"yes"}])");
  EXPECT_EQ(decode_error(event),
            "involvedObject.ownerReferences[0].controller: expected boolean, got string");
  event = small_event();
  event["source"]["host"] = false;
  EXPECT_EQ(decode_error(event), "source.host: expected string, got boolean");
}

// Verifies that an unparseable time is rejected, naming the field.
TEST(KubeEvent, RejectsBadTime) {
  json event = small_event();
  event["lastTimestamp"] = "yesterday";
  EXPECT_EQ(decode_error(event), R"(lastTimestamp: invalid RFC3339 time "yesterday")");
  event = small_event();
  event["metadata"]["creationTimestamp"] = 1710408401;
  EXPECT_EQ(decode_error(event),
            "metadata.creationTimestamp: expected RFC3339 time string, got number");
}

// Verifies that a non-object event is rejected.
TEST(KubeEvent, RejectsNonObjectEvent) {
  EXPECT_EQ(decode_error(json::array()), "event: expected object, got array");
}

// Verifies the time priority: series.lastObservedTime, lastTimestamp, eventTime,
// firstTimestamp, metadata.creationTimestamp, else 0.
TEST(KubeEvent, PicksEventTimeByPriority) {
  json e = json::parse(R"({"metadata":{"creationTimestamp":"2024-03-14T09:00:00Z"},
      "firstTimestamp":"2024-03-14T09:01:00Z","eventTime":"2024-03-14T09:02:00.500000Z",
      "lastTimestamp":"2024-03-14T09:03:00Z",
      "series":{"count":2,"lastObservedTime":"2024-03-14T09:04:00.250000Z"}})");
  const std::int64_t base = 1710406800000000000;  // 2024-03-14T09:00:00Z
  constexpr std::int64_t minute = 60000000000;
  EXPECT_EQ(kube_event_time_ns(e), base + 4 * minute + 250000000);
  e.erase("series");
  EXPECT_EQ(kube_event_time_ns(e), base + 3 * minute);
  e["lastTimestamp"] = nullptr;
  EXPECT_EQ(kube_event_time_ns(e), base + 2 * minute + 500000000);
  e.erase("eventTime");
  EXPECT_EQ(kube_event_time_ns(e), base + minute);
  e.erase("firstTimestamp");
  EXPECT_EQ(kube_event_time_ns(e), base);
  e.erase("metadata");
  EXPECT_EQ(kube_event_time_ns(e), 0);
}

// Flattens a document the way Loki's `| json` parser does: nested object keys joined with
// '_', characters outside [A-Za-z0-9_] replaced by '_', arrays skipped.
void loki_flatten(const ordered_json& j, const std::string& prefix,
                  std::map<std::string, std::string>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "_" + it.key();
    for (char& c : key) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
        c = '_';
      }
    }
    if (it->is_object()) {
      loki_flatten(*it, key, out);
    } else if (it->is_string()) {
      out[key] = it->get<std::string>();
    } else if (!it->is_array()) {
      out[key] = it->dump();
    }
  }
}

// Verifies that the keys the documented Loki query uses exist after `| json` flattening and
// render the documented line_format.
TEST(KubeEvent, SupportsLokiJsonLineFormat) {
  std::map<std::string, std::string> labels;
  loki_flatten(ordered_json::parse(decode_ok(small_event()).line), "", labels);
  ASSERT_TRUE(labels.count("type") && labels.count("reason") && labels.count("message") &&
              labels.count("involvedObject_name"));
  const std::string line = "[" + labels["type"] + "] " + labels["reason"] + ": " +
                           labels["message"] + " (Pod: " + labels["involvedObject_name"] + ")";
  EXPECT_EQ(line, "[Warning] BackOff: Back-off restarting failed container (Pod: p)");
  EXPECT_EQ(labels["involvedObject_deleted"], "false");
}

}  // namespace
}  // namespace ke

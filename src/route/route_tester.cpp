#include "route/route_tester.hpp"

#include <istream>
#include <ostream>
#include <string>

#include "core/go_json.hpp"
#include "core/kube_event.hpp"

namespace ke::route {

std::size_t route_test(const config::config& cfg, const rule_tree& tree, std::istream& events,
                       const std::string& source, std::ostream& out, std::ostream& err) {
  std::vector<std::string> names;
  names.reserve(cfg.receivers.size());
  for (const auto& r : cfg.receivers) {
    names.push_back(r.name);
  }

  const kube_event_options opt{cfg.cluster_name};
  std::vector<std::uint32_t> reached;
  std::size_t bad = 0;
  std::string line;
  for (std::size_t line_no = 1; std::getline(events, line); ++line_no) {
    auto where = source + ":" + std::to_string(line_no) + ": ";
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    nlohmann::json parsed;
    try {
      parsed = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      err << where << "invalid JSON at byte " << e.byte << "\n";
      ++bad;
      continue;
    }
    if (!parsed.is_object()) {
      err << where << "expected a JSON object\n";
      ++bad;
      continue;
    }
    const nlohmann::json* event = &parsed;
    bool exported = true;
    if (parsed.contains("object") && parsed.contains("type") && parsed["type"].is_string()) {
      auto type = parsed["type"].get<std::string>();
      if (type == "BOOKMARK" || type == "ERROR") {
        err << where << "skipped " << type << " watch event\n";
        continue;
      }
      exported = type != "DELETED";
      event = &parsed["object"];
    }
    std::string error;
    auto rec = decode_kube_event(*event, opt, nullptr, &error);
    if (!rec) {
      err << where << error << "\n";
      ++bad;
      continue;
    }
    reached.clear();
    if (exported) {
      tree.route(*rec, reached);
    }
    nlohmann::ordered_json o;
    o["uid"] = rec->uid;
    o["namespace"] = rec->namespace_;
    o["reason"] = rec->reason;
    auto& arr = o["receivers"] = nlohmann::ordered_json::array();
    for (auto i : reached) {
      arr.push_back(names[i]);
    }
    out << go_json(o) << "\n";
  }
  return bad;
}

}  // namespace ke::route

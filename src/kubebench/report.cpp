#include "kubebench/report.hpp"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/go_json.hpp"

namespace ke::kubebench {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// A string field: strings as they are, numbers and booleans as their JSON text, else "".
std::string str(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    return {};
  }
  if (it->is_string()) {
    return it->get<std::string>();
  }
  if (it->is_number() || it->is_boolean()) {
    return it->dump();
  }
  return {};
}

std::int64_t num(const json& obj, const char* key, bool* present = nullptr) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) {
    return 0;
  }
  if (present != nullptr) {
    *present = true;
  }
  if (it->is_number_float()) {
    return static_cast<std::int64_t>(it->get<double>());
  }
  if (it->is_number_unsigned()) {
    return static_cast<std::int64_t>(std::min<std::uint64_t>(it->get<std::uint64_t>(), INT64_MAX));
  }
  return it->get<std::int64_t>();
}

bool boolean(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

const json* member(const json& obj, const char* key, json::value_t type) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->type() != type) {
    return nullptr;
  }
  return &*it;
}

// The parts of a check's record that come from its Controls and group.
struct controls_ctx {
  std::string id, version, text, node_type, detected_version;
};
struct group_ctx {
  std::string section, desc, type;
  std::int64_t pass = 0, fail = 0, warn = 0, info = 0;
};
struct check_ctx {
  std::string number, desc, audit, audit_env, audit_conf, type, remediation, test_info, status,
      actual_value, expected_result, reason;
  bool scored = false;
  bool is_multiple = false;
};

void count_status(totals& t, std::string_view status) {
  if (status == "PASS") {
    ++t.pass;
  } else if (status == "FAIL") {
    ++t.fail;
  } else if (status == "WARN") {
    ++t.warn;
  } else if (status == "INFO") {
    ++t.info;
  }
}

class builder {
 public:
  builder(const report_meta& meta, const parse_options& opt) : meta_(meta), opt_(opt) {}

  void add(const controls_ctx& c, const group_ctx& g, const check_ctx& k) {
    pending_.push_back({c, g, k});
    count_status(counted_, k.status);
    if (!c.node_type.empty() &&
        std::find(node_types_.begin(), node_types_.end(), c.node_type) == node_types_.end()) {
      node_types_.push_back(c.node_type);
    }
  }
  void note_node_type(const std::string& t) {
    if (!t.empty() && std::find(node_types_.begin(), node_types_.end(), t) == node_types_.end()) {
      node_types_.push_back(t);
    }
  }
  std::size_t size() const { return pending_.size(); }
  const totals& counted() const { return counted_; }
  // Text format: the target name is known only at the target's summary, after its checks.
  void set_node_type_from(std::size_t first, const std::string& node_type) {
    for (std::size_t i = first; i < pending_.size(); ++i) {
      pending_[i].c.node_type = node_type;
    }
    note_node_type(node_type);
  }
  // Text format: the check numbered `number` among the checks from `first` on, if any.
  check_ctx* find_check(std::size_t first, std::string_view number) {
    for (std::size_t i = first; i < pending_.size(); ++i) {
      if (pending_[i].k.number == number) {
        return &pending_[i].k;
      }
    }
    return nullptr;
  }

  report finish(std::optional<totals> reported, totals_source source) {
    report r;
    r.node_name = meta_.node_name;
    r.target = meta_.target;
    if (r.target.empty()) {
      for (const auto& t : node_types_) {
        r.target += (r.target.empty() ? "" : ",") + t;
      }
    }
    r.syntax = meta_.syntax;
    if (r.syntax.empty()) {
      r.syntax = r.target.empty() ? "kube-bench run" : "kube-bench run --targets=" + r.target;
    }
    if (reported) {
      r.totals = *reported;
      r.source = source;
    } else {
      r.totals = counted_;
      r.source = totals_source::checks;
    }
    r.records.reserve(pending_.size());
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      r.records.push_back(make(r, pending_[i], i));
    }
    return r;
  }

 private:
  struct item {
    controls_ctx c;
    group_ctx g;
    check_ctx k;
  };

  record_ptr make(const report& r, const item& it, std::size_t index) const {
    auto rec = std::make_shared<record>();
    rec->source = record_source::kube_bench;
    const auto& [c, g, k] = it;
    ojson& d = rec->doc;
    d["kube_bench_node_name"] = r.node_name;
    d["kube_bench_target"] = r.target;
    d["kube_bench_syntax"] = r.syntax;
    d["kube_bench_gb_cis_id"] = c.id;
    d["kube_bench_gb_cis_version"] = c.version;
    d["kube_bench_gb_cis_description"] = c.text;
    d["kube_bench_gb_tg_type"] = c.node_type;
    d["kube_bench_gb_tg_version"] = c.detected_version;
    d["kube_bench_gb_tg_test_major_section"] = g.section;
    d["kube_bench_gb_tg_test_major_description"] = g.desc;
    d["kube_bench_gb_tg_test_major_type"] = g.type;
    d["kube_bench_gb_tg_test_major_pass"] = g.pass;
    d["kube_bench_gb_tg_test_major_fail"] = g.fail;
    d["kube_bench_gb_tg_test_major_warn"] = g.warn;
    d["kube_bench_gb_tg_test_major_info"] = g.info;
    d["kube_bench_gb_tg_test_minor_section"] = k.number;
    d["kube_bench_gb_tg_test_minor_description"] = k.desc;
    d["kube_bench_gb_tg_test_minor_audit"] = k.audit;
    d["kube_bench_gb_tg_test_minor_audit_env"] = k.audit_env;
    d["kube_bench_gb_tg_test_minor_audit_conf"] = k.audit_conf;
    d["kube_bench_gb_tg_test_minor_type"] = k.type;
    d["kube_bench_gb_tg_test_minor_remediation"] = k.remediation;
    d["kube_bench_gb_tg_test_minor_test_info"] = k.test_info;
    d["kube_bench_gb_tg_test_minor_status"] = k.status;
    d["kube_bench_gb_tg_test_minor_actual_value"] = k.actual_value;
    d["kube_bench_gb_tg_test_minor_scored"] = k.scored;
    d["kube_bench_gb_tg_test_minor_is_multiple"] = k.is_multiple;
    d["kube_bench_gb_tg_test_minor_expected_result"] = k.expected_result;
    if (!k.reason.empty()) {
      d["kube_bench_gb_tg_test_minor_reason"] = k.reason;
    }
    rec->line = go_json(d);

    rec->kind = "KubeBench";
    rec->api_version = "kube-bench/v1";
    rec->reason = k.status;
    rec->type = (k.status == "FAIL" || k.status == "WARN") ? "Warning" : "Normal";
    rec->message = k.desc;
    rec->name = k.number;
    rec->host = r.node_name;
    rec->component = "kube-bench";
    rec->count = 1;
    rec->time_ns = opt_.time_ns + static_cast<std::int64_t>(index);
    rec->stream_labels = opt_.stream_labels;
    rec->stream_labels.emplace_back("kube_bench_node_name", r.node_name);
    rec->stream_labels.emplace_back("kube_bench_target", r.target);
    rec->stream_labels.emplace_back("status", k.status);
    if (!opt_.source_position_prefix.empty()) {
      rec->source_position = opt_.source_position_prefix + "#" + std::to_string(index);
    }
    return rec;
  }

  const report_meta& meta_;
  const parse_options& opt_;
  std::vector<item> pending_;
  std::vector<std::string> node_types_;
  totals counted_;
};

parse_result fail(std::size_t offset, std::string reason) {
  parse_result r;
  r.error = {offset, std::move(reason)};
  return r;
}

std::string join_lines(const json& list) {
  std::string out;
  if (list.is_string()) {
    return list.get<std::string>();
  }
  if (!list.is_array()) {
    return out;
  }
  for (const auto& s : list) {
    if (s.is_string()) {
      out += (out.empty() ? "" : "\n") + s.get<std::string>();
    }
  }
  return out;
}

}  // namespace

std::string parse_error::to_string() const {
  return "at byte " + std::to_string(offset) + ": " + reason;
}

std::optional<std::size_t> json_too_deep(std::string_view body, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char ch = body[i];
    if (in_string) {
      if (ch == '\\') {
        ++i;
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    switch (ch) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return i;
        }
        break;
      case ']':
      case '}':
        if (depth > 0) {
          --depth;
        }
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_label_value(std::string_view what, std::string_view value,
                                             std::size_t max) {
  if (value.size() > max) {
    return std::string(what) + " is longer than " + std::to_string(max) + " bytes";
  }
  for (const unsigned char ch : value) {
    if (ch < 0x20 || ch == 0x7f) {
      return std::string(what) + " contains a control character";
    }
  }
  // Reject invalid UTF-8 (the exposition format and Loki require valid UTF-8).
  try {
    (void)json(std::string(value)).dump();
  } catch (const json::exception&) {
    return std::string(what) + " is not valid UTF-8";
  }
  return std::nullopt;
}

parse_result parse_json(std::string_view body, const report_meta& meta, const parse_options& opt) {
  if (const auto deep = json_too_deep(body, opt.max_depth)) {
    return fail(*deep, "JSON nested deeper than " + std::to_string(opt.max_depth) + " levels");
  }
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // e.byte is 1-based (the position of the offending character); report 0-based offsets.
    const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    std::string what = e.what();
    if (const auto p = what.find("syntax error"); p != std::string::npos) {
      what = what.substr(p);
    }
    return fail(std::min(offset, body.size()), "malformed JSON: " + what);
  }

  const json* controls = nullptr;
  const json* totals_obj = nullptr;
  json single;
  if (doc.is_array()) {
    controls = &doc;
  } else if (doc.is_object()) {
    controls = member(doc, "Controls", json::value_t::array);
    totals_obj = member(doc, "Totals", json::value_t::object);
    if (controls == nullptr && doc.contains("tests")) {
      single = json::array({doc});  // one Controls object on its own
      controls = &single;
    }
    if (controls == nullptr && doc.contains("Controls") && !doc["Controls"].is_null()) {
      return fail(0, "\"Controls\" must be an array");
    }
    if (controls == nullptr && totals_obj == nullptr) {
      return fail(0,
                  "not a kube-bench report: expected {\"Controls\":[...],\"Totals\":{...}} "
                  "or an array of Controls");
    }
  } else {
    return fail(0, "not a kube-bench report: expected a JSON object or array, got " +
                       std::string(doc.type_name()));
  }

  builder b(meta, opt);
  totals summed;
  bool any_control_totals = false;
  const json empty = json::array();
  for (const auto& c : controls != nullptr ? *controls : empty) {
    if (!c.is_object()) {
      continue;
    }
    controls_ctx cc{str(c, "id"), str(c, "version"), str(c, "text"), str(c, "node_type"),
                    str(c, "detected_version")};
    b.note_node_type(cc.node_type);
    summed.pass += num(c, "total_pass", &any_control_totals);
    summed.fail += num(c, "total_fail", &any_control_totals);
    summed.warn += num(c, "total_warn", &any_control_totals);
    summed.info += num(c, "total_info", &any_control_totals);
    const json* groups = member(c, "tests", json::value_t::array);
    if (groups == nullptr) {
      continue;
    }
    for (const auto& g : *groups) {
      if (!g.is_object()) {
        continue;
      }
      group_ctx gc{str(g, "section"), str(g, "desc"), str(g, "type"), num(g, "pass"),
                   num(g, "fail"),    num(g, "warn"), num(g, "info")};
      const json* checks = member(g, "results", json::value_t::array);
      if (checks == nullptr) {
        continue;
      }
      for (const auto& k : *checks) {
        if (!k.is_object()) {
          continue;
        }
        if (b.size() >= opt.max_checks) {
          return fail(0, "more than " + std::to_string(opt.max_checks) + " checks");
        }
        check_ctx kc;
        kc.number = str(k, "test_number");
        kc.desc = str(k, "test_desc");
        kc.audit = str(k, "audit");
        kc.audit_env = str(k, "AuditEnv");
        kc.audit_conf = str(k, "AuditConfig");
        kc.type = str(k, "type");
        kc.remediation = str(k, "remediation");
        if (const auto it = k.find("test_info"); it != k.end()) {
          kc.test_info = join_lines(*it);
        }
        kc.status = str(k, "status");
        kc.actual_value = str(k, "actual_value");
        kc.scored = boolean(k, "scored");
        kc.is_multiple = boolean(k, "IsMultiple");
        kc.expected_result = str(k, "expected_result");
        kc.reason = str(k, "reason");
        b.add(cc, gc, kc);
      }
    }
  }

  std::optional<totals> reported;
  totals_source source = totals_source::checks;
  if (totals_obj != nullptr) {
    reported = totals{num(*totals_obj, "total_pass"), num(*totals_obj, "total_fail"),
                      num(*totals_obj, "total_warn"), num(*totals_obj, "total_info")};
    source = totals_source::totals;
  } else if (any_control_totals) {
    reported = summed;
    source = totals_source::controls;
  }
  parse_result out;
  out.value = b.finish(reported, source);
  return out;
}

}  // namespace ke::kubebench

namespace ke::kubebench {

namespace {

// Removes ANSI escape sequences (kube-bench colours "[FAIL]" on a TTY) and a trailing CR.
std::string strip_ansi(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      i += 2;
      while (i < line.size() && !(line[i] >= '@' && line[i] <= '~')) {
        ++i;
      }
      continue;
    }
    out.push_back(line[i]);
  }
  if (!out.empty() && out.back() == '\r') {
    out.pop_back();
  }
  return out;
}

// "[STATE] <id> <text>" -> true with the parts.
bool state_line(std::string_view line, std::string& state, std::string& id, std::string& text) {
  if (line.size() < 8 || line[0] != '[' || line[5] != ']' || line[6] != ' ') {
    return false;
  }
  state = std::string(line.substr(1, 4));
  if (state != "PASS" && state != "FAIL" && state != "WARN" && state != "INFO") {
    return false;
  }
  std::string_view rest = line.substr(7);
  const auto space = rest.find(' ');
  id = std::string(rest.substr(0, space));
  text = space == std::string_view::npos ? std::string() : std::string(rest.substr(space + 1));
  return !id.empty();
}

// "== <Title> <name> ==" -> name, when the title matches.
std::optional<std::string> section_line(std::string_view line, std::string_view title) {
  const std::string open = "== " + std::string(title) + " ";
  if (!line.starts_with(open) || !line.ends_with(" ==") || line.size() < open.size() + 3) {
    return std::nullopt;
  }
  return std::string(line.substr(open.size(), line.size() - open.size() - 3));
}

// "N checks PASS" -> true with N and the state.
bool summary_count(std::string_view line, std::int64_t& n, std::string& state) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos || space == 0 ||
      !line.substr(space).starts_with(" checks ")) {
    return false;
  }
  n = 0;
  for (const char ch : line.substr(0, space)) {
    if (ch < '0' || ch > '9' || n > INT64_MAX / 10 - 10) {
      return false;
    }
    n = n * 10 + (ch - '0');
  }
  state = std::string(line.substr(space + 8));
  return state == "PASS" || state == "FAIL" || state == "WARN" || state == "INFO";
}

void add_count(totals& t, std::string_view state, std::int64_t n) {
  if (state == "PASS") {
    t.pass += n;
  } else if (state == "FAIL") {
    t.fail += n;
  } else if (state == "WARN") {
    t.warn += n;
  } else {
    t.info += n;
  }
}

}  // namespace

parse_result parse_text(std::string_view body, const report_meta& meta, const parse_options& opt) {
  builder b(meta, opt);
  enum class mode { checks, remediations, summary, total };
  mode m = mode::checks;
  controls_ctx controls;
  group_ctx group;
  bool have_controls = false;
  std::size_t target_first = 0;  // first check of the current target
  check_ctx* remediation = nullptr;
  totals per_target;
  bool any_target_summary = false;
  totals total;
  bool any_total = false;
  report unparsed;  // collects unparsed line numbers only
  bool blank_before = false;

  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= body.size()) {
    const auto nl = body.find('\n', pos);
    const auto raw =
        body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? body.size() + 1 : nl + 1;
    ++line_no;
    const std::string line = strip_ansi(raw);
    std::string state, id, text;
    if (line.empty()) {
      blank_before = true;
      continue;
    }
    const bool paragraph = std::exchange(blank_before, false);
    if (auto name = section_line(line, "Remediations")) {
      m = mode::remediations;
      remediation = nullptr;
      continue;
    }
    if (auto name = section_line(line, "Summary")) {
      if (*name == "total") {
        m = mode::total;
      } else {
        m = mode::summary;
        b.set_node_type_from(target_first, *name);
        target_first = b.size();
        have_controls = false;
      }
      remediation = nullptr;
      continue;
    }
    std::int64_t n = 0;
    if ((m == mode::summary || m == mode::total) && summary_count(line, n, state)) {
      if (m == mode::total) {
        add_count(total, state, n);
        any_total = true;
      } else {
        add_count(per_target, state, n);
        any_target_summary = true;
      }
      continue;
    }
    if (state_line(line, state, id, text)) {
      m = mode::checks;
      remediation = nullptr;
      if (state == "INFO" && !have_controls) {
        controls = {id, "", text, "", ""};
        group = {};
        have_controls = true;
        continue;
      }
      if (state == "INFO" && (group.section.empty() || !id.starts_with(group.section + "."))) {
        group = {};
        group.section = id;
        group.desc = text;
        continue;
      }
      if (b.size() >= opt.max_checks) {
        return fail(pos > body.size() ? body.size() : pos,
                    "more than " + std::to_string(opt.max_checks) + " checks");
      }
      check_ctx k;
      k.number = id;
      k.desc = text;
      k.status = state;
      k.scored = text.ends_with("(Scored)") || text.ends_with("(Automated)");
      b.add(controls, group, k);
      continue;
    }
    if (m == mode::remediations) {
      const auto space = line.find(' ');
      if (space != std::string::npos) {
        if (auto* k = b.find_check(target_first, std::string_view(line).substr(0, space))) {
          remediation = k;
          k->remediation = line.substr(space + 1);
          continue;
        }
      }
      if (remediation != nullptr) {
        remediation->remediation +=
            (remediation->remediation.empty() ? "" : (paragraph ? "\n\n" : "\n")) + line;
        continue;
      }
    }
    ++unparsed.unparsed_count;
    if (unparsed.unparsed_lines.size() < 20) {
      unparsed.unparsed_lines.push_back(line_no);
    }
  }
  if (b.size() == 0) {
    return fail(0, "no \"[PASS|FAIL|WARN|INFO] <number> <text>\" check line found in the text");
  }
  if (target_first < b.size() && !meta.target.empty()) {
    b.set_node_type_from(target_first, meta.target);
  }
  std::optional<totals> reported;
  totals_source source = totals_source::checks;
  if (any_total) {
    reported = total;
    source = totals_source::totals;
  } else if (any_target_summary) {
    reported = per_target;
    source = totals_source::controls;
  }
  parse_result out;
  out.value = b.finish(reported, source);
  out.value->unparsed_count = unparsed.unparsed_count;
  out.value->unparsed_lines = std::move(unparsed.unparsed_lines);
  return out;
}

}  // namespace ke::kubebench

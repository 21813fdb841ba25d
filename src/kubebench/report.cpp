#include "kubebench/report.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "kubebench/report_builder.hpp"

namespace ke::kubebench {

namespace {

using json = nlohmann::json;
using detail::builder;
using detail::check_ctx;
using detail::controls_ctx;
using detail::fail;
using detail::group_ctx;

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
    // json_bad_number() let only values in [-2^63, 2^63) through, so the conversion is defined;
    // the test stays so that it is defined whatever the caller did.
    const double d = it->get<double>();
    if (!(d >= -0x1p63 && d < 0x1p63)) {
      return 0;
    }
    return static_cast<std::int64_t>(d);
  }
  if (it->is_number_unsigned()) {
    return static_cast<std::int64_t>(std::min<std::uint64_t>(it->get<std::uint64_t>(), INT64_MAX));
  }
  return it->get<std::int64_t>();
}

// a += b, false when the sum leaves int64 (a unchanged).
bool add_checked(std::int64_t& a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    return false;
  }
  a = sum;
  return true;
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

namespace {

// Calls f(i) for the index of each byte outside JSON strings, in order (f may move i forward to
// skip a token); returns f's first result.
template <class R, class F>
std::optional<R> scan_outside_strings(std::string_view body, F f) {
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
    if (ch == '"') {
      in_string = true;
      continue;
    }
    if (auto r = f(i)) {
      return r;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::size_t> json_too_deep(std::string_view body, std::size_t max_depth) {
  std::size_t depth = 0;
  return scan_outside_strings<std::size_t>(body, [&](std::size_t& i) -> std::optional<std::size_t> {
    const char ch = body[i];
    if (ch == '[' || ch == '{') {
      if (++depth > max_depth) {
        return i;
      }
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      --depth;
    }
    return std::nullopt;
  });
}

std::optional<parse_error> json_bad_number(std::string_view body) {
  return scan_outside_strings<parse_error>(body, [&](std::size_t& i) -> std::optional<parse_error> {
    const char ch = body[i];
    if (ch != '-' && (ch < '0' || ch > '9')) {
      return std::nullopt;
    }
    std::size_t end = i;
    bool integer = true;
    while (end < body.size()) {
      const char c = body[end];
      if (c == '.' || c == 'e' || c == 'E' || c == '+') {
        integer = false;
      } else if (c != '-' && (c < '0' || c > '9')) {
        break;
      }
      ++end;
    }
    const std::string_view token = body.substr(i, end - i);
    const auto bad = [&](const char* why) {
      return parse_error{i, "number " + std::string(token.substr(0, 40)) +
                                (token.size() > 40 ? "..." : "") + " is " + why};
    };
    const char* first = token.data();
    const char* last = token.data() + token.size();
    if (integer) {
      std::int64_t v = 0;
      if (std::from_chars(first, last, v).ec == std::errc::result_out_of_range) {
        return bad("outside the 64-bit integer range");
      }
    } else {
      double v = 0;
      const auto [ptr, ec] = std::from_chars(first, last, v);
      if (ec == std::errc::result_out_of_range) {
        return bad("out of range (overflows or underflows a double)");
      }
      if (ec == std::errc() && ptr == last && !(v >= -0x1p63 && v < 0x1p63)) {
        return bad("outside the 64-bit integer range");
      }
    }
    i = end - 1;  // malformed tokens are the JSON parser's to report
    return std::nullopt;
  });
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
  if (auto bad = json_bad_number(body)) {
    parse_result r;
    r.error = std::move(*bad);
    return r;
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
  } catch (const json::exception& e) {
    // Not reached after json_bad_number (nlohmann's other parse-time error is out_of_range 406,
    // a number overflow), kept so that no exception leaves the parser.
    return fail(0, std::string("malformed JSON: ") + e.what());
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
  std::size_t control_index = 0;
  for (const auto& c : controls != nullptr ? *controls : empty) {
    const std::size_t ci = control_index++;
    if (!c.is_object()) {
      continue;
    }
    controls_ctx cc{str(c, "id"), str(c, "version"), str(c, "text"), str(c, "node_type"),
                    str(c, "detected_version")};
    b.note_node_type(cc.node_type);
    for (auto [key, sum] : {std::pair{"total_pass", &summed.pass},
                            {"total_fail", &summed.fail},
                            {"total_warn", &summed.warn},
                            {"total_info", &summed.info}}) {
      if (!add_checked(*sum, num(c, key, &any_control_totals))) {
        return fail(0, "Controls[" + std::to_string(ci) + "]." + key +
                           ": the sum of the Controls' " + key +
                           " is outside the 64-bit integer range");
      }
    }
    const json* groups = member(c, "tests", json::value_t::array);
    if (groups == nullptr) {
      continue;
    }
    std::size_t group_index = 0;
    for (const auto& g : *groups) {
      const std::size_t gi = group_index++;
      if (!g.is_object()) {
        continue;
      }
      group_ctx gc{str(g, "section"), str(g, "desc"), str(g, "type"), num(g, "pass"),
                   num(g, "fail"),    num(g, "warn"), num(g, "info")};
      const json* checks = member(g, "results", json::value_t::array);
      if (checks == nullptr) {
        continue;
      }
      std::size_t check_index = 0;
      for (const auto& k : *checks) {
        const std::size_t ki = check_index++;
        if (!k.is_object()) {
          continue;
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
        if (auto over = b.add(cc, gc, std::move(kc))) {
          return detail::too_large(0, "Controls[" + std::to_string(ci) + "].tests[" +
                                          std::to_string(gi) + "].results[" + std::to_string(ki) +
                                          "]: " + *over);
        }
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
  return b.finish(reported, source);
}

}  // namespace ke::kubebench

// The plain-text kube-bench output, best effort (see report.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "kubebench/report.hpp"
#include "kubebench/report_builder.hpp"

namespace ke::kubebench {

namespace {

using detail::builder;
using detail::check_ctx;
using detail::controls_ctx;
using detail::fail;
using detail::group_ctx;

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

enum class count_line { no, yes, out_of_range };

// "N checks PASS" -> yes with N and the state; out_of_range when N does not fit in int64.
count_line summary_count(std::string_view line, std::int64_t& n, std::string& state) {
  const auto space = line.find(' ');
  if (space == std::string_view::npos || space == 0 ||
      !line.substr(space).starts_with(" checks ")) {
    return count_line::no;
  }
  state = std::string(line.substr(space + 8));
  if (state != "PASS" && state != "FAIL" && state != "WARN" && state != "INFO") {
    return count_line::no;
  }
  n = 0;
  bool overflow = false;
  for (const char ch : line.substr(0, space)) {
    if (ch < '0' || ch > '9') {
      return count_line::no;
    }
    overflow =
        overflow || __builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, ch - '0', &n);
  }
  return overflow ? count_line::out_of_range : count_line::yes;
}

// Adds n to the state's total; false when the total would leave int64.
bool add_count(totals& t, std::string_view state, std::int64_t n) {
  std::int64_t* total = &t.info;
  if (state == "PASS") {
    total = &t.pass;
  } else if (state == "FAIL") {
    total = &t.fail;
  } else if (state == "WARN") {
    total = &t.warn;
  }
  return !__builtin_add_overflow(*total, n, total);
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
    const std::size_t line_start = pos;
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
        if (auto over = b.set_node_type_from(target_first, *name)) {
          return detail::too_large(line_start, "line " + std::to_string(line_no) + ": " + *over);
        }
        target_first = b.size();
        have_controls = false;
      }
      remediation = nullptr;
      continue;
    }
    std::int64_t n = 0;
    const count_line counted =
        m == mode::summary || m == mode::total ? summary_count(line, n, state) : count_line::no;
    if (counted == count_line::out_of_range) {
      return fail(line_start, "line " + std::to_string(line_no) +
                                  ": the check count is outside the 64-bit integer range");
    }
    if (counted == count_line::yes) {
      if (!add_count(m == mode::total ? total : per_target, state, n)) {
        return fail(line_start, "line " + std::to_string(line_no) + ": the " + state +
                                    " total is outside the 64-bit integer range");
      }
      (m == mode::total ? any_total : any_target_summary) = true;
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
      check_ctx k;
      k.number = id;
      k.desc = text;
      k.status = state;
      k.scored = text.ends_with("(Scored)") || text.ends_with("(Automated)");
      if (auto over = b.add(controls, group, std::move(k))) {
        return detail::too_large(line_start, "line " + std::to_string(line_no) + ": " + *over);
      }
      continue;
    }
    if (m == mode::remediations) {
      const auto space = line.find(' ');
      if (space != std::string::npos) {
        if (auto* k = b.find_check(target_first, std::string_view(line).substr(0, space))) {
          // A repeated remediation replaces the earlier one; charging both keeps the bound.
          if (auto over = b.charge(line.size() - space - 1)) {
            return detail::too_large(line_start, "line " + std::to_string(line_no) + ": " + *over);
          }
          remediation = k;
          k->remediation = line.substr(space + 1);
          continue;
        }
      }
      if (remediation != nullptr) {
        if (auto over = b.charge(line.size() + 2)) {
          return detail::too_large(line_start, "line " + std::to_string(line_no) + ": " + *over);
        }
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
    if (auto over = b.set_node_type_from(target_first, meta.target)) {
      return detail::too_large(0, "target: " + *over);
    }
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
  parse_result out = b.finish(reported, source);
  if (!out.ok()) {
    return out;
  }
  out.value->unparsed_count = unparsed.unparsed_count;
  out.value->unparsed_lines = std::move(unparsed.unparsed_lines);
  return out;
}

}  // namespace ke::kubebench

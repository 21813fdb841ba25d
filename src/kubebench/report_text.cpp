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

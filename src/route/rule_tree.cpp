// resmoio's Route.ProcessEvent / Rule.MatchesEvent over precompiled RE2 patterns.
#include "route/rule_tree.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <string_view>
#include <utility>

namespace ke::route {

namespace {

// One compiled pattern. Go's regexp.MatchString is an unanchored search; RE2::PartialMatch is the
// same. Patterns that are plain text, optionally anchored and/or an alternation of plain texts
// ("Pod", "^kube-system$", "BackOff|Failed", "^(Job|CronJob)$") are answered with string
// compares instead (the same answer, several times faster on the hot path); everything else
// goes to RE2.
class pattern {
 public:
  pattern() = default;

  // Returns false and sets *error when `text` is not a valid RE2 pattern.
  bool compile(const std::string& text, std::string* error) {
    source_ = text;
    if (text.empty()) {
      return true;
    }
    RE2::Options opt;
    opt.set_log_errors(false);
    auto re = std::make_unique<RE2>(text, opt);
    if (!re->ok()) {
      *error = re->error();
      return false;
    }
    if (!compile_literal(text)) {
      re_ = std::move(re);
    }
    return true;
  }

  bool matches(std::string_view value) const {
    if (source_.empty()) {
      return true;
    }
    if (re_) {
      return RE2::PartialMatch(re2::StringPiece(value.data(), value.size()), *re_);
    }
    for (const auto& alt : alternatives_) {
      if (literal_matches(alt, value)) {
        return true;
      }
    }
    return false;
  }

 private:
  bool literal_matches(std::string_view alt, std::string_view value) const {
    if (anchored_start_ && anchored_end_) {
      return value == alt;
    }
    if (anchored_start_) {
      return value.substr(0, alt.size()) == alt;
    }
    if (anchored_end_) {
      return value.size() >= alt.size() && value.substr(value.size() - alt.size()) == alt;
    }
    return value.find(alt) != std::string_view::npos;
  }

  // Recognises [^]lit[$], lit|lit|..., and [^]lit(lit|lit|...)lit[$] (also with "(?:").
  bool compile_literal(std::string_view s) {
    bool start = !s.empty() && s.front() == '^';
    if (start) {
      s.remove_prefix(1);
    }
    bool end = !s.empty() && s.back() == '$';
    if (end) {
      s.remove_suffix(1);
    }
    std::vector<std::string> alts;
    std::size_t open = s.find('(');
    if (open != std::string_view::npos) {
      std::size_t close = s.rfind(')');
      if (close == std::string_view::npos || close < open) {
        return false;
      }
      std::string_view prefix = s.substr(0, open);
      std::string_view suffix = s.substr(close + 1);
      std::string_view inner = s.substr(open + 1, close - open - 1);
      if (inner.substr(0, 2) == "?:") {
        inner.remove_prefix(2);
      }
      if (!is_literal(prefix) || !is_literal(suffix)) {
        return false;
      }
      for (std::string_view alt : split_alternatives(inner)) {
        if (!is_literal(alt)) {
          return false;
        }
        alts.push_back(std::string(prefix) + std::string(alt) + std::string(suffix));
      }
    } else {
      for (std::string_view alt : split_alternatives(s)) {
        if (alt.empty() || !is_literal(alt)) {
          return false;
        }
        alts.emplace_back(alt);
      }
      // Without a group, "^a|b$" means "(^a)|(b$)": only unanchored alternations are plain.
      if (alts.size() > 1 && (start || end)) {
        return false;
      }
    }
    alternatives_ = std::move(alts);
    anchored_start_ = start;
    anchored_end_ = end;
    return true;
  }

  static std::vector<std::string_view> split_alternatives(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    for (;;) {
      std::size_t bar = s.find('|', pos);
      if (bar == std::string_view::npos) {
        out.push_back(s.substr(pos));
        return out;
      }
      out.push_back(s.substr(pos, bar - pos));
      pos = bar + 1;
    }
  }

  // Printable ASCII without any character RE2 gives a meaning to (or could, after a backslash).
  static bool is_literal(std::string_view s) {
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) {
        return false;
      }
      switch (c) {
        case '\\':
        case '.':
        case '+':
        case '*':
        case '?':
        case '(':
        case ')':
        case '|':
        case '[':
        case ']':
        case '{':
        case '}':
        case '^':
        case '$':
          return false;
        default:
          break;
      }
    }
    return true;
  }

  std::string source_;
  std::vector<std::string> alternatives_;
  bool anchored_start_ = false;
  bool anchored_end_ = false;
  std::unique_ptr<RE2> re_;
};

struct keyed_pattern {
  std::string key;
  pattern value;
};

// A non-empty field pattern and the record field it tests (empty patterns are left out: they
// match anything).
struct field_check {
  const std::string record::*field;
  pattern value;
};

struct compiled_rule {
  std::vector<field_check> fields;
  std::vector<keyed_pattern> labels;       // sorted by key
  std::vector<keyed_pattern> annotations;  // sorted by key
  std::int32_t min_count = 0;
  std::int64_t receiver = -1;  // index into the receivers, -1 = none
};

struct compiled_route {
  std::vector<compiled_rule> drop;
  std::vector<compiled_rule> match;
  std::vector<compiled_route> routes;
};

// Every key of `want` must be present in `have` (sorted by key) with a matching value.
bool pairs_match(const std::vector<keyed_pattern>& want, const string_pairs& have) {
  for (const auto& w : want) {
    auto it = std::lower_bound(have.begin(), have.end(), w.key,
                               [](const std::pair<std::string, std::string>& p,
                                  const std::string& k) { return p.first < k; });
    if (it == have.end() || it->first != w.key) {
      return false;
    }
    if (!w.value.matches(it->second)) {
      return false;
    }
  }
  return true;
}

bool rule_matches(const compiled_rule& rule, const record& r) {
  // All conditions are ANDed, so their order only affects speed: cheapest first.
  if (r.count < rule.min_count) {
    return false;
  }
  for (const auto& f : rule.fields) {
    if (!f.value.matches(r.*f.field)) {
      return false;
    }
  }
  return pairs_match(rule.labels, r.labels) && pairs_match(rule.annotations, r.annotations);
}

void process(const compiled_route& route, const record& r, std::vector<std::uint32_t>& out) {
  for (const auto& d : route.drop) {
    if (rule_matches(d, r)) {
      return;
    }
  }
  bool matches_all = true;
  for (const auto& m : route.match) {
    if (rule_matches(m, r)) {
      if (m.receiver >= 0) {
        out.push_back(static_cast<std::uint32_t>(m.receiver));
      }
    } else {
      matches_all = false;
    }
  }
  if (matches_all) {
    for (const auto& child : route.routes) {
      process(child, r, out);
    }
  }
}

class compiler {
 public:
  compiler(const std::vector<std::string>& receivers, diagnostics& problems)
      : receivers_(receivers), problems_(problems) {}

  bool failed() const { return failed_; }

  void compile_route(const config::route& in, const std::string& fallback_path,
                     compiled_route& out) {
    const std::string& path = in.path.empty() ? fallback_path : in.path;
    out.drop.resize(in.drop.size());
    for (std::size_t i = 0; i < in.drop.size(); ++i) {
      compile_rule(in.drop[i], path + ".drop[" + std::to_string(i) + "]", true, out.drop[i]);
    }
    out.match.resize(in.match.size());
    for (std::size_t i = 0; i < in.match.size(); ++i) {
      compile_rule(in.match[i], path + ".match[" + std::to_string(i) + "]", false, out.match[i]);
    }
    out.routes.resize(in.routes.size());
    for (std::size_t i = 0; i < in.routes.size(); ++i) {
      compile_route(in.routes[i], path + ".routes[" + std::to_string(i) + "]", out.routes[i]);
    }
  }

 private:
  void compile_rule(const config::rule& in, const std::string& fallback_path, bool is_drop,
                    compiled_rule& out) {
    const std::string& path = in.path.empty() ? fallback_path : in.path;
    // Short, low-cardinality fields first; the message (long, often a regex) last.
    add_field(in.type, path + ".type", &record::type, out);
    add_field(in.kind, path + ".kind", &record::kind, out);
    add_field(in.namespace_, path + ".namespace", &record::namespace_, out);
    add_field(in.reason, path + ".reason", &record::reason, out);
    add_field(in.api_version, path + ".apiVersion", &record::api_version, out);
    add_field(in.component, path + ".component", &record::component, out);
    add_field(in.host, path + ".host", &record::host, out);
    add_field(in.message, path + ".message", &record::message, out);
    compile_pairs(in.labels, path + ".labels", out.labels);
    compile_pairs(in.annotations, path + ".annotations", out.annotations);
    out.min_count = in.min_count;

    if (in.receiver.empty()) {
      return;
    }
    if (is_drop) {
      // resmoio never sends from a drop rule; say so instead of silently ignoring it.
      problems_.push_back({diagnostic::level::warning, path + ".receiver",
                           "receiver in a drop rule is ignored (drop rules never send)"});
      return;
    }
    auto it = std::find(receivers_.begin(), receivers_.end(), in.receiver);
    if (it == receivers_.end()) {
      fail(path + ".receiver", "undefined receiver \"" + in.receiver + "\"");
      return;
    }
    out.receiver = it - receivers_.begin();
  }

  void add_field(const std::string& text, const std::string& path, const std::string record::*field,
                 compiled_rule& out) {
    if (text.empty()) {
      return;
    }
    out.fields.push_back(field_check{field, pattern()});
    compile_pattern(text, path, out.fields.back().value);
  }

  void compile_pattern(const std::string& text, const std::string& path, pattern& out) {
    std::string error;
    if (!out.compile(text, &error)) {
      fail(path, "invalid regular expression \"" + text + "\": " + error);
    }
  }

  void compile_pairs(const string_pairs& in, const std::string& path,
                     std::vector<keyed_pattern>& out) {
    out.resize(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      out[i].key = in[i].first;
      compile_pattern(in[i].second, path + "." + in[i].first, out[i].value);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const keyed_pattern& a, const keyed_pattern& b) { return a.key < b.key; });
  }

  void fail(std::string path, std::string message) {
    failed_ = true;
    problems_.push_back({diagnostic::level::error, std::move(path), std::move(message)});
  }

  const std::vector<std::string>& receivers_;
  diagnostics& problems_;
  bool failed_ = false;
};

}  // namespace

struct rule_tree::impl {
  compiled_route root;
};

rule_tree::rule_tree() : impl_(std::make_unique<impl>()) {}
rule_tree::~rule_tree() = default;

std::unique_ptr<const rule_tree> rule_tree::compile(const config::route& root,
                                                    const std::vector<std::string>& receivers,
                                                    diagnostics& problems) {
  std::unique_ptr<rule_tree> tree(new rule_tree());
  compiler c(receivers, problems);
  c.compile_route(root, "route", tree->impl_->root);
  if (c.failed()) {
    return nullptr;
  }
  return tree;
}

void rule_tree::route(const record& r, std::vector<std::uint32_t>& out) const {
  process(impl_->root, r, out);
}

}  // namespace ke::route

// go_template: the sprig functions (Masterminds/sprig v3) that resmoio configs use.
#include <algorithm>
#include <charconv>

#include "core/base64.hpp"
#include "template/internal.hpp"

namespace ke::tmpl::detail {

namespace {

using args_t = std::vector<value>;

std::int64_t to_int64(const value& v) {
  switch (v.k) {
    case value::kind::int_:
      return v.i;
    case value::kind::float_:
      return static_cast<std::int64_t>(v.f);
    case value::kind::bool_:
      return v.b ? 1 : 0;
    case value::kind::str: {
      std::string_view s = v.s;
      bool neg = !s.empty() && s[0] == '-';
      if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        s.remove_prefix(1);
      }
      int base = 10;
      if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
      } else if (s.size() > 1 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s.remove_prefix(2);
      } else if (s.size() > 1 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s.remove_prefix(2);
      } else if (s.size() > 1 && s[0] == '0') {
        base = 8;
        s.remove_prefix(1);
      }
      std::int64_t n = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), n, base);
      if (r.ec != std::errc() || r.ptr != s.data() + s.size() || s.empty()) {
        return 0;
      }
      return neg ? -n : n;
    }
    default:
      return 0;
  }
}

double to_float64(const value& v) {
  switch (v.k) {
    case value::kind::int_:
      return static_cast<double>(v.i);
    case value::kind::float_:
      return v.f;
    case value::kind::bool_:
      return v.b ? 1 : 0;
    case value::kind::str: {
      double d = 0;
      auto r = std::from_chars(v.s.data(), v.s.data() + v.s.size(), d);
      return r.ec == std::errc() && r.ptr == v.s.data() + v.s.size() ? d : 0;
    }
    default:
      return 0;
  }
}

// sprig strslice: the elements of a list as strings (nils dropped), or [strval(v)].
std::vector<std::string> strslice(const value& v) {
  std::vector<std::string> out;
  if (v.k == value::kind::nil || v.k == value::kind::invalid) {
    return out;
  }
  if (v.k == value::kind::node &&
      (v.type->kind == type_kind::slice_ ||
       (v.type->kind == type_kind::json_ && v.j != nullptr && v.j->is_array()))) {
    if (v.j == nullptr || !v.j->is_array()) {
      return out;
    }
    const go_type* elem = v.type->kind == type_kind::slice_ ? v.type->elem : v.type;
    for (const auto& e : *v.j) {
      value x = from_node(elem, &e, v.owned);
      if (x.k != value::kind::nil) {
        out.push_back(strval(x));
      }
    }
    return out;
  }
  out.push_back(strval(v));
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      out += sep;
    }
    out += parts[i];
  }
  return out;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) {
    // strings.Replace with an empty old inserts `to` around every rune.
    std::string out;
    out += to;
    for (std::size_t i = 0; i < s.size();) {
      auto b = static_cast<unsigned char>(s[i]);
      std::size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
      n = std::min(n, s.size() - i);
      out.append(s, i, n);
      out += to;
      i += n;
    }
    s = std::move(out);
    return;
  }
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t at = s.find(from, pos);
    if (at == std::string::npos) {
      break;
    }
    out.append(s, pos, at - pos);
    out += to;
    pos = at + from.size();
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string trim_space(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_ascii_space(s.back())) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

// Comparison (text/template's eq/lt on basic kinds).

// ---- sprig ----

value f_to_json(args_t& a) { return value::make_str(to_json(a[0], true)); }
value f_to_raw_json(args_t& a) { return value::make_str(to_json(a[0], false)); }
value f_to_pretty_json(args_t& a) { return value::make_str(indent_json(to_json(a[0], true))); }

value f_quote(args_t& a) {
  std::string out;
  bool first = true;
  for (const auto& v : a) {
    if (v.k == value::kind::nil) {
      continue;
    }
    if (!first) {
      out += ' ';
    }
    first = false;
    go_quote(strval(v), out);
  }
  return value::make_str(std::move(out));
}

value f_squote(args_t& a) {
  std::string out;
  bool first = true;
  for (const auto& v : a) {
    if (v.k == value::kind::nil) {
      continue;
    }
    if (!first) {
      out += ' ';
    }
    first = false;
    out += '\'';
    format_v(v, out);
    out += '\'';
  }
  return value::make_str(std::move(out));
}

value f_lower(args_t& a) {
  std::string s = str_arg(a[0]);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return value::make_str(std::move(s));
}

value f_upper(args_t& a) {
  std::string s = str_arg(a[0]);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
  return value::make_str(std::move(s));
}

value f_title(args_t& a) {
  std::string s = str_arg(a[0]);
  bool prev_sep = true;
  for (char& c : s) {
    auto u = static_cast<unsigned char>(c);
    bool sep = u < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '_');
    if (prev_sep && c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 32);
    }
    prev_sep = sep;
  }
  return value::make_str(std::move(s));
}

value f_trim(args_t& a) { return value::make_str(trim_space(str_arg(a[0]))); }

value f_trim_prefix(args_t& a) {
  const std::string& p = str_arg(a[0]);
  std::string s = str_arg(a[1]);
  if (s.compare(0, p.size(), p) == 0) {
    s.erase(0, p.size());
  }
  return value::make_str(std::move(s));
}

value f_trim_suffix(args_t& a) {
  const std::string& p = str_arg(a[0]);
  std::string s = str_arg(a[1]);
  if (s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0) {
    s.erase(s.size() - p.size());
  }
  return value::make_str(std::move(s));
}

value f_trim_all(args_t& a) {
  const std::string& cut = str_arg(a[0]);
  std::string_view s = str_arg(a[1]);
  while (!s.empty() && cut.find(s.front()) != std::string::npos) {
    s.remove_prefix(1);
  }
  while (!s.empty() && cut.find(s.back()) != std::string::npos) {
    s.remove_suffix(1);
  }
  return value::make_str(std::string(s));
}

value f_replace(args_t& a) {
  std::string s = str_arg(a[2]);
  replace_all(s, str_arg(a[0]), str_arg(a[1]));
  return value::make_str(std::move(s));
}

value f_default(args_t& a) {
  if (a.size() < 2 || is_empty(a[1])) {
    return a[0];
  }
  return a[1];
}

value f_empty(args_t& a) { return value::make_bool(is_empty(a[0])); }

value f_coalesce(args_t& a) {
  for (const auto& v : a) {
    if (!is_empty(v)) {
      return v;
    }
  }
  return value::make_nil();
}

value f_ternary(args_t& a) { return bool_arg(a[2]) ? a[0] : a[1]; }

value f_contains(args_t& a) {
  return value::make_bool(str_arg(a[1]).find(str_arg(a[0])) != std::string::npos);
}
value f_has_prefix(args_t& a) {
  const std::string& p = str_arg(a[0]);
  return value::make_bool(str_arg(a[1]).compare(0, p.size(), p) == 0);
}
value f_has_suffix(args_t& a) {
  const std::string& p = str_arg(a[0]);
  const std::string& s = str_arg(a[1]);
  return value::make_bool(s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0);
}

value f_join(args_t& a) { return value::make_str(join(strslice(a[1]), str_arg(a[0]))); }

value f_split_list(args_t& a) {
  const std::string& sep = str_arg(a[0]);
  const std::string& s = str_arg(a[1]);
  ojson list = ojson::array();
  if (sep.empty()) {  // strings.Split with "" splits into runes
    for (std::size_t i = 0; i < s.size();) {
      auto b = static_cast<unsigned char>(s[i]);
      std::size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
      n = std::min(n, s.size() - i);
      list.push_back(s.substr(i, n));
      i += n;
    }
  } else {
    std::size_t pos = 0;
    for (;;) {
      std::size_t at = s.find(sep, pos);
      if (at == std::string::npos) {
        list.push_back(s.substr(pos));
        break;
      }
      list.push_back(s.substr(pos, at - pos));
      pos = at + sep.size();
    }
  }
  return from_owned_json(std::move(list));
}

value f_cat(args_t& a) {
  std::string out;
  bool first = true;
  for (const auto& v : a) {
    if (v.k == value::kind::nil) {
      continue;
    }
    if (!first) {
      out += ' ';
    }
    first = false;
    format_v(v, out);
  }
  return value::make_str(std::move(out));
}

std::string indent_str(std::int64_t n, const std::string& s) {
  std::string pad(n > 0 ? static_cast<std::size_t>(n) : 0, ' ');
  std::string body = s;
  replace_all(body, "\n", "\n" + pad);
  return pad + body;
}

value f_indent(args_t& a) { return value::make_str(indent_str(int_arg(a[0]), str_arg(a[1]))); }
value f_nindent(args_t& a) {
  return value::make_str("\n" + indent_str(int_arg(a[0]), str_arg(a[1])));
}

value f_trunc(args_t& a) {
  std::int64_t c = int_arg(a[0]);
  const std::string& s = str_arg(a[1]);
  auto len = static_cast<std::int64_t>(s.size());
  if (c < 0 && len + c > 0) {
    return value::make_str(s.substr(static_cast<std::size_t>(len + c)));
  }
  if (c >= 0 && len > c) {
    return value::make_str(s.substr(0, static_cast<std::size_t>(c)));
  }
  return value::make_str(s);
}

value f_repeat(args_t& a) {
  std::int64_t n = int_arg(a[0]);
  if (n < 0) {
    throw exec_error("error calling repeat: strings: negative Repeat count");
  }
  std::string out;
  for (std::int64_t i = 0; i < n; ++i) {
    out += str_arg(a[1]);
  }
  return value::make_str(std::move(out));
}

value f_nospace(args_t& a) {
  std::string s = str_arg(a[0]);
  s.erase(std::remove_if(s.begin(), s.end(), is_ascii_space), s.end());
  return value::make_str(std::move(s));
}

value f_to_string(args_t& a) { return value::make_str(strval(a[0])); }

value f_b64enc(args_t& a) { return value::make_str(base64_encode(str_arg(a[0]))); }

value f_b64dec(args_t& a) {
  const std::string& s = str_arg(a[0]);
  auto valid = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool is_pad = s[i] == '=' && i + 2 >= s.size() && s.size() % 4 == 0;
    if (!valid(s[i]) && !is_pad) {
      return value::make_str("illegal base64 data at input byte " + std::to_string(i));
    }
  }
  if (s.size() % 4 != 0) {
    return value::make_str("illegal base64 data at input byte " + std::to_string(s.size() / 4 * 4));
  }
  // Checked above: only the alphabet and trailing padding, length a multiple of 4.
  return value::make_str(base64_decode(s).value_or(""));
}

value f_add(args_t& a) {
  std::int64_t sum = 0;
  for (const auto& v : a) {
    sum += to_int64(v);
  }
  return value::make_int(sum);
}
value f_add1(args_t& a) { return value::make_int(to_int64(a[0]) + 1); }
value f_sub(args_t& a) { return value::make_int(to_int64(a[0]) - to_int64(a[1])); }
value f_mul(args_t& a) {
  std::int64_t p = to_int64(a[0]);
  for (std::size_t i = 1; i < a.size(); ++i) {
    p *= to_int64(a[i]);
  }
  return value::make_int(p);
}
value f_div(args_t& a) {
  std::int64_t d = to_int64(a[1]);
  if (d == 0) {
    throw exec_error("error calling div: runtime error: integer divide by zero");
  }
  return value::make_int(to_int64(a[0]) / d);
}
value f_mod(args_t& a) {
  std::int64_t d = to_int64(a[1]);
  if (d == 0) {
    throw exec_error("error calling mod: runtime error: integer divide by zero");
  }
  return value::make_int(to_int64(a[0]) % d);
}
value f_int(args_t& a) { return value::make_int(to_int64(a[0])); }
value f_float64(args_t& a) { return value::make_float(to_float64(a[0])); }
value f_atoi(args_t& a) {
  const std::string& s = str_arg(a[0]);
  std::int64_t n = 0;
  std::string_view v = s;
  if (!v.empty() && v[0] == '+') {
    v.remove_prefix(1);
  }
  auto r = std::from_chars(v.data(), v.data() + v.size(), n);
  return value::make_int(r.ec == std::errc() && r.ptr == v.data() + v.size() ? n : 0);
}

value f_now(args_t&) { return value::make_time(now_time(), go_time_type()); }

// sprig date: time.Time, or unix seconds as int; anything else (including metav1.Time, which
// is not a time.Time) formats the current time, exactly as sprig does.
value f_date(args_t& a) {
  const std::string& layout = str_arg(a[0]);
  const value& d = a[1];
  go_time t;
  if (d.k == value::kind::time_ && d.type == go_time_type()) {
    t = d.t;
  } else if (d.k == value::kind::int_) {
    t.sec = d.i;
    t.nsec = 0;
  } else {
    t = now_time();
  }
  return value::make_str(format_time(t, layout));
}

value f_unix_epoch(args_t& a) {
  if (a[0].k != value::kind::time_ || a[0].type != go_time_type()) {
    wrong_type(a[0], "time.Time");
  }
  return value::make_str(std::to_string(a[0].t.sec));
}

using rk = result_kind;

// clang-format off
const func_def table[] = {
    {"toJson", 1, 1, f_to_json, rk::str},
    {"toPrettyJson", 1, 1, f_to_pretty_json, rk::str},
    {"toRawJson", 1, 1, f_to_raw_json, rk::str},
    {"quote", 0, -1, f_quote, rk::str},
    {"squote", 0, -1, f_squote, rk::str},
    {"lower", 1, 1, f_lower, rk::str},
    {"upper", 1, 1, f_upper, rk::str},
    {"title", 1, 1, f_title, rk::str},
    {"trim", 1, 1, f_trim, rk::str},
    {"trimPrefix", 2, 2, f_trim_prefix, rk::str},
    {"trimSuffix", 2, 2, f_trim_suffix, rk::str},
    {"trimAll", 2, 2, f_trim_all, rk::str},
    {"replace", 3, 3, f_replace, rk::str},
    {"default", 1, -1, f_default, rk::unknown},
    {"empty", 1, 1, f_empty, rk::bool_},
    {"coalesce", 0, -1, f_coalesce, rk::unknown},
    {"ternary", 3, 3, f_ternary, rk::unknown},
    {"contains", 2, 2, f_contains, rk::bool_},
    {"hasPrefix", 2, 2, f_has_prefix, rk::bool_},
    {"hasSuffix", 2, 2, f_has_suffix, rk::bool_},
    {"join", 2, 2, f_join, rk::str},
    {"splitList", 2, 2, f_split_list, rk::json_},
    {"cat", 0, -1, f_cat, rk::str},
    {"indent", 2, 2, f_indent, rk::str},
    {"nindent", 2, 2, f_nindent, rk::str},
    {"trunc", 2, 2, f_trunc, rk::str},
    {"repeat", 2, 2, f_repeat, rk::str},
    {"nospace", 1, 1, f_nospace, rk::str},
    {"toString", 1, 1, f_to_string, rk::str},
    {"b64enc", 1, 1, f_b64enc, rk::str},
    {"b64dec", 1, 1, f_b64dec, rk::str},
    {"add", 0, -1, f_add, rk::int_},
    {"add1", 1, 1, f_add1, rk::int_},
    {"sub", 2, 2, f_sub, rk::int_},
    {"mul", 1, -1, f_mul, rk::int_},
    {"div", 2, 2, f_div, rk::int_},
    {"mod", 2, 2, f_mod, rk::int_},
    {"int", 1, 1, f_int, rk::int_},
    {"int64", 1, 1, f_int, rk::int_},
    {"float64", 1, 1, f_float64, rk::float_},
    {"atoi", 1, 1, f_atoi, rk::int_},
    {"now", 0, 0, f_now, rk::time_},
    {"date", 2, 2, f_date, rk::str},
    {"unixEpoch", 1, 1, f_unix_epoch, rk::str},
};
// clang-format on

}  // namespace

std::span<const func_def> sprig_funcs() { return table; }

}  // namespace ke::tmpl::detail

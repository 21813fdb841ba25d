// go_template: the text/template builtins (and, or, not, len, index, print, printf, println,
// eq, ne, lt, le, gt, ge, urlquery, html), argument conversion, and the function table.
#include <algorithm>

#include "template/internal.hpp"

namespace ke::tmpl::detail {

using args_t = std::vector<value>;

[[noreturn]] void wrong_type(const value& v, const char* expected) {
  if (v.k == value::kind::invalid || v.k == value::kind::nil) {
    throw exec_error(std::string("invalid value; expected ") + expected);
  }
  throw exec_error(std::string("wrong type for value; expected ") + expected + "; got " +
                   type_name(v));
}

const std::string& str_arg(const value& v) {
  if (v.k != value::kind::str) {
    wrong_type(v, "string");
  }
  return v.s;
}

std::int64_t int_arg(const value& v) {
  if (v.k != value::kind::int_) {
    wrong_type(v, "int");
  }
  return v.i;
}

bool bool_arg(const value& v) {
  if (v.k != value::kind::bool_) {
    wrong_type(v, "bool");
  }
  return v.b;
}

std::string sprint(const args_t& a, std::size_t first) {
  std::string out;
  bool prev_string = false;
  for (std::size_t i = first; i < a.size(); ++i) {
    bool s = a[i].k == value::kind::str;
    if (i > first && !s && !prev_string) {
      out += ' ';
    }
    format_v(a[i], out);
    prev_string = s;
  }
  return out;
}

namespace {

enum class basic { invalid, boolean, integer, floating, string, other };
basic basic_kind(const value& v) {
  switch (v.k) {
    case value::kind::invalid:
    case value::kind::nil:
      return basic::invalid;
    case value::kind::bool_:
      return basic::boolean;
    case value::kind::int_:
      return basic::integer;
    case value::kind::float_:
      return basic::floating;
    case value::kind::str:
      return basic::string;
    default:
      return basic::other;
  }
}

bool equal(const value& a, const value& b) {
  basic ka = basic_kind(a);
  basic kb = basic_kind(b);
  if (ka != kb) {
    if (ka != basic::invalid && kb != basic::invalid) {
      throw exec_error("incompatible types for comparison");
    }
    return false;
  }
  switch (ka) {
    case basic::boolean:
      return a.b == b.b;
    case basic::integer:
      return a.i == b.i;
    case basic::floating:
      return a.f == b.f;
    case basic::string:
      return a.s == b.s;
    case basic::invalid:
      return true;
    case basic::other:
      break;
  }
  // Non-basic: pointers compare by nil-ness/identity, times by instant; maps/slices can't.
  if (a.k == value::kind::node && b.k == value::kind::node && a.type == b.type) {
    if (a.type->kind == type_kind::ptr_) {
      return a.is_null_node() == b.is_null_node() && (a.is_null_node() || a.j == b.j);
    }
    if (a.type->kind == type_kind::time_ || a.type->kind == type_kind::struct_) {
      return a.j == b.j || (a.j != nullptr && b.j != nullptr && *a.j == *b.j);
    }
  }
  throw exec_error("non-comparable type " + type_name(a));
}

int compare(const value& a, const value& b) {
  basic ka = basic_kind(a);
  basic kb = basic_kind(b);
  if (ka == basic::invalid || kb == basic::invalid || ka == basic::other || kb == basic::other ||
      ka == basic::boolean || kb == basic::boolean) {
    throw exec_error("invalid type for comparison");
  }
  if (ka != kb) {
    throw exec_error("incompatible types for comparison");
  }
  switch (ka) {
    case basic::integer:
      return a.i < b.i ? -1 : a.i > b.i ? 1 : 0;
    case basic::floating:
      return a.f < b.f ? -1 : a.f > b.f ? 1 : 0;
    default:
      return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  }
}

// ---- builtins ----

value f_not(args_t& a) { return value::make_bool(!is_true(a[0])); }

value f_len(args_t& a) {
  const value& v = a[0];
  switch (v.k) {
    case value::kind::str:
      return value::make_int(static_cast<std::int64_t>(v.s.size()));
    case value::kind::node: {
      type_kind k = v.type->kind;
      if (k == type_kind::ptr_) {
        if (v.is_null_node()) {
          throw exec_error("error calling len: len of nil pointer");
        }
        k = v.type->elem->kind;
      }
      if (k == type_kind::map_ || k == type_kind::slice_ || k == type_kind::json_) {
        if (v.j == nullptr || v.j->is_null()) {
          return value::make_int(0);
        }
        if (v.j->is_object() || v.j->is_array()) {
          return value::make_int(static_cast<std::int64_t>(v.j->size()));
        }
      }
      break;
    }
    default:
      break;
  }
  throw exec_error("error calling len: len of type " + type_name(v));
}

value f_index(args_t& a) {
  value item = a[0];
  if (item.k == value::kind::invalid || item.k == value::kind::nil) {
    throw exec_error("error calling index: index of untyped nil");
  }
  for (std::size_t n = 1; n < a.size(); ++n) {
    const value& key = a[n];
    if (item.k == value::kind::str) {
      if (key.k != value::kind::int_) {
        throw exec_error("error calling index: cannot index slice/array with type " +
                         type_name(key));
      }
      if (key.i < 0 || static_cast<std::size_t>(key.i) >= item.s.size()) {
        throw exec_error("error calling index: index out of range: " + std::to_string(key.i));
      }
      item = value::make_int(static_cast<unsigned char>(item.s[static_cast<std::size_t>(key.i)]));
      continue;
    }
    if (item.k != value::kind::node) {
      throw exec_error("error calling index: can't index item of type " + type_name(item));
    }
    const go_type* t = item.type;
    if (t->kind == type_kind::ptr_) {
      if (item.is_null_node()) {
        throw exec_error("error calling index: index of nil pointer");
      }
      t = t->elem;
    }
    const ojson* j = item.j != nullptr && item.j->is_null() ? nullptr : item.j;
    bool is_map = t->kind == type_kind::map_ ||
                  (t->kind == type_kind::json_ && (j == nullptr || j->is_object()));
    bool is_list = t->kind == type_kind::slice_ ||
                   (t->kind == type_kind::json_ && j != nullptr && j->is_array());
    if (is_map) {
      if (key.k != value::kind::str) {
        throw exec_error("error calling index: value has type " + type_name(key) +
                         "; should be string");
      }
      const go_type* elem = t->kind == type_kind::map_ ? t->elem : t;
      const ojson* found = nullptr;
      if (j != nullptr && j->is_object()) {
        auto it = j->find(key.s);
        if (it != j->end()) {
          found = &*it;
        }
      }
      item = from_node(elem, found, item.owned);  // missing: the element type's zero value
      continue;
    }
    if (is_list) {
      if (key.k != value::kind::int_) {
        throw exec_error("error calling index: cannot index slice/array with type " +
                         type_name(key));
      }
      std::size_t size = j == nullptr ? 0 : j->size();
      if (key.i < 0 || static_cast<std::size_t>(key.i) >= size) {
        throw exec_error("error calling index: index out of range: " + std::to_string(key.i));
      }
      const go_type* elem = t->kind == type_kind::slice_ ? t->elem : t;
      item = from_node(elem, &(*j)[static_cast<std::size_t>(key.i)], item.owned);
      item.addressable = true;
      continue;
    }
    throw exec_error("error calling index: can't index item of type " + type_name(item));
  }
  return item;
}

value f_print(args_t& a) { return value::make_str(sprint(a)); }

value f_println(args_t& a) {
  std::string out;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (i > 0) {
      out += ' ';
    }
    format_v(a[i], out);
  }
  out += '\n';
  return value::make_str(std::move(out));
}

value f_printf(args_t& a) { return value::make_str(go_sprintf(str_arg(a[0]), a, 1)); }

value f_eq(args_t& a) {
  if (a.size() < 2) {
    throw exec_error("error calling eq: missing argument for comparison");
  }
  for (std::size_t i = 1; i < a.size(); ++i) {
    if (equal(a[0], a[i])) {
      return value::make_bool(true);
    }
  }
  return value::make_bool(false);
}
value f_ne(args_t& a) { return value::make_bool(!equal(a[0], a[1])); }
value f_lt(args_t& a) { return value::make_bool(compare(a[0], a[1]) < 0); }
value f_le(args_t& a) { return value::make_bool(compare(a[0], a[1]) <= 0); }
value f_gt(args_t& a) { return value::make_bool(compare(a[0], a[1]) > 0); }
value f_ge(args_t& a) { return value::make_bool(compare(a[0], a[1]) >= 0); }

// text/template's evalArgs: one string argument as is, otherwise fmt.Sprint.
std::string eval_args(const args_t& a) {
  if (a.size() == 1 && a[0].k == value::kind::str) {
    return a[0].s;
  }
  return sprint(a);
}

value f_urlquery(args_t& a) {
  std::string s = eval_args(a);
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xF];
    }
  }
  return value::make_str(std::move(out));
}

value f_html(args_t& a) {
  std::string s = eval_args(a);
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\0':
        out += "\xEF\xBF\xBD";
        break;
      default:
        out += c;
    }
  }
  return value::make_str(std::move(out));
}

using rk = result_kind;

// clang-format off
const func_def builtin_funcs[] = {
    {"and", 1, -1, nullptr, rk::unknown, true},
    {"or", 1, -1, nullptr, rk::unknown, true},
    {"not", 1, 1, f_not, rk::bool_, true},
    {"len", 1, 1, f_len, rk::int_, true},
    {"index", 1, -1, f_index, rk::unknown, true},
    {"print", 0, -1, f_print, rk::str},
    {"printf", 1, -1, f_printf, rk::str},
    {"println", 0, -1, f_println, rk::str},
    {"eq", 1, -1, f_eq, rk::bool_, true},
    {"ne", 2, 2, f_ne, rk::bool_, true},
    {"lt", 2, 2, f_lt, rk::bool_, true},
    {"le", 2, 2, f_le, rk::bool_, true},
    {"gt", 2, 2, f_gt, rk::bool_, true},
    {"ge", 2, 2, f_ge, rk::bool_, true},
    {"urlquery", 0, -1, f_urlquery, rk::str},
    {"html", 0, -1, f_html, rk::str},
};
// clang-format on

}  // namespace

const func_def* find_func(std::string_view name) {
  for (const auto& f : builtin_funcs) {
    if (f.name == name) {
      return &f;
    }
  }
  for (const auto& f : sprig_funcs()) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

}  // namespace ke::tmpl::detail

// go_template: Go-style printing of values (text/template's printValue, fmt's %v, gogo String()
// methods of k8s types), encoding/json output, strconv.Quote and float formatting.
#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/go_json.hpp"
#include "template/internal.hpp"

namespace ke::tmpl::detail {

namespace {

void append_int(std::int64_t v, std::string& out) { out += std::to_string(v); }

void format_node(const go_type* type, const ojson* j, int depth, std::string& out);

void format_json(const ojson& j, int depth, std::string& out) {
  switch (j.type()) {
    case ojson::value_t::null:
      out += "<nil>";
      break;
    case ojson::value_t::string:
      out += j.get_ref<const std::string&>();
      break;
    case ojson::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      break;
    case ojson::value_t::number_integer:
    case ojson::value_t::number_unsigned:
      out += j.dump();
      break;
    case ojson::value_t::number_float:
      out += format_float_v(j.get<double>());
      break;
    case ojson::value_t::object: {
      std::vector<std::pair<std::string_view, const ojson*>> items;
      for (auto it = j.begin(); it != j.end(); ++it) {
        items.emplace_back(it.key(), &it.value());
      }
      std::sort(items.begin(), items.end());
      out += "map[";
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
          out += ' ';
        }
        out += items[i].first;
        out += ':';
        format_json(*items[i].second, depth + 1, out);
      }
      out += ']';
      break;
    }
    case ojson::value_t::array: {
      out += '[';
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (i > 0) {
          out += ' ';
        }
        format_json(j[i], depth + 1, out);
      }
      out += ']';
      break;
    }
    default:
      break;
  }
}

// Follows a lookup path from a struct node to a member's node.
const ojson* walk(const ojson* j, const std::vector<const member*>& path) {
  for (const member* m : path) {
    j = json_child(j, m->json_key);
  }
  return j;
}

// A gogo-generated String() of a k8s API struct.
void format_gogo(const go_type* type, const ojson* j, std::string& out) {
  out += '&';
  out += type->fields->gogo;
  out += '{';
  for (std::string_view name : type->fields->gogo_fields) {
    lookup_result r = lookup(type, name);
    const ojson* f = walk(j, r.path);
    out += name;
    out += ':';
    if (r.type->kind == type_kind::ptr_) {  // valueToStringGenerated
      if (f == nullptr || f->is_null()) {
        out += "nil";
      } else {
        out += '*';
        format_node(r.type->elem, f, 1, out);
      }
    } else {
      format_node(r.type, f, 1, out);
    }
    out += ',';
  }
  out += '}';
}

void format_node(const go_type* type, const ojson* j, int depth, std::string& out) {
  if (j != nullptr && j->is_null()) {
    j = nullptr;
  }
  switch (type->kind) {
    case type_kind::string_:
      if (j != nullptr && j->is_string()) {
        out += j->get_ref<const std::string&>();
      }
      break;
    case type_kind::int_:
      append_int(json_int(j), out);
      break;
    case type_kind::bool_:
      out += (j != nullptr && j->is_boolean() && j->get<bool>()) ? "true" : "false";
      break;
    case type_kind::float_:
      out += format_float_v(j != nullptr && j->is_number() ? j->get<double>() : 0.0);
      break;
    case type_kind::time_:
      out += format_time(time_of_json(j), time_string_layout);
      break;
    case type_kind::map_: {
      std::vector<std::pair<std::string_view, const ojson*>> items;
      if (j != nullptr && j->is_object()) {
        for (auto it = j->begin(); it != j->end(); ++it) {
          items.emplace_back(it.key(), &it.value());
        }
      }
      std::sort(items.begin(), items.end());
      out += "map[";
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
          out += ' ';
        }
        out += items[i].first;
        out += ':';
        format_node(type->elem, items[i].second, depth + 1, out);
      }
      out += ']';
      break;
    }
    case type_kind::slice_: {
      out += '[';
      if (j != nullptr && j->is_array()) {
        for (std::size_t i = 0; i < j->size(); ++i) {
          if (i > 0) {
            out += ' ';
          }
          format_node(type->elem, &(*j)[i], depth + 1, out);
        }
      }
      out += ']';
      break;
    }
    case type_kind::ptr_: {
      const go_type* elem = type->elem;
      bool gogo = elem->kind == type_kind::struct_ && !elem->fields->gogo.empty();
      if (elem->kind == type_kind::struct_ && elem->fields->opaque) {
        throw exec_error("printing a " + std::string(type->name) +
                         " is not supported (print its fields, or use toJson)");
      }
      if (j == nullptr) {
        out += gogo ? "nil" : "<nil>";  // gogo's String() handles a nil receiver
      } else if (gogo) {
        format_gogo(elem, j, out);
      } else if (elem->kind == type_kind::time_) {
        format_node(elem, j, depth, out);  // *metav1.Time is a Stringer
      } else if (depth == 0 &&
                 (type->elem->kind == type_kind::struct_ || type->elem->kind == type_kind::map_ ||
                  type->elem->kind == type_kind::slice_)) {
        out += '&';
        format_node(type->elem, j, depth + 1, out);
      } else {
        out += "0xc000000000";  // fmt prints a nested pointer as its address
      }
      break;
    }
    case type_kind::struct_: {
      out += '{';
      bool first = true;
      for (const auto& m : type->fields->members) {
        if (!first) {
          out += ' ';
        }
        first = false;
        format_node(m.type, json_child(j, m.json_key), depth + 1, out);
      }
      out += '}';
      break;
    }
    case type_kind::json_:
      if (j == nullptr) {
        out += "<nil>";
      } else {
        format_json(*j, depth, out);
      }
      break;
  }
}

std::string unescape_html(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (c == '\\' && i + 1 < json.size()) {
      if (json[i + 1] == 'u' && i + 5 < json.size()) {
        std::string_view code = json.substr(i + 2, 4);
        if (code == "003c") {
          out += '<';
          i += 5;
          continue;
        }
        if (code == "003e") {
          out += '>';
          i += 5;
          continue;
        }
        if (code == "0026") {
          out += '&';
          i += 5;
          continue;
        }
      }
      out += c;
      out += json[i + 1];
      ++i;
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void format_v(const value& v, std::string& out) {
  switch (v.k) {
    case value::kind::invalid:
      out += "<invalid reflect.Value>";
      break;
    case value::kind::nil:
      out += "<nil>";
      break;
    case value::kind::str:
      out += v.s;
      break;
    case value::kind::int_:
      append_int(v.i, out);
      break;
    case value::kind::float_:
      out += format_float_v(v.f);
      break;
    case value::kind::bool_:
      out += v.b ? "true" : "false";
      break;
    case value::kind::time_:
      out += format_time(v.t, time_string_layout);
      break;
    case value::kind::node:
      format_node(v.type, v.j, 0, out);
      break;
  }
}

void print_value(const value& v, std::string& out) {
  if (v.k == value::kind::invalid) {
    out += "<no value>";
    return;
  }
  if (v.k != value::kind::node) {
    format_v(v, out);
    return;
  }
  // text/template indirects a pointer, then prints through String() when *T has one.
  const go_type* t = v.type;
  const ojson* j = v.j != nullptr && v.j->is_null() ? nullptr : v.j;
  bool addressable = v.addressable;
  if (t->kind == type_kind::ptr_) {
    if (j == nullptr) {
      format_node(t, nullptr, 0, out);
      return;
    }
    t = t->elem;
    addressable = true;
  }
  if (t->kind == type_kind::struct_) {
    if (t->fields->opaque) {
      throw exec_error("printing a " + std::string(t->name) +
                       " is not supported (print its fields, or use toJson)");
    }
    if (addressable && !t->fields->gogo.empty()) {
      format_gogo(t, j, out);
      return;
    }
  }
  format_node(t, j, 0, out);
}

std::string strval(const value& v) {
  if (v.k == value::kind::str) {
    return v.s;
  }
  std::string out;
  format_v(v, out);
  return out;
}

std::string to_json(const value& v, bool escape_html) {
  std::string out;
  switch (v.k) {
    case value::kind::invalid:
    case value::kind::nil:
      return "null";
    case value::kind::str:
      out = go_json(ojson(v.s));
      break;
    case value::kind::int_:
      return std::to_string(v.i);
    case value::kind::float_:
      out = go_json(ojson(v.f));
      break;
    case value::kind::bool_:
      return v.b ? "true" : "false";
    case value::kind::time_:
      return "\"" + format_time(v.t, "2006-01-02T15:04:05.999999999Z07:00") + "\"";
    case value::kind::node: {
      const ojson* j = v.j;
      if (j == nullptr || j->is_null()) {
        return v.type->kind == type_kind::struct_ ? "{}" : "null";
      }
      if (v.type->kind == type_kind::map_ || v.type->kind == type_kind::json_) {
        out = go_json(nlohmann::json(*j));  // Go marshals maps with sorted keys
      } else {
        out = go_json(*j);
      }
      break;
    }
  }
  return escape_html ? out : unescape_html(out);
}

std::string indent_json(std::string_view src) {
  std::string out;
  out.reserve(src.size() * 2);
  int depth = 0;
  bool need_indent = false;
  bool in_string = false;
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<std::size_t>(d) * 2, ' ');
  };
  for (std::size_t i = 0; i < src.size(); ++i) {
    char c = src[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < src.size()) {
        out += src[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (need_indent && c != '}' && c != ']') {
      need_indent = false;
      ++depth;
      newline(depth);
    }
    switch (c) {
      case '"':
        in_string = true;
        out += c;
        break;
      case '{':
      case '[':
        need_indent = true;
        out += c;
        break;
      case ',':
        out += c;
        newline(depth);
        break;
      case ':':
        out += ": ";
        break;
      case '}':
      case ']':
        if (need_indent) {
          need_indent = false;
        } else {
          --depth;
          newline(depth);
        }
        out += c;
        break;
      default:
        out += c;
        break;
    }
  }
  return out;
}

std::string format_float_v(double f) {
  if (std::isnan(f)) {
    return "NaN";
  }
  if (std::isinf(f)) {
    return f > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(res.ptr - buf));
  // sci = [-]d[.ddd]e[+-]dd
  bool neg = sci.front() == '-';
  if (neg) {
    sci.remove_prefix(1);
  }
  auto epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos)) {
    if (c != '.') {
      digits += c;
    }
  }
  int exp = std::stoi(std::string(sci.substr(epos + 1)));
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 6) {  // strconv: shortest %g switches at precision 6
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += exp < 0 ? '-' : '+';
    int a = exp < 0 ? -exp : exp;
    if (a < 10) {
      out += '0';
    }
    out += std::to_string(a);
    return out;
  }
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
    return out;
  }
  auto int_len = static_cast<std::size_t>(exp) + 1;
  if (digits.size() <= int_len) {
    out += digits;
    out.append(int_len - digits.size(), '0');
  } else {
    out += digits.substr(0, int_len);
    out += '.';
    out += digits.substr(int_len);
  }
  return out;
}

}  // namespace ke::tmpl::detail

// go_template: Go's fmt.Sprintf for the verbs templates use (%v %s %d %q %t %f %e %g %x %X %c
// %T %%), with flags, width and precision, and fmt's %!verb(type=value) error forms.
#include <cmath>
#include <cstdio>

#include "template/internal.hpp"

namespace ke::tmpl::detail {

namespace {

struct spec {
  bool minus = false, plus = false, sharp = false, space = false, zero = false;
  int width = -1;
  int prec = -1;
};

void pad(std::string& out, const std::string& body, const spec& sp, bool numeric) {
  auto len = static_cast<int>(body.size());
  if (sp.width <= len) {
    out += body;
    return;
  }
  auto fill = static_cast<std::size_t>(sp.width - len);
  if (sp.minus) {
    out += body;
    out.append(fill, ' ');
  } else if (sp.zero && numeric) {
    std::size_t sign = (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' '));
    out.append(body, 0, sign);
    out.append(fill, '0');
    out.append(body, sign, std::string::npos);
  } else {
    out.append(fill, ' ');
    out += body;
  }
}

std::string bad_verb(char verb, const value& v) {
  std::string out = "%!";
  out += verb;
  out += '(';
  if (v.k == value::kind::nil || v.k == value::kind::invalid) {
    out += "<nil>";
  } else {
    out += type_name(v);
    out += '=';
    format_v(v, out);
  }
  out += ')';
  return out;
}

std::string format_int(std::int64_t i, char verb, const spec& sp) {
  bool neg = i < 0;
  std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(i) : static_cast<std::uint64_t>(i);
  int base = 10;
  const char* digits = "0123456789abcdef";
  switch (verb) {
    case 'b':
      base = 2;
      break;
    case 'o':
    case 'O':
      base = 8;
      break;
    case 'x':
      base = 16;
      break;
    case 'X':
      base = 16;
      digits = "0123456789ABCDEF";
      break;
    default:
      break;
  }
  std::string num;
  do {
    num.insert(num.begin(), digits[u % static_cast<std::uint64_t>(base)]);
    u /= static_cast<std::uint64_t>(base);
  } while (u != 0);
  if (sp.prec >= 0 && static_cast<int>(num.size()) < sp.prec) {
    num.insert(0, static_cast<std::size_t>(sp.prec - static_cast<int>(num.size())), '0');
  }
  if (sp.prec == 0 && i == 0) {
    num.clear();
  }
  std::string prefix;
  if (sp.sharp) {
    if (base == 16) {
      prefix = verb == 'X' ? "0X" : "0x";
    } else if (base == 8 && num[0] != '0') {
      prefix = "0";
    } else if (base == 2) {
      prefix = "0b";
    }
  }
  if (verb == 'O') {
    prefix = "0o";
  }
  std::string sign = neg ? "-" : sp.plus ? "+" : sp.space ? " " : "";
  return sign + prefix + num;
}

std::string format_float(double f, char verb, const spec& sp) {
  std::string body;
  if (std::isnan(f) || std::isinf(f)) {
    body = std::isnan(f) ? "NaN" : (f > 0 ? "+Inf" : "-Inf");
    if (f > 0 && !sp.plus && std::isinf(f)) {
      body = "Inf";
      if (sp.space) {
        body = " Inf";
      }
    }
    return body;
  }
  if ((verb == 'v' || verb == 'g' || verb == 'G') && sp.prec < 0) {
    body = format_float_v(f);
    if (verb == 'G') {
      for (char& c : body) {
        if (c == 'e') {
          c = 'E';
        }
      }
    }
  } else {
    char conv = verb == 'v' ? 'g' : verb == 'F' ? 'f' : verb;
    int prec = sp.prec >= 0 ? sp.prec : 6;
    char fmtbuf[16];
    std::snprintf(fmtbuf, sizeof fmtbuf, "%%%s.*%c", sp.sharp ? "#" : "", conv);
    char buf[512];
    std::snprintf(buf, sizeof buf, fmtbuf, prec, f);
    body = buf;
  }
  if (body[0] != '-' && body[0] != '+') {
    if (sp.plus) {
      body.insert(0, "+");
    } else if (sp.space) {
      body.insert(0, " ");
    }
  }
  return body;
}

std::string hex_string(const std::string& s, char verb, const spec& sp) {
  const char* digits = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (sp.space && i > 0) {
      out += ' ';
    }
    if (sp.sharp && (i == 0 || sp.space)) {
      out += verb == 'X' ? "0X" : "0x";
    }
    auto b = static_cast<unsigned char>(s[i]);
    out += digits[b >> 4];
    out += digits[b & 0xF];
  }
  return out;
}

std::string truncate_runes(const std::string& s, int prec) {
  if (prec < 0) {
    return s;
  }
  std::size_t i = 0;
  for (int n = 0; n < prec && i < s.size(); ++n) {
    auto b = static_cast<unsigned char>(s[i]);
    i += b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
  }
  return s.substr(0, std::min(i, s.size()));
}

void format_one(std::string& out, char verb, const spec& sp, const value& v) {
  bool stringer =
      v.k == value::kind::time_ || (v.k == value::kind::node && v.type->kind == type_kind::time_);
  if (verb == 'T') {
    pad(out, v.k == value::kind::nil ? "<nil>" : type_name(v), sp, false);
    return;
  }
  switch (v.k) {
    case value::kind::bool_:
      if (verb == 'v' || verb == 't') {
        pad(out, v.b ? "true" : "false", sp, false);
        return;
      }
      break;
    case value::kind::int_:
      switch (verb) {
        case 'v':
        case 'd':
        case 'b':
        case 'o':
        case 'O':
        case 'x':
        case 'X':
          pad(out, format_int(v.i, verb == 'v' ? 'd' : verb, sp), sp, !sp.minus && sp.prec < 0);
          return;
        case 'c': {
          std::string s;
          go_quote(std::string(1, static_cast<char>(v.i)), s);  // ASCII runes only
          pad(out, s.substr(1, s.size() - 2), sp, false);
          return;
        }
        case 'q': {
          std::string s;
          go_quote(std::string(1, static_cast<char>(v.i)), s);
          pad(out, "'" + s.substr(1, s.size() - 2) + "'", sp, false);
          return;
        }
        default:  // e E f F g G included: not verbs for an int
          break;
      }
      break;
    case value::kind::float_:
      switch (verb) {
        case 'v':
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
          pad(out, format_float(v.f, verb, sp), sp, !sp.minus);
          return;
        default:
          break;
      }
      break;
    case value::kind::str:
      switch (verb) {
        case 'v':
        case 's':
          pad(out, truncate_runes(v.s, sp.prec), sp, false);
          return;
        case 'q': {
          std::string q;
          go_quote(truncate_runes(v.s, sp.prec), q);
          pad(out, q, sp, false);
          return;
        }
        case 'x':
        case 'X':
          pad(out, hex_string(truncate_runes(v.s, sp.prec), verb, sp), sp, false);
          return;
        default:
          break;
      }
      break;
    case value::kind::nil:
    case value::kind::invalid:
      if (verb == 'v' || verb == 's') {
        pad(out, verb == 'v' ? "<nil>" : "%!s(<nil>)", sp, false);
        return;
      }
      break;
    default:
      if (stringer && (verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X')) {
        value s = value::make_str(strval(v));
        format_one(out, verb, sp, s);
        return;
      }
      if (verb == 'v' || verb == 's') {
        std::string body;
        format_v(v, body);
        pad(out, body, sp, false);
        return;
      }
      break;
  }
  out += bad_verb(verb, v);
}

}  // namespace

std::string go_sprintf(std::string_view format, const std::vector<value>& args, std::size_t first) {
  std::string out;
  std::size_t argi = first;
  std::size_t i = 0;
  auto take_star = [&](int& target) {
    if (argi < args.size() && args[argi].k == value::kind::int_) {
      target = static_cast<int>(args[argi].i);
      ++argi;
      return true;
    }
    ++argi;
    return false;
  };
  while (i < format.size()) {
    char c = format[i];
    if (c != '%') {
      out += c;
      ++i;
      continue;
    }
    ++i;
    spec sp;
    for (; i < format.size(); ++i) {
      char f = format[i];
      if (f == '-') {
        sp.minus = true;
        sp.zero = false;
      } else if (f == '+') {
        sp.plus = true;
      } else if (f == '#') {
        sp.sharp = true;
      } else if (f == ' ') {
        sp.space = true;
      } else if (f == '0') {
        sp.zero = !sp.minus;
      } else {
        break;
      }
    }
    if (i < format.size() && format[i] == '*') {
      ++i;
      if (!take_star(sp.width)) {
        out += "%!(BADWIDTH)";
      } else if (sp.width < 0) {
        sp.minus = true;
        sp.width = -sp.width;
      }
    } else {
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
        sp.width = (sp.width < 0 ? 0 : sp.width) * 10 + (format[i] - '0');
        ++i;
      }
    }
    if (i < format.size() && format[i] == '.') {
      ++i;
      sp.prec = 0;
      if (i < format.size() && format[i] == '*') {
        ++i;
        if (!take_star(sp.prec)) {
          out += "%!(BADPREC)";
        }
      } else {
        while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
          sp.prec = sp.prec * 10 + (format[i] - '0');
          ++i;
        }
      }
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = format[i++];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += "%!";
      out += verb;
      out += "(MISSING)";
      continue;
    }
    format_one(out, verb, sp, args[argi++]);
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (std::size_t k = argi; k < args.size(); ++k) {
      if (k > argi) {
        out += ", ";
      }
      if (args[k].k == value::kind::nil) {
        out += "<nil>";
      } else {
        out += type_name(args[k]);
        out += '=';
        format_v(args[k], out);
      }
    }
    out += ')';
  }
  return out;
}

}  // namespace ke::tmpl::detail

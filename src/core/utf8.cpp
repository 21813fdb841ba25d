#include "core/utf8.hpp"

#include <cstdio>

namespace ke {

namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when invalid (overlong,
// surrogate, out of range, truncated).
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

// Go's unicode.IsPrint, approximated: everything but controls, non-ASCII spaces, line and
// paragraph separators, format characters, private use and noncharacters.
bool printable(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c < 0xA0)) {
    return false;
  }
  if (c < 0xA0) {
    return true;
  }
  struct range {
    char32_t lo, hi;
  };
  static constexpr range not_printable[] = {
      {0x00A0, 0x00A0}, {0x00AD, 0x00AD}, {0x0600, 0x0605},   {0x061C, 0x061C},    {0x06DD, 0x06DD},
      {0x070F, 0x070F}, {0x1680, 0x1680}, {0x180E, 0x180E},   {0x2000, 0x200F},    {0x2028, 0x202F},
      {0x205F, 0x2064}, {0x2066, 0x206F}, {0x3000, 0x3000},   {0xD800, 0xF8FF},    {0xFEFF, 0xFEFF},
      {0xFFF9, 0xFFFB}, {0xFFFE, 0xFFFF}, {0xE0001, 0xE007F}, {0xF0000, 0x10FFFF},
  };
  for (const auto& r : not_printable) {
    if (c >= r.lo && c <= r.hi) {
      return false;
    }
  }
  return (c & 0xFFFE) != 0xFFFE;  // noncharacters U+nFFFE/U+nFFFF
}

}  // namespace

void go_quote(std::string_view v, std::string& out) {
  out.reserve(out.size() + v.size() + 2);
  out += '"';
  char buf[16];
  for (std::size_t i = 0; i < v.size();) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(v, i, cp);
    if (len == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(v[i]));
      out += buf;
      ++i;
      continue;
    }
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (printable(cp)) {
          out.append(v.data() + i, len);
        } else if (cp < 0x20 || cp == 0x7F) {
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
          out += buf;
        } else if (cp < 0x10000) {
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
          out += buf;
        } else {
          std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(cp));
          out += buf;
        }
    }
    i += len;
  }
  out += '"';
}

// Cuts s to at most n bytes without splitting a UTF-8 sequence.
void cut_utf8(std::string& s, std::size_t n) {
  if (s.size() <= n) {
    return;
  }
  std::size_t end = n;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) {
    --end;
  }
  s.resize(end);
}

}  // namespace ke

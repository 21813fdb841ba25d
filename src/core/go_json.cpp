// Go encoding/json output and Go time formats; see go_json.hpp.
#include "core/go_json.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace ke {
namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";

// Bytes below 0x80 that Go's HTML-safe string encoder copies unchanged.
constexpr std::array<bool, 128> make_safe_table() {
  std::array<bool, 128> t{};
  for (int c = 0x20; c < 0x80; ++c) {
    t[c] = true;
  }
  t['"'] = false;
  t['\\'] = false;
  t['<'] = false;
  t['>'] = false;
  t['&'] = false;
  t[0x7f] = true;  // DEL is not escaped by Go
  return t;
}
constexpr std::array<bool, 128> safe_table = make_safe_table();

// Length of the valid UTF-8 sequence starting at s[i] (2..4), or 0 if it is invalid, with
// the same acceptance rules as Go's utf8.DecodeRuneInString (no overlongs, no surrogates,
// nothing above U+10FFFF). Sets *rune to the decoded code point.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t* rune) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  char32_t r = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
    r = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    r = b0 & 0x0f;
    if (b0 == 0xe0) {
      lo = 0xa0;
    } else if (b0 == 0xed) {
      hi = 0x9f;
    }
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    r = b0 & 0x07;
    if (b0 == 0xf0) {
      lo = 0x90;
    } else if (b0 == 0xf4) {
      hi = 0x8f;
    }
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < lo || b > hi) {
      return 0;
    }
    lo = 0x80;
    hi = 0xbf;
    r = (r << 6) | (b & 0x3f);
  }
  *rune = r;
  return n;
}

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t start = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      if (safe_table[b]) {
        ++i;
        continue;
      }
      out.append(s.substr(start, i - start));
      switch (b) {
        case '"':
        case '\\':
          out.push_back('\\');
          out.push_back(static_cast<char>(b));
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          // Control characters and < > & (HTML-safe mode).
          out.append("\\u00");
          out.push_back(hex_digits[b >> 4]);
          out.push_back(hex_digits[b & 0xf]);
          break;
      }
      ++i;
      start = i;
      continue;
    }
    char32_t rune = 0;
    const std::size_t n = utf8_sequence(s, i, &rune);
    if (n == 0) {
      out.append(s.substr(start, i - start));
      out.append("\\ufffd");
      ++i;
      start = i;
      continue;
    }
    if (rune == 0x2028 || rune == 0x2029) {
      out.append(s.substr(start, i - start));
      out.append(rune == 0x2028 ? "\\u2028" : "\\u2029");
      i += n;
      start = i;
      continue;
    }
    i += n;
  }
  out.append(s.substr(start));
  out.push_back('"');
}

template <class Int>
void append_int(std::string& out, Int v) {
  std::array<char, 24> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), end);
}

// Go's float64 encoder: shortest round-trip digits, 'f' format unless the magnitude is below
// 1e-6 or at least 1e21, then 'e' with a one-digit negative exponent where possible.
// NaN and infinities are not representable in JSON (Go fails); we write null.
void append_float(std::string& out, double f) {
  if (!std::isfinite(f)) {
    out.append("null");
    return;
  }
  const double a = std::fabs(f);
  const bool exp = a != 0 && (a < 1e-6 || a >= 1e21);
  std::array<char, 400> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), f,
                                 exp ? std::chars_format::scientific : std::chars_format::fixed);
  std::size_t n = static_cast<std::size_t>(end - buf.data());
  if (exp && n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
    buf[n - 2] = buf[n - 1];
    --n;
  }
  out.append(buf.data(), n);
}

template <class Json>
void append_value(std::string& out, const Json& j) {
  using value_t = nlohmann::json::value_t;
  switch (j.type()) {
    case value_t::null:
    case value_t::discarded:
      out.append("null");
      break;
    case value_t::boolean:
      out.append(j.template get_ref<const typename Json::boolean_t&>() ? "true" : "false");
      break;
    case value_t::number_integer:
      append_int(out, j.template get_ref<const typename Json::number_integer_t&>());
      break;
    case value_t::number_unsigned:
      append_int(out, j.template get_ref<const typename Json::number_unsigned_t&>());
      break;
    case value_t::number_float:
      append_float(out, j.template get_ref<const typename Json::number_float_t&>());
      break;
    case value_t::string:
      append_string(out, j.template get_ref<const typename Json::string_t&>());
      break;
    case value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& v : j) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_value(out, v);
      }
      out.push_back(']');
      break;
    }
    case value_t::object: {
      out.push_back('{');
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!first) {
          out.push_back(',');
        }
        first = false;
        append_string(out, it.key());
        out.push_back(':');
        append_value(out, it.value());
      }
      out.push_back('}');
      break;
    }
    case value_t::binary:
      // Not produced by our decoders; Go would write []byte as base64. Keep the output valid.
      out.append("null");
      break;
  }
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
  return {y, m, d};
}

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

void append_digits(std::string& out, std::int64_t v, int width) {
  std::array<char, 24> buf{};
  int n = 0;
  std::uint64_t u = v < 0 ? static_cast<std::uint64_t>(-v) : static_cast<std::uint64_t>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) {
    out.push_back('-');
  }
  for (int k = n; k < width; ++k) {
    out.push_back('0');
  }
  while (n > 0) {
    out.push_back(buf[--n]);
  }
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) {
    return false;
  }
  int v = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const char c = s[pos + k];
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// A Go time.Time instant: seconds since the Unix epoch (any sign) and nanoseconds [0, 1e9).
struct go_time {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
};

go_time go_time_from_ns(std::int64_t ns) {
  std::int64_t s = ns / 1000000000;
  std::int64_t r = ns % 1000000000;
  if (r < 0) {
    r += 1000000000;
    --s;
  }
  return {s, static_cast<std::int32_t>(r)};
}

bool parse_rfc3339(std::string_view s, go_time* out) {
  // YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm), as Go's time.Parse(time.RFC3339, s).
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!digits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, &month) ||
      s[7] != '-' || !digits(s, 8, 2, &day) || s[10] != 'T' || !digits(s, 11, 2, &hour) ||
      s[13] != ':' || !digits(s, 14, 2, &minute) || s[16] != ':' || !digits(s, 17, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 ||
      day > static_cast<int>(days_in_month(year, static_cast<unsigned>(month))) || hour > 23 ||
      minute > 59 || second > 59) {
    return false;
  }
  std::size_t pos = 19;
  std::int32_t nanos = 0;
  if (s[pos] == '.' || s[pos] == ',') {
    ++pos;
    const std::size_t first = pos;
    std::int32_t scale = 100000000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;  // digits past the ninth are truncated, as in Go
      scale /= 10;
      ++pos;
    }
    if (pos == first) {
      return false;
    }
  }
  std::int64_t offset = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0;
    int om = 0;
    if (!digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset = std::int64_t{oh * 3600 + om * 60} * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) {
    return false;
  }
  out->seconds =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second - offset;
  out->nanos = nanos;
  return true;
}

void append_rfc3339(std::string& out, const go_time& t, bool micro) {
  const std::int64_t days = t.seconds >= 0 ? t.seconds / 86400 : (t.seconds - 86399) / 86400;
  const std::int64_t secs = t.seconds - days * 86400;
  const civil c = civil_from_days(days);
  append_digits(out, c.year, 4);
  out.push_back('-');
  append_digits(out, c.month, 2);
  out.push_back('-');
  append_digits(out, c.day, 2);
  out.push_back('T');
  append_digits(out, secs / 3600, 2);
  out.push_back(':');
  append_digits(out, secs / 60 % 60, 2);
  out.push_back(':');
  append_digits(out, secs % 60, 2);
  if (micro) {
    out.push_back('.');
    append_digits(out, t.nanos / 1000, 6);
  }
  out.push_back('Z');
}

}  // namespace

std::string go_json(const nlohmann::ordered_json& doc) {
  std::string out;
  out.reserve(1024);
  append_value(out, doc);
  return out;
}

std::string go_json(const nlohmann::json& doc) {
  std::string out;
  out.reserve(1024);
  append_value(out, doc);
  return out;
}

std::string format_rfc3339(std::int64_t ns) {
  std::string out;
  append_rfc3339(out, go_time_from_ns(ns), false);
  return out;
}

std::string format_rfc3339_micro(std::int64_t ns) {
  std::string out;
  append_rfc3339(out, go_time_from_ns(ns), true);
  return out;
}

std::int64_t parse_rfc3339_ns(std::string_view s) {
  go_time t;
  if (!parse_rfc3339(s, &t)) {
    return -1;
  }
  std::int64_t ns = 0;
  if (__builtin_mul_overflow(t.seconds, std::int64_t{1000000000}, &ns) ||
      __builtin_add_overflow(ns, std::int64_t{t.nanos}, &ns)) {
    return -1;
  }
  return ns;
}

}  // namespace ke

// go_template: Go's time.Time formatting (reference layout "2006-01-02 15:04:05"), UTC only.
#include <array>
#include <chrono>

#include "core/go_json.hpp"
#include "template/internal.hpp"

namespace ke::tmpl::detail {

namespace {

constexpr std::array<std::string_view, 12> long_months = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
constexpr std::array<std::string_view, 7> long_days = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};

struct civil {
  long long year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
  unsigned yday;   // 1..366
  unsigned wday;   // 0 = Sunday
  int hour, minute, second;
};

long long floor_div(long long a, long long b) {
  long long q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) {
    --q;
  }
  return q;
}

civil to_civil(const go_time& t) {
  using namespace std::chrono;
  long long days = floor_div(t.sec, 86400);
  long long secs = t.sec - days * 86400;
  sys_days sd{std::chrono::days{days}};
  year_month_day ymd{sd};
  civil c{};
  c.year = static_cast<int>(ymd.year());
  c.month = static_cast<unsigned>(ymd.month());
  c.day = static_cast<unsigned>(ymd.day());
  sys_days jan1{ymd.year() / January / 1};
  c.yday = static_cast<unsigned>((sd - jan1).count()) + 1;
  c.wday = weekday{sd}.c_encoding();
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  return c;
}

void pad(long long v, int width, char fill, std::string& out) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  if (v < 0) {
    out += '-';
  }
  for (int i = static_cast<int>(digits.size()); i < width; ++i) {
    out += fill;
  }
  out += digits;
}

bool starts(std::string_view s, std::size_t i, std::string_view what) {
  return s.substr(i, what.size()) == what;
}

bool is_digit_at(std::string_view s, std::size_t i) {
  return i < s.size() && s[i] >= '0' && s[i] <= '9';
}

// Appends the fraction of a second with `digits` digits; trim = the ".999" form (trailing zeros
// removed, nothing at all when zero).
void fraction(std::int32_t nsec, char sep, int digits, bool trim, std::string& out) {
  std::string buf = std::to_string(nsec);
  buf.insert(0, 9 - buf.size(), '0');
  buf.resize(static_cast<std::size_t>(digits));
  if (trim) {
    while (!buf.empty() && buf.back() == '0') {
      buf.pop_back();
    }
    if (buf.empty()) {
      return;
    }
  }
  out += sep;
  out += buf;
}

}  // namespace

go_time time_of_json(const ojson* j) {
  go_time t;
  if (j != nullptr && j->is_string()) {
    std::int64_t ns = parse_rfc3339_ns(j->get_ref<const std::string&>());
    if (ns != -1) {
      t.sec = floor_div(ns, 1000000000);
      t.nsec = static_cast<std::int32_t>(ns - t.sec * 1000000000);
    }
  }
  return t;
}

go_time time_of(const value& v) {
  if (v.k == value::kind::time_) {
    return v.t;
  }
  return v.k == value::kind::node ? time_of_json(v.j) : go_time{};
}

std::string format_time(const go_time& t, std::string_view layout) {
  civil c = to_civil(t);
  std::string out;
  std::size_t i = 0;
  while (i < layout.size()) {
    char ch = layout[i];
    switch (ch) {
      case 'J':
        if (starts(layout, i, "January")) {
          out += long_months[c.month - 1];
          i += 7;
          continue;
        }
        if (starts(layout, i, "Jan")) {
          out += long_months[c.month - 1].substr(0, 3);
          i += 3;
          continue;
        }
        break;
      case 'M':
        if (starts(layout, i, "Monday")) {
          out += long_days[c.wday];
          i += 6;
          continue;
        }
        if (starts(layout, i, "Mon")) {
          out += long_days[c.wday].substr(0, 3);
          i += 3;
          continue;
        }
        if (starts(layout, i, "MST")) {
          out += "UTC";
          i += 3;
          continue;
        }
        break;
      case '0':
        if (i + 1 < layout.size() && layout[i + 1] >= '1' && layout[i + 1] <= '6') {
          switch (layout[i + 1]) {
            case '1':
              pad(c.month, 2, '0', out);
              break;
            case '2':
              pad(c.day, 2, '0', out);
              break;
            case '3':
              pad(c.hour % 12 == 0 ? 12 : c.hour % 12, 2, '0', out);
              break;
            case '4':
              pad(c.minute, 2, '0', out);
              break;
            case '5':
              pad(c.second, 2, '0', out);
              break;
            case '6':
              pad(((c.year % 100) + 100) % 100, 2, '0', out);
              break;
            default:
              break;
          }
          i += 2;
          continue;
        }
        if (starts(layout, i, "002")) {
          pad(c.yday, 3, '0', out);
          i += 3;
          continue;
        }
        break;
      case '1':
        if (starts(layout, i, "15")) {
          pad(c.hour, 2, '0', out);
          i += 2;
          continue;
        }
        pad(c.month, 0, '0', out);
        i += 1;
        continue;
      case '2':
        if (starts(layout, i, "2006")) {
          pad(c.year, 4, '0', out);
          i += 4;
          continue;
        }
        pad(c.day, 0, '0', out);
        i += 1;
        continue;
      case '_':
        if (starts(layout, i, "_2")) {
          if (starts(layout, i, "_2006")) {  // "_" then the year
            out += '_';
            i += 1;
            continue;
          }
          pad(c.day, 2, ' ', out);
          i += 2;
          continue;
        }
        if (starts(layout, i, "__2")) {
          pad(c.yday, 3, ' ', out);
          i += 3;
          continue;
        }
        break;
      case '3':
        pad(c.hour % 12 == 0 ? 12 : c.hour % 12, 0, '0', out);
        i += 1;
        continue;
      case '4':
        pad(c.minute, 0, '0', out);
        i += 1;
        continue;
      case '5':
        pad(c.second, 0, '0', out);
        i += 1;
        continue;
      case 'P':
        if (starts(layout, i, "PM")) {
          out += c.hour >= 12 ? "PM" : "AM";
          i += 2;
          continue;
        }
        break;
      case 'p':
        if (starts(layout, i, "pm")) {
          out += c.hour >= 12 ? "pm" : "am";
          i += 2;
          continue;
        }
        break;
      case '-':
      case 'Z': {
        // Zone offsets; UTC is "+0000"-style, or "Z" for the Z forms.
        static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> zones = {{
            {"070000", "+000000"},
            {"07:00:00", "+00:00:00"},
            {"0700", "+0000"},
            {"07:00", "+00:00"},
            {"07", "+00"},
        }};
        bool matched = false;
        for (const auto& [pat, utc] : zones) {
          if (starts(layout, i + 1, pat)) {
            out += ch == 'Z' ? std::string_view("Z") : utc;
            i += 1 + pat.size();
            matched = true;
            break;
          }
        }
        if (matched) {
          continue;
        }
        break;
      }
      case '.':
      case ',':
        if (i + 1 < layout.size() && (layout[i + 1] == '0' || layout[i + 1] == '9')) {
          char d = layout[i + 1];
          std::size_t j = i + 1;
          while (j < layout.size() && layout[j] == d) {
            ++j;
          }
          if (!is_digit_at(layout, j) && j - i - 1 <= 9) {
            fraction(t.nsec, ch, static_cast<int>(j - i - 1), d == '9', out);
            i = j;
            continue;
          }
        }
        break;
      default:
        break;
    }
    out += ch;
    ++i;
  }
  return out;
}

go_time now_time() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  go_time t;
  t.sec = floor_div(ns, 1000000000);
  t.nsec = static_cast<std::int32_t>(ns - t.sec * 1000000000);
  return t;
}

std::int64_t unix_nano_wrapped(const go_time& t) {
  // Go: sec*1e9 + nsec in int64, wrapping on overflow.
  std::uint64_t v =
      static_cast<std::uint64_t>(t.sec) * 1000000000ull + static_cast<std::uint64_t>(t.nsec);
  return static_cast<std::int64_t>(v);
}

}  // namespace ke::tmpl::detail

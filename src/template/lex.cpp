// go_template: the lexer, following text/template/parse/lex.go: text, {{- -}} trim markers,
// comments, and the tokens inside actions (spaces are tokens: they separate operands).
#include <algorithm>
#include <charconv>

#include "template/internal.hpp"

namespace ke::tmpl::detail {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alnum(char c) {
  auto u = static_cast<unsigned char>(c);
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         u >= 0x80;  // Go accepts Unicode letters; accept any non-ASCII byte
}

[[noreturn]] void fail(int line, const std::string& msg) {
  throw exec_error("line " + std::to_string(line) + ": " + msg);
}

class lexer {
 public:
  explicit lexer(std::string_view in) : in_(in) {}

  std::vector<token> run() {
    while (pos_ < in_.size()) {
      lex_text();
    }
    emit(tok::eof, "");
    return std::move(out_);
  }

 private:
  void emit(tok t, std::string v) { out_.push_back(token{t, std::move(v), line_, value()}); }

  void count_lines(std::string_view s) {
    for (char c : s) {
      if (c == '\n') {
        ++line_;
      }
    }
  }

  void lex_text() {
    std::size_t at = in_.find("{{", pos_);
    std::size_t end = at == std::string_view::npos ? in_.size() : at;
    std::string_view text = in_.substr(pos_, end - pos_);
    bool trim_left = at != std::string_view::npos && at + 3 < in_.size() && in_[at + 2] == '-' &&
                     is_space(in_[at + 3]);
    if (trim_next_) {
      std::size_t k = 0;
      while (k < text.size() && is_space(text[k])) {
        ++k;
      }
      count_lines(text.substr(0, k));
      text.remove_prefix(k);
      trim_next_ = false;
    }
    std::string_view kept = text;
    if (trim_left) {
      while (!kept.empty() && is_space(kept.back())) {
        kept.remove_suffix(1);
      }
    }
    if (!kept.empty()) {
      emit(tok::text, std::string(kept));
    }
    count_lines(text);
    if (at == std::string_view::npos) {
      pos_ = in_.size();
      return;
    }
    pos_ = at + 2 + (trim_left ? 2 : 0);
    if (in_.substr(pos_, 2) == "/*") {
      lex_comment();
      return;
    }
    emit(tok::left, "{{");
    lex_action();
  }

  void lex_comment() {
    std::size_t close = in_.find("*/", pos_ + 2);
    if (close == std::string_view::npos) {
      fail(line_, "unclosed comment");
    }
    count_lines(in_.substr(pos_, close - pos_));
    pos_ = close + 2;
    auto [delim, trim] = at_right_delim();
    if (!delim) {
      fail(line_, "comment ends before closing delimiter");
    }
    pos_ += trim ? 4 : 2;
    trim_next_ = trim;
  }

  std::pair<bool, bool> at_right_delim() const {
    if (pos_ + 1 < in_.size() && is_space(in_[pos_]) && in_[pos_ + 1] == '-' &&
        in_.substr(pos_ + 2, 2) == "}}") {
      return {true, true};
    }
    if (in_.substr(pos_, 2) == "}}") {
      return {true, false};
    }
    return {false, false};
  }

  bool at_terminator() const {
    if (pos_ >= in_.size()) {
      return true;
    }
    char c = in_[pos_];
    if (is_space(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' || c == '(') {
      return true;
    }
    return in_.substr(pos_, 2) == "}}";
  }

  void lex_action() {
    int paren_depth = 0;
    for (;;) {
      auto [delim, trim] = at_right_delim();
      if (delim) {
        if (paren_depth != 0) {
          fail(line_, "unclosed left paren");
        }
        pos_ += trim ? 4 : 2;
        emit(tok::right, "}}");
        trim_next_ = trim;
        return;
      }
      if (pos_ >= in_.size()) {
        fail(line_, "unclosed action");
      }
      char c = in_[pos_];
      if (is_space(c)) {
        std::size_t start = pos_;
        while (pos_ < in_.size() && is_space(in_[pos_])) {
          ++pos_;
        }
        // A space right before "-}}" belongs to the trim marker.
        if (pos_ < in_.size() && in_[pos_] == '-' && in_.substr(pos_ + 1, 2) == "}}") {
          --pos_;
        }
        count_lines(in_.substr(start, pos_ - start));
        if (pos_ > start) {
          emit(tok::space, " ");
        }
        continue;
      }
      switch (c) {
        case '=':
          ++pos_;
          emit(tok::assign, "=");
          continue;
        case ':':
          if (in_.substr(pos_, 2) != ":=") {
            fail(line_, "expected :=");
          }
          pos_ += 2;
          emit(tok::declare, ":=");
          continue;
        case '|':
          ++pos_;
          emit(tok::pipe, "|");
          continue;
        case ',':
          ++pos_;
          emit(tok::comma, ",");
          continue;
        case '(':
          ++pos_;
          ++paren_depth;
          emit(tok::lparen, "(");
          continue;
        case ')':
          ++pos_;
          if (--paren_depth < 0) {
            fail(line_, "unexpected right paren");
          }
          emit(tok::rparen, ")");
          continue;
        case '"':
          lex_quote();
          continue;
        case '`':
          lex_raw_quote();
          continue;
        case '\'':
          lex_char();
          continue;
        case '$':
          lex_word(tok::variable, 1);
          continue;
        case '.':
          if (pos_ + 1 >= in_.size() || in_[pos_ + 1] < '0' || in_[pos_ + 1] > '9') {
            lex_word(tok::field, 1);
            continue;
          }
          break;
        default:
          break;
      }
      if (c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9')) {
        lex_number();
        continue;
      }
      if (is_alnum(c)) {
        lex_identifier();
        continue;
      }
      fail(line_, std::string("unrecognized character in action: '") + c + "'");
    }
  }

  void lex_word(tok t, std::size_t prefix) {
    std::size_t start = pos_;
    pos_ += prefix;
    while (pos_ < in_.size() && is_alnum(in_[pos_])) {
      ++pos_;
    }
    std::string word(in_.substr(start, pos_ - start));
    if (t == tok::field && word == ".") {
      emit(tok::dot, ".");
      return;
    }
    if (!at_terminator()) {
      fail(line_, "bad character '" + std::string(1, in_[pos_]) + "'");
    }
    emit(t, word.substr(t == tok::field ? 1 : 0));
  }

  void lex_identifier() {
    std::size_t start = pos_;
    while (pos_ < in_.size() && is_alnum(in_[pos_])) {
      ++pos_;
    }
    std::string word(in_.substr(start, pos_ - start));
    if (!at_terminator()) {
      fail(line_, "bad character '" + std::string(1, in_[pos_]) + "'");
    }
    static const std::pair<std::string_view, tok> keywords[] = {
        {"if", tok::kw_if},
        {"else", tok::kw_else},
        {"end", tok::kw_end},
        {"range", tok::kw_range},
        {"with", tok::kw_with},
        {"nil", tok::kw_nil},
        {"break", tok::kw_break},
        {"continue", tok::kw_continue},
        {"define", tok::kw_unsupported},
        {"template", tok::kw_unsupported},
        {"block", tok::kw_unsupported},
        {"true", tok::bool_},
        {"false", tok::bool_},
    };
    for (const auto& [k, t] : keywords) {
      if (word == k) {
        emit(t, word);
        return;
      }
    }
    emit(tok::ident, word);
  }

  void lex_number() {
    std::size_t start = pos_;
    auto accept = [&](std::string_view set) {
      if (pos_ < in_.size() && set.find(in_[pos_]) != std::string_view::npos) {
        ++pos_;
        return true;
      }
      return false;
    };
    auto accept_run = [&](std::string_view set) {
      while (accept(set)) {
      }
    };
    accept("+-");
    std::string_view digits = "0123456789_";
    bool hex = false;
    if (accept("0")) {
      if (accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
        hex = true;
      } else if (accept("oO")) {
        digits = "01234567_";
      } else if (accept("bB")) {
        digits = "01_";
      }
    }
    accept_run(digits);
    if (accept(".")) {
      accept_run(digits);
    }
    if (!hex && accept("eE")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (hex && accept("pP")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (pos_ < in_.size() && is_alnum(in_[pos_])) {
      fail(line_,
           "bad number syntax: \"" + std::string(in_.substr(start, pos_ + 1 - start)) + "\"");
    }
    std::string text(in_.substr(start, pos_ - start));
    token t{tok::number, text, line_, parse_number(text)};
    out_.push_back(std::move(t));
  }

  value parse_number(const std::string& text) {
    std::string clean;
    for (char c : text) {
      if (c != '_') {
        clean += c;
      }
    }
    std::string_view s = clean;
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
      neg = s[0] == '-';
      s.remove_prefix(1);
    }
    int base = 10;
    if (s.size() > 1 && s[0] == '0') {
      char p = s[1];
      if (p == 'x' || p == 'X') {
        base = 16;
        s.remove_prefix(2);
      } else if (p == 'o' || p == 'O') {
        base = 8;
        s.remove_prefix(2);
      } else if (p == 'b' || p == 'B') {
        base = 2;
        s.remove_prefix(2);
      } else if (s.find_first_of(".eE") == std::string_view::npos) {
        base = 8;
        s.remove_prefix(1);
      }
    }
    bool is_float = base == 10 && s.find_first_of(".eE") != std::string_view::npos;
    if (!is_float) {
      std::uint64_t u = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), u, base);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) {
        if (u <= static_cast<std::uint64_t>(INT64_MAX) + (neg ? 1 : 0)) {
          return value::make_int(neg ? static_cast<std::int64_t>(0 - u)
                                     : static_cast<std::int64_t>(u));
        }
      }
      if (s.empty() && base == 8) {  // "0"
        return value::make_int(0);
      }
      fail(line_, "illegal number syntax: \"" + text + "\"");
    }
    double d = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), d);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      fail(line_, "illegal number syntax: \"" + text + "\"");
    }
    return value::make_float(neg ? -d : d);
  }

  // Go escape sequences in "..." and '...'.
  void unescape(std::string_view body, char quote, std::string& out) {
    for (std::size_t i = 0; i < body.size(); ++i) {
      char c = body[i];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (++i >= body.size()) {
        fail(line_, "invalid syntax");
      }
      char e = body[i];
      auto hex_digits = [&](std::size_t n) -> std::uint32_t {
        if (i + n >= body.size()) {
          fail(line_, "invalid syntax");
        }
        std::uint32_t v = 0;
        auto r = std::from_chars(body.data() + i + 1, body.data() + i + 1 + n, v, 16);
        if (r.ec != std::errc() || r.ptr != body.data() + i + 1 + n) {
          fail(line_, "invalid syntax");
        }
        i += n;
        return v;
      };
      switch (e) {
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '"':
        case '\'':
          if (e != quote) {
            fail(line_, "invalid syntax");
          }
          out += e;
          break;
        case 'x':
          out += static_cast<char>(hex_digits(2));
          break;
        case 'u':
        case 'U': {
          std::uint32_t r = hex_digits(e == 'u' ? 4 : 8);
          if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) {
            fail(line_, "invalid syntax");
          }
          append_rune(r, out);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            if (i + 2 >= body.size()) {
              fail(line_, "invalid syntax");
            }
            int v = 0;
            for (int k = 0; k < 3; ++k) {
              char d = body[i + static_cast<std::size_t>(k)];
              if (d < '0' || d > '7') {
                fail(line_, "invalid syntax");
              }
              v = v * 8 + (d - '0');
            }
            if (v > 255) {
              fail(line_, "invalid syntax");
            }
            out += static_cast<char>(v);
            i += 2;
            break;
          }
          fail(line_, "invalid syntax");
      }
    }
  }

  static void append_rune(std::uint32_t r, std::string& out) {
    if (r < 0x80) {
      out += static_cast<char>(r);
    } else if (r < 0x800) {
      out += static_cast<char>(0xC0 | (r >> 6));
      out += static_cast<char>(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
      out += static_cast<char>(0xE0 | (r >> 12));
      out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (r & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (r >> 18));
      out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (r & 0x3F));
    }
  }

  void lex_quote() {
    std::size_t start = ++pos_;
    for (;;) {
      if (pos_ >= in_.size() || in_[pos_] == '\n') {
        fail(line_, "unterminated quoted string");
      }
      if (in_[pos_] == '\\') {
        pos_ += 2;
        continue;
      }
      if (in_[pos_] == '"') {
        break;
      }
      ++pos_;
    }
    std::string s;
    unescape(in_.substr(start, pos_ - start), '"', s);
    ++pos_;
    emit(tok::string_, std::move(s));
  }

  void lex_raw_quote() {
    std::size_t close = in_.find('`', pos_ + 1);
    if (close == std::string_view::npos) {
      fail(line_, "unterminated raw quoted string");
    }
    std::string s(in_.substr(pos_ + 1, close - pos_ - 1));
    s.erase(std::remove(s.begin(), s.end(), '\r'), s.end());  // as strconv.Unquote does
    emit(tok::string_, s);
    count_lines(in_.substr(pos_, close - pos_));
    pos_ = close + 1;
  }

  void lex_char() {
    std::size_t start = ++pos_;
    for (;;) {
      if (pos_ >= in_.size() || in_[pos_] == '\n') {
        fail(line_, "unterminated character constant");
      }
      if (in_[pos_] == '\\') {
        pos_ += 2;
        continue;
      }
      if (in_[pos_] == '\'') {
        break;
      }
      ++pos_;
    }
    std::string s;
    unescape(in_.substr(start, pos_ - start), '\'', s);
    ++pos_;
    // Decode the single rune.
    std::uint32_t r = 0;
    auto b0 = s.empty() ? 0u : static_cast<unsigned char>(s[0]);
    std::size_t n = b0 < 0x80 ? 1 : (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : 4;
    if (s.size() != n) {
      fail(line_, "malformed character constant");
    }
    r = n == 1 ? b0 : (b0 & (0xFF >> (n + 1)));
    for (std::size_t k = 1; k < n; ++k) {
      r = (r << 6) | (static_cast<unsigned char>(s[k]) & 0x3F);
    }
    token t{tok::number, s, line_, value::make_int(r)};
    out_.push_back(std::move(t));
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  int line_ = 1;
  bool trim_next_ = false;
  std::vector<token> out_;
};

}  // namespace

std::vector<token> lex(std::string_view text) {
  lexer lx(text);
  return lx.run();
}

}  // namespace ke::tmpl::detail

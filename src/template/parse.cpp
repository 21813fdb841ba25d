// go_template: the parser, following text/template/parse/parse.go closely so that the same
// templates are accepted and rejected (and {{define}}/{{template}}/{{block}} are refused).
#include <algorithm>

#include "template/internal.hpp"

namespace ke::tmpl::detail {

namespace {

[[noreturn]] void fail(int line, const std::string& msg) {
  throw exec_error("line " + std::to_string(line) + ": " + msg);
}

class parser {
 public:
  explicit parser(std::vector<token> toks) : toks_(std::move(toks)) {}

  std::vector<list_node> parse_root() {
    vars_.push_back("$");
    std::vector<list_node> list;
    while (peek().t != tok::eof) {
      list_node n;
      tok end = text_or_action(n);
      if (end == tok::kw_end || end == tok::kw_else) {
        fail(n.line, std::string("unexpected {{") + (end == tok::kw_end ? "end" : "else") + "}}");
      }
      list.push_back(std::move(n));
    }
    return list;
  }

 private:
  const token& peek() const { return toks_[pos_]; }
  const token& next() { return toks_[pos_++]; }
  void backup() { --pos_; }
  const token& next_non_space() {
    while (toks_[pos_].t == tok::space) {
      ++pos_;
    }
    return toks_[pos_++];
  }
  const token& peek_non_space() {
    while (toks_[pos_].t == tok::space) {
      ++pos_;
    }
    return toks_[pos_];
  }
  void expect(tok t, const char* context) {
    const token& k = next_non_space();
    if (k.t != t) {
      unexpected(k, context);
    }
  }
  [[noreturn]] void unexpected(const token& k, const std::string& context) {
    std::string what = k.t == tok::eof ? "EOF" : "\"" + k.val + "\"";
    if (k.t == tok::right) {
      what = "\"}}\"";
    }
    fail(k.line, "unexpected " + what + " in " + context);
  }

  // Returns tok::kw_end / tok::kw_else when the node is an {{end}} / {{else}} marker (n is then
  // only a position), tok::eof otherwise.
  tok text_or_action(list_node& n) {
    const token& k = next_non_space_text();
    n.line = k.line;
    if (k.t == tok::text) {
      n.k = list_node::kind::text;
      n.text = k.val;
      return tok::eof;
    }
    if (k.t != tok::left) {
      unexpected(k, "input");
    }
    return action(n);
  }

  // Spaces only exist inside actions, so at list level the next token is text/left/eof.
  const token& next_non_space_text() { return next(); }

  tok action(list_node& n) {
    const token& k = next_non_space();
    n.line = k.line;
    switch (k.t) {
      case tok::kw_unsupported:
        fail(k.line, "{{" + k.val + "}} is not supported");
      case tok::kw_break:
      case tok::kw_continue: {
        if (range_depth_ == 0) {
          fail(k.line, "{{" + k.val + "}} outside {{range}}");
        }
        expect(tok::right, k.val.c_str());
        n.k = k.t == tok::kw_break ? list_node::kind::break_ : list_node::kind::continue_;
        return tok::eof;
      }
      case tok::kw_else: {
        const token& p = peek_non_space();
        if (p.t == tok::kw_if || p.t == tok::kw_with) {
          return tok::kw_else;  // "else if" / "else with": the control is parsed by the caller
        }
        expect(tok::right, "else");
        return tok::kw_else;
      }
      case tok::kw_end:
        expect(tok::right, "end");
        return tok::kw_end;
      case tok::kw_if:
        control(n, list_node::kind::if_, "if");
        return tok::eof;
      case tok::kw_range:
        control(n, list_node::kind::range, "range");
        return tok::eof;
      case tok::kw_with:
        control(n, list_node::kind::with, "with");
        return tok::eof;
      default:
        break;
    }
    backup();
    n.k = list_node::kind::action;
    n.pipe = parse_pipeline("command", tok::right);
    return tok::eof;
  }

  // Items up to {{end}} or {{else}}; returns which one ended the list.
  tok item_list(std::vector<list_node>& list) {
    for (;;) {
      if (peek().t == tok::eof) {
        fail(peek().line, "unexpected EOF");
      }
      list_node n;
      tok end = text_or_action(n);
      if (end == tok::kw_end || end == tok::kw_else) {
        return end;
      }
      list.push_back(std::move(n));
    }
  }

  void control(list_node& n, list_node::kind k, const char* context) {
    std::size_t mark = vars_.size();
    n.k = k;
    n.pipe = parse_pipeline(context, tok::right);
    if (k == list_node::kind::range) {
      ++range_depth_;
    }
    tok end = item_list(n.list);
    if (k == list_node::kind::range) {
      --range_depth_;
    }
    if (end == tok::kw_else) {
      const token& p = peek();
      if (k == list_node::kind::if_ && p.t == tok::kw_if) {
        next();
        list_node nested;
        nested.line = p.line;
        control(nested, list_node::kind::if_, "if");
        n.else_list.push_back(std::move(nested));
      } else if (k == list_node::kind::with && p.t == tok::kw_with) {
        next();
        list_node nested;
        nested.line = p.line;
        control(nested, list_node::kind::with, "with");
        n.else_list.push_back(std::move(nested));
      } else {
        if (p.t == tok::kw_if || p.t == tok::kw_with) {
          fail(p.line, std::string("unexpected \"") + p.val + "\" in else");
        }
        if (item_list(n.else_list) != tok::kw_end) {
          fail(peek().line, "expected end; found {{else}}");
        }
      }
    }
    vars_.resize(mark);
  }

  bool has_var(const std::string& name) const {
    return std::find(vars_.begin(), vars_.end(), name) != vars_.end();
  }

  std::unique_ptr<pipeline> parse_pipeline(const std::string& context, tok end) {
    auto pipe = std::make_unique<pipeline>();
    pipe->line = peek_non_space().line;
    // Declarations: "$x :=", "$x =", "$i, $e :=" (range only).
    for (;;) {
      if (peek_non_space().t != tok::variable) {
        break;
      }
      std::size_t save = pos_;
      const token& v = next();
      const token& after = peek_non_space();
      if (after.t == tok::declare || after.t == tok::assign) {
        next_non_space();
        pipe->assign = after.t == tok::assign;
        if (pipe->assign && !has_var(v.val)) {
          fail(v.line, "undefined variable \"" + v.val + "\"");
        }
        pipe->decl.push_back(v.val);
        vars_.push_back(v.val);
        break;
      }
      if (after.t == tok::comma) {
        next_non_space();
        pipe->decl.push_back(v.val);
        vars_.push_back(v.val);
        if (context == "range" && pipe->decl.size() < 2) {
          tok t = peek_non_space().t;
          if (t == tok::variable || t == tok::right || t == tok::rparen) {
            continue;
          }
          fail(v.line, "range can only initialize variables");
        }
        fail(v.line, "too many declarations in " + context);
      }
      pos_ = save;
      break;
    }
    for (;;) {
      const token& k = next_non_space();
      if (k.t == end) {
        if (pipe->cmds.empty()) {
          fail(k.line, "missing value for " + context);
        }
        for (std::size_t i = 1; i < pipe->cmds.size(); ++i) {
          operand::kind a = pipe->cmds[i].args[0].k;
          if (a == operand::kind::bool_ || a == operand::kind::dot || a == operand::kind::nil ||
              a == operand::kind::number || a == operand::kind::string_) {
            fail(k.line, "non executable command in pipeline stage " + std::to_string(i + 1));
          }
        }
        return pipe;
      }
      switch (k.t) {
        case tok::bool_:
        case tok::dot:
        case tok::field:
        case tok::ident:
        case tok::number:
        case tok::kw_nil:
        case tok::string_:
        case tok::variable:
        case tok::lparen:
          backup();
          pipe->cmds.push_back(parse_command());
          break;
        default:
          unexpected(k, context);
      }
    }
  }

  command parse_command() {
    command cmd;
    cmd.line = peek_non_space().line;
    for (;;) {
      peek_non_space();
      operand op;
      if (parse_operand(op)) {
        cmd.args.push_back(std::move(op));
      }
      const token& k = next();
      if (k.t == tok::space) {
        continue;
      }
      if (k.t == tok::right || k.t == tok::rparen) {
        backup();
      } else if (k.t != tok::pipe) {
        unexpected(k, "operand");
      }
      break;
    }
    if (cmd.args.empty()) {
      fail(cmd.line, "empty command");
    }
    return cmd;
  }

  bool parse_operand(operand& op) {
    if (!parse_term(op)) {
      return false;
    }
    if (peek().t == tok::field) {
      switch (op.k) {
        case operand::kind::bool_:
        case operand::kind::string_:
        case operand::kind::number:
        case operand::kind::nil:
        case operand::kind::dot:
          fail(peek().line, "unexpected . after term");
        case operand::kind::func:
          fail(peek().line, "unexpected . after function name " + op.name);
        default:
          break;
      }
      while (peek().t == tok::field) {
        op.fields.push_back(next().val);
      }
    }
    return true;
  }

  bool parse_term(operand& op) {
    const token& k = next_non_space();
    op.line = k.line;
    switch (k.t) {
      case tok::ident:
        op.k = operand::kind::func;
        op.name = k.val;
        op.fn = find_func(k.val);
        if (op.fn == nullptr) {
          fail(k.line, "function \"" + k.val + "\" not defined");
        }
        return true;
      case tok::dot:
        op.k = operand::kind::dot;
        return true;
      case tok::kw_nil:
        op.k = operand::kind::nil;
        return true;
      case tok::variable:
        if (!has_var(k.val)) {
          fail(k.line, "undefined variable \"" + k.val + "\"");
        }
        op.k = operand::kind::variable;
        op.name = k.val;
        return true;
      case tok::field:
        op.k = operand::kind::field;
        op.fields.push_back(k.val);
        return true;
      case tok::bool_:
        op.k = operand::kind::bool_;
        op.literal = value::make_bool(k.val == "true");
        return true;
      case tok::number:
        op.k = operand::kind::number;
        op.literal = k.num;
        return true;
      case tok::string_:
        op.k = operand::kind::string_;
        op.literal = value::make_str(k.val);
        return true;
      case tok::lparen:
        op.k = operand::kind::pipe;
        op.sub = parse_pipeline("parenthesized pipeline", tok::rparen);
        return true;
      default:
        backup();
        return false;
    }
  }

  std::vector<token> toks_;
  std::size_t pos_ = 0;
  std::vector<std::string> vars_;
  int range_depth_ = 0;
};

}  // namespace

std::vector<list_node> parse_list_nodes(std::string_view text) {
  parser p(lex(text));
  return p.parse_root();
}

}  // namespace ke::tmpl::detail

// go_template: static checks against *kube.EnhancedEvent. Go reports these at execution time
// ("can't evaluate field clusterName in type *kube.EnhancedEvent", wrong argument counts); we
// report them when the config is loaded, naming the layout key, instead of failing every send.
#include "template/internal.hpp"

namespace ke::tmpl::detail {

namespace {

[[noreturn]] void fail(int line, const std::string& msg) {
  throw exec_error("line " + std::to_string(line) + ": " + msg);
}

const go_type* type_of(result_kind k) {
  switch (k) {
    case result_kind::str:
      return string_type();
    case result_kind::int_:
      return int_type();
    case result_kind::bool_:
      return bool_type();
    case result_kind::float_:
      return float_type();
    case result_kind::time_:
      return go_time_type();
    case result_kind::json_:
      return json_type();
    case result_kind::unknown:
      break;
  }
  return nullptr;
}

const go_type* literal_type(const operand& op) {
  switch (op.literal.k) {
    case value::kind::str:
      return string_type();
    case value::kind::int_:
      return int_type();
    case value::kind::float_:
      return float_type();
    case value::kind::bool_:
      return bool_type();
    default:
      return nullptr;
  }
}

std::string operand_text(const operand& op) {
  switch (op.k) {
    case operand::kind::dot:
      return ".";
    case operand::kind::nil:
      return "nil";
    case operand::kind::func:
      return op.name;
    case operand::kind::string_:
      return "\"" + op.literal.s + "\"";
    default: {
      std::string out;
      format_v(op.literal, out);
      return out;
    }
  }
}

class checker {
 public:
  void run(const std::vector<list_node>& root, const go_type* root_type) {
    vars_.emplace_back("$", root_type);
    check_list(root, root_type);
  }

 private:
  void check_list(const std::vector<list_node>& list, const go_type* dot) {
    for (const auto& n : list) {
      check_node(n, dot);
    }
  }

  void check_node(const list_node& n, const go_type* dot) {
    switch (n.k) {
      case list_node::kind::text:
      case list_node::kind::break_:
      case list_node::kind::continue_:
        return;
      case list_node::kind::action: {
        const go_type* t = check_pipeline(*n.pipe, dot, true);
        if (n.pipe->decl.empty()) {
          check_printable(t, n.line);
        }
        return;
      }
      case list_node::kind::if_:
      case list_node::kind::with: {
        std::size_t mark = vars_.size();
        const go_type* t = check_pipeline(*n.pipe, dot, true);
        check_list(n.list, n.k == list_node::kind::with ? t : dot);
        check_list(n.else_list, dot);
        vars_.resize(mark);
        return;
      }
      case list_node::kind::range: {
        std::size_t mark = vars_.size();
        const go_type* t = check_pipeline(*n.pipe, dot, false);
        const go_type* key = nullptr;
        const go_type* elem = nullptr;
        if (t != nullptr) {
          switch (t->kind) {
            case type_kind::map_:
              key = string_type();
              elem = t->elem;
              break;
            case type_kind::slice_:
              key = int_type();
              elem = t->elem;
              break;
            case type_kind::json_:
              elem = t;
              break;
            default:
              fail(n.line, "range can't iterate over a " + std::string(t->name));
          }
        }
        if (n.pipe->decl.size() == 1) {
          vars_.emplace_back(n.pipe->decl[0], elem);
        } else if (n.pipe->decl.size() == 2) {
          vars_.emplace_back(n.pipe->decl[0], key);
          vars_.emplace_back(n.pipe->decl[1], elem);
        }
        check_list(n.list, elem);
        check_list(n.else_list, dot);
        vars_.resize(mark);
        return;
      }
    }
  }

  static void check_printable(const go_type* t, int line) {
    if (t == nullptr) {
      return;
    }
    const go_type* s = t->kind == type_kind::ptr_ ? t->elem : t;
    if (s->kind == type_kind::struct_ && s->fields->opaque) {
      fail(line, "printing a " + std::string(t->name) +
                     " is not supported (print its fields, or use toJson)");
    }
  }

  const go_type*& find_var(const std::string& name, int line) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) {
        return it->second;
      }
    }
    fail(line, "undefined variable \"" + name + "\"");
  }

  const go_type* check_pipeline(const pipeline& p, const go_type* dot, bool declare) {
    const go_type* t = nullptr;
    for (std::size_t i = 0; i < p.cmds.size(); ++i) {
      t = check_command(p.cmds[i], dot, i > 0);
    }
    if (declare) {
      for (const auto& name : p.decl) {
        if (p.assign) {
          const go_type*& slot = find_var(name, p.line);
          if (slot != t) {
            slot = nullptr;  // the type may now differ by path: stop checking through it
          }
        } else {
          vars_.emplace_back(name, t);
        }
      }
    }
    return t;
  }

  static void not_a_function(const command& c, bool has_final) {
    if (c.args.size() > 1 || has_final) {
      fail(c.line, "can't give argument to non-function " + operand_text(c.args[0]));
    }
  }

  const go_type* check_command(const command& c, const go_type* dot, bool has_final) {
    const operand& first = c.args[0];
    std::size_t nargs = c.args.size() - 1 + (has_final ? 1 : 0);
    std::vector<const go_type*> arg_types;
    for (std::size_t i = 1; i < c.args.size(); ++i) {
      arg_types.push_back(check_operand(c.args[i], dot));
    }
    switch (first.k) {
      case operand::kind::field:
        return check_chain(dot, first.fields, nargs, first.line);
      case operand::kind::variable: {
        const go_type* t = find_var(first.name, first.line);
        if (first.fields.empty()) {
          not_a_function(c, has_final);
          return t;
        }
        return check_chain(t, first.fields, nargs, first.line);
      }
      case operand::kind::pipe: {
        const go_type* t = check_pipeline(*first.sub, dot, true);
        if (first.fields.empty()) {
          not_a_function(c, has_final);
          return t;
        }
        return check_chain(t, first.fields, nargs, first.line);
      }
      case operand::kind::func:
        return check_call(first, arg_types, nargs);
      case operand::kind::nil:
        fail(first.line, "nil is not a command");
      case operand::kind::dot:
        not_a_function(c, has_final);
        return dot;
      default:
        not_a_function(c, has_final);
        return literal_type(first);
    }
  }

  static const go_type* check_call(const operand& fn, const std::vector<const go_type*>& args,
                                   std::size_t nargs) {
    const func_def* f = fn.fn;
    auto n = static_cast<int>(nargs);
    if (f->max_args < 0 && n < f->min_args) {
      fail(fn.line, "wrong number of args for " + std::string(f->name) + ": want at least " +
                        std::to_string(f->min_args) + " got " + std::to_string(n));
    }
    if (f->max_args >= 0 && (n < f->min_args || n > f->max_args)) {
      fail(fn.line, "wrong number of args for " + std::string(f->name) + ": want " +
                        std::to_string(f->max_args) + " got " + std::to_string(n));
    }
    if (f->name == "index" && !args.empty()) {
      const go_type* t = args[0];
      for (std::size_t i = 1; i < args.size() && t != nullptr; ++i) {
        if (t->kind == type_kind::ptr_) {
          t = t->elem;
        }
        if (t->kind == type_kind::map_ || t->kind == type_kind::slice_) {
          t = t->elem;
        } else if (t->kind == type_kind::string_) {
          t = int_type();
        } else if (t->kind != type_kind::json_) {
          fail(fn.line, "can't index item of type " + std::string(t->name));
        }
      }
      return t;
    }
    return type_of(f->result);
  }

  const go_type* check_operand(const operand& op, const go_type* dot) {
    switch (op.k) {
      case operand::kind::field:
        return check_chain(dot, op.fields, 0, op.line);
      case operand::kind::variable:
        return check_chain(find_var(op.name, op.line), op.fields, 0, op.line);
      case operand::kind::pipe:
        return check_chain(check_pipeline(*op.sub, dot, true), op.fields, 0, op.line);
      case operand::kind::func:
        return check_call(op, {}, 0);
      case operand::kind::dot:
        return dot;
      case operand::kind::nil:
        return nullptr;
      default:
        return literal_type(op);
    }
  }

  // A field chain from a receiver of type t (nullptr = unknown, not checked).
  static const go_type* check_chain(const go_type* t, const std::vector<std::string>& fields,
                                    std::size_t last_args, int line) {
    for (std::size_t i = 0; i < fields.size() && t != nullptr; ++i) {
      bool last = i + 1 == fields.size();
      std::size_t nargs = last ? last_args : 0;
      lookup_result r = lookup(t, fields[i]);
      switch (r.k) {
        case lookup_result::kind::none:
          fail(line, "can't evaluate field " + fields[i] + " in type " + std::string(t->name));
        case lookup_result::kind::method:
          if (static_cast<int>(nargs) != r.m->args) {
            fail(line, "wrong number of args for " + fields[i] + ": want " +
                           std::to_string(r.m->args) + " got " + std::to_string(nargs));
          }
          break;
        case lookup_result::kind::field:
          if (nargs > 0) {
            fail(line, fields[i] + " has arguments but cannot be invoked as function");
          }
          break;
        case lookup_result::kind::map_key:
          if (nargs > 0) {
            fail(line, fields[i] + " is not a method but has arguments");
          }
          break;
      }
      t = r.type;
    }
    return t;
  }

  std::vector<std::pair<std::string, const go_type*>> vars_;
};

}  // namespace

void check_tree(const std::vector<list_node>& root, const go_type* root_type) {
  checker c;
  c.run(root, root_type);
}

}  // namespace ke::tmpl::detail

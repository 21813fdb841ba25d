// go_template: execution, following text/template's exec.go (walk, evalPipeline, evalCommand,
// evalField, evalCall) for the supported subset.
#include <algorithm>

#include "template/internal.hpp"

namespace ke::tmpl::detail {

namespace {

class executor {
 public:
  executor(const value& root, std::string& out) : root_(root), out_(out) {
    vars_.emplace_back("$", root);
  }

  void run(const std::vector<list_node>& list) {
    try {
      walk(list, root_);  // not vars_[0]: vars_ reallocates as variables are declared
    } catch (const exec_error& e) {
      throw exec_error("line " + std::to_string(line_) + ": " + e.what());
    }
  }

 private:
  enum class ctl { normal, brk, cont };

  ctl walk(const std::vector<list_node>& list, const value& dot) {
    for (const auto& n : list) {
      ctl c = walk_node(n, dot);
      if (c != ctl::normal) {
        return c;
      }
    }
    return ctl::normal;
  }

  ctl walk_node(const list_node& n, const value& dot) {
    line_ = n.line;
    switch (n.k) {
      case list_node::kind::text:
        out_ += n.text;
        return ctl::normal;
      case list_node::kind::action: {
        value v = eval_pipeline(*n.pipe, dot);
        if (n.pipe->decl.empty()) {
          print_value(v, out_);
        }
        return ctl::normal;
      }
      case list_node::kind::if_:
      case list_node::kind::with: {
        std::size_t mark = vars_.size();
        value v = eval_pipeline(*n.pipe, dot);
        ctl c = ctl::normal;
        if (is_true(v)) {
          c = walk(n.list, n.k == list_node::kind::with ? v : dot);
        } else {
          c = walk(n.else_list, dot);
        }
        vars_.resize(mark);
        return c;
      }
      case list_node::kind::range: {
        std::size_t mark = vars_.size();
        value v = eval_pipeline(*n.pipe, dot);
        ctl c = walk_range(n, v, dot);
        vars_.resize(mark);
        return c;
      }
      case list_node::kind::break_:
        return ctl::brk;
      case list_node::kind::continue_:
        return ctl::cont;
    }
    return ctl::normal;
  }

  // One iteration: $e (and $i) as Go's setTopVar(1, elem), setTopVar(2, index).
  bool iteration(const list_node& n, const value& key, const value& elem) {
    std::size_t decls = n.pipe->decl.size();
    if (decls > 0) {
      vars_.back().second = elem;
    }
    if (decls > 1) {
      vars_[vars_.size() - 2].second = key;
    }
    ctl c = walk(n.list, elem);
    return c != ctl::brk;
  }

  ctl walk_range(const list_node& n, const value& v, const value& dot) {
    if (v.k == value::kind::invalid || v.k == value::kind::nil) {
      return walk(n.else_list, dot);  // a nil map etc.: not an error
    }
    if (v.k != value::kind::node) {
      throw exec_error("range can't iterate over " + strval(v));
    }
    const go_type* t = v.type;
    const ojson* j = v.j != nullptr && v.j->is_null() ? nullptr : v.j;
    bool is_map = t->kind == type_kind::map_ ||
                  (t->kind == type_kind::json_ && j != nullptr && j->is_object());
    bool is_list = t->kind == type_kind::slice_ ||
                   (t->kind == type_kind::json_ && j != nullptr && j->is_array());
    if (!is_map && !is_list) {
      throw exec_error("range can't iterate over " + strval(v));
    }
    const go_type* elem_type = t->kind == type_kind::json_ ? t : t->elem;
    std::size_t count = j == nullptr ? 0 : j->size();
    if (count == 0) {
      return walk(n.else_list, dot);
    }
    if (is_map) {
      std::vector<std::pair<std::string_view, const ojson*>> items;
      for (auto it = j->begin(); it != j->end(); ++it) {
        items.emplace_back(it.key(), &it.value());
      }
      std::sort(items.begin(), items.end());  // Go ranges over maps in key order
      for (const auto& [k, e] : items) {
        value elem = from_node(elem_type, e, v.owned);
        if (!iteration(n, value::make_str(std::string(k)), elem)) {
          break;
        }
      }
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        value elem = from_node(elem_type, &(*j)[i], v.owned);
        elem.addressable = true;
        if (!iteration(n, value::make_int(static_cast<std::int64_t>(i)), elem)) {
          break;
        }
      }
    }
    return ctl::normal;
  }

  value& find_var(const std::string& name) {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) {
        return it->second;
      }
    }
    throw exec_error("undefined variable: " + name);
  }

  value eval_pipeline(const pipeline& p, const value& dot) {
    value prev;
    value cur;
    for (std::size_t i = 0; i < p.cmds.size(); ++i) {
      cur = eval_command(p.cmds[i], dot, i > 0 ? &prev : nullptr);
      prev = std::move(cur);
    }
    for (const auto& name : p.decl) {
      if (p.assign) {
        find_var(name) = prev;
      } else {
        vars_.emplace_back(name, prev);
      }
    }
    return prev;
  }

  static void not_a_function(const command& c, const value* final) {
    if (c.args.size() > 1 || final != nullptr) {
      throw exec_error("can't give argument to non-function");
    }
  }

  value eval_command(const command& c, const value& dot, const value* final) {
    const operand& first = c.args[0];
    switch (first.k) {
      case operand::kind::field:
        return eval_chain(dot, dot, first.fields, &c, final);
      case operand::kind::variable: {
        const value& v = find_var(first.name);
        if (first.fields.empty()) {
          not_a_function(c, final);
          return v;
        }
        return eval_chain(dot, v, first.fields, &c, final);
      }
      case operand::kind::pipe: {
        value v = eval_pipeline(*first.sub, dot);
        if (first.fields.empty()) {
          not_a_function(c, final);
          return v;
        }
        return eval_chain(dot, v, first.fields, &c, final);
      }
      case operand::kind::func:
        return eval_call(*first.fn, &c, dot, final);
      case operand::kind::nil:
        throw exec_error("nil is not a command");
      case operand::kind::dot:
        not_a_function(c, final);
        return dot;
      default:
        not_a_function(c, final);
        return first.literal;
    }
  }

  value eval_arg(const operand& op, const value& dot) {
    switch (op.k) {
      case operand::kind::field:
        return eval_chain(dot, dot, op.fields, nullptr, nullptr);
      case operand::kind::variable: {
        const value& v = find_var(op.name);
        return op.fields.empty() ? v : eval_chain(dot, v, op.fields, nullptr, nullptr);
      }
      case operand::kind::pipe: {
        value v = eval_pipeline(*op.sub, dot);
        return op.fields.empty() ? v : eval_chain(dot, v, op.fields, nullptr, nullptr);
      }
      case operand::kind::func:
        return eval_call(*op.fn, nullptr, dot, nullptr);
      case operand::kind::dot:
        return dot;
      case operand::kind::nil:
        return value::make_nil();
      default:
        return op.literal;
    }
  }

  // A function call; c (if any) holds the function operand and its arguments.
  value eval_call(const func_def& f, const command* c, const value& dot, const value* final) {
    std::size_t nexplicit = c == nullptr ? 0 : c->args.size() - 1;
    if (f.call == nullptr) {  // and / or: evaluate left to right, stop at the deciding value
      bool is_or = f.name == "or";
      value v;
      for (std::size_t i = 0; i < nexplicit; ++i) {
        v = eval_arg(c->args[i + 1], dot);
        if (is_true(v) == is_or) {
          return v;
        }
      }
      if (final != nullptr) {
        v = *final;
      }
      if (nexplicit == 0 && final == nullptr) {
        throw exec_error("wrong number of args for " + std::string(f.name) +
                         ": want at least 1 got 0");
      }
      return v;
    }
    std::vector<value> args;
    args.reserve(nexplicit + 1);
    for (std::size_t i = 0; i < nexplicit; ++i) {
      args.push_back(eval_arg(c->args[i + 1], dot));
    }
    if (final != nullptr) {
      args.push_back(*final);
    }
    auto n = static_cast<int>(args.size());
    if (n < f.min_args || (f.max_args >= 0 && n > f.max_args)) {
      throw exec_error("wrong number of args for " + std::string(f.name));
    }
    if (!f.raw) {
      for (auto& a : args) {
        if (a.k == value::kind::invalid) {
          a = value::make_nil();  // Go passes a missing value to interface{} as nil
        }
        a.addressable = false;
      }
    }
    return f.call(args);
  }

  // Method arguments (the command's other operands) are evaluated with `dot`.
  value eval_chain(const value& dot, value recv, const std::vector<std::string>& fields,
                   const command* c, const value* final) {
    for (std::size_t i = 0; i + 1 < fields.size(); ++i) {
      recv = eval_field(dot, recv, fields[i], nullptr, nullptr);
    }
    return eval_field(dot, recv, fields.back(), c, final);
  }

  value eval_field(const value& dot, const value& recv, const std::string& name, const command* c,
                   const value* final) {
    if (recv.k == value::kind::invalid) {
      return value();  // Go: a field of a missing value is missing too
    }
    bool has_args = (c != nullptr && c->args.size() > 1) || final != nullptr;
    if (recv.k == value::kind::nil) {
      throw exec_error("nil pointer evaluating interface {}." + name);
    }
    if (recv.k != value::kind::node && recv.k != value::kind::time_) {
      throw exec_error("can't evaluate field " + name + " in type " + type_name(recv));
    }
    lookup_result r = lookup(recv.type, name);
    const ojson* j = recv.j != nullptr && recv.j->is_null() ? nullptr : recv.j;
    switch (r.k) {
      case lookup_result::kind::method: {
        std::vector<value> args;
        if (c != nullptr) {
          for (std::size_t i = 1; i < c->args.size(); ++i) {
            args.push_back(eval_arg(c->args[i], dot));
          }
        }
        if (final != nullptr) {
          args.push_back(*final);
        }
        if (static_cast<int>(args.size()) != r.m->args) {
          throw exec_error("wrong number of args for " + name + ": want " +
                           std::to_string(r.m->args) + " got " + std::to_string(args.size()));
        }
        if (recv.type->kind == type_kind::ptr_ && j == nullptr) {
          throw exec_error("nil pointer evaluating " + std::string(recv.type->name) + "." + name);
        }
        return call_method(r.m->id, recv, args);
      }
      case lookup_result::kind::field: {
        if (recv.type->kind == type_kind::ptr_ && j == nullptr) {
          throw exec_error("nil pointer evaluating " + std::string(recv.type->name) + "." + name);
        }
        if (has_args) {
          throw exec_error(name + " has arguments but cannot be invoked as function");
        }
        for (const member* m : r.path) {
          j = json_child(j, m->json_key);
        }
        value v = from_node(r.type, j, recv.owned);
        v.addressable = true;
        return v;
      }
      case lookup_result::kind::map_key: {
        if (has_args) {
          throw exec_error(name + " is not a method but has arguments");
        }
        if (j == nullptr || !j->is_object()) {
          return value();  // nil map: missing
        }
        auto it = j->find(name);
        if (it == j->end() && recv.type->kind == type_kind::json_ && !name.empty() &&
            name[0] >= 'A' && name[0] <= 'Z') {
          // Documents that are not events: also accept the Go-style capitalised name.
          std::string lower = name;
          lower[0] = static_cast<char>(lower[0] + 32);
          it = j->find(lower);
        }
        if (it == j->end()) {
          return value();
        }
        return from_node(r.type, &*it, recv.owned);
      }
      case lookup_result::kind::none:
        break;
    }
    throw exec_error("can't evaluate field " + name + " in type " + std::string(recv.type->name));
  }

  static value call_method(method_id id, const value& recv, const std::vector<value>& args) {
    switch (id) {
      case method_id::get_timestamp_ms:
      case method_id::get_timestamp_iso8601: {
        // firstTimestamp, or eventTime when it is zero.
        go_time t = time_of_json(json_child(recv.j, "firstTimestamp"));
        if (t.is_zero()) {
          t = time_of_json(json_child(recv.j, "eventTime"));
        }
        if (id == method_id::get_timestamp_ms) {
          return value::make_int(unix_nano_wrapped(t) / 1000000);
        }
        return value::make_str(format_time(t, "2006-01-02T15:04:05.000Z"));
      }
      default:
        break;
    }
    go_time t = time_of(recv);
    switch (id) {
      case method_id::time_unix:
        return value::make_int(t.sec);
      case method_id::time_unix_milli:
        return value::make_int(t.sec * 1000 + t.nsec / 1000000);
      case method_id::time_unix_micro:
        return value::make_int(t.sec * 1000000 + t.nsec / 1000);
      case method_id::time_unix_nano:
        return value::make_int(unix_nano_wrapped(t));
      case method_id::time_is_zero:
        return value::make_bool(t.is_zero());
      case method_id::time_string:
        return value::make_str(format_time(t, time_string_layout));
      case method_id::time_format:
        if (args[0].k != value::kind::str) {
          throw exec_error("wrong type for value; expected string; got " + type_name(args[0]));
        }
        return value::make_str(format_time(t, args[0].s));
      case method_id::time_utc:
        return value::make_time(t, go_time_type());
      case method_id::time_year:
        return value::make_int(std::stoll(format_time(t, "2006")));
      default:
        break;
    }
    throw exec_error("unsupported method");
  }

  const value& root_;
  std::string& out_;
  std::vector<std::pair<std::string, value>> vars_;
  int line_ = 1;
};

}  // namespace

void execute_tree(const tree& t, const value& root, std::string& out) {
  executor ex(root, out);
  ex.run(t.root);
}

}  // namespace ke::tmpl::detail

// Internals of go_template, shared by its .cpp files only (not part of the route API).
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.hpp"

namespace ke::tmpl::detail {

using ojson = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// Go types of the template data (resmoio's kube.EnhancedEvent and what it contains).

enum class type_kind : std::uint8_t {
  string_,
  int_,  // any Go integer type
  bool_,
  float_,
  time_,    // metav1.Time / metav1.MicroTime (a struct embedding time.Time): a Stringer
  map_,     // map[string]string
  slice_,   // []elem
  ptr_,     // *elem
  struct_,  // fields below
  json_,    // dynamic JSON (documents that are not events, sprig list/dict results)
};

enum class method_id : std::uint8_t {
  none,
  get_timestamp_ms,       // (*EnhancedEvent).GetTimestampMs() int64
  get_timestamp_iso8601,  // (*EnhancedEvent).GetTimestampISO8601() string
  time_unix,
  time_unix_milli,
  time_unix_micro,
  time_unix_nano,
  time_is_zero,
  time_string,
  time_format,  // (time.Time).Format(layout string) string
  time_utc,     // (time.Time).UTC() time.Time
  time_year,
};

struct struct_desc;

struct go_type {
  type_kind kind;
  std::string_view name;  // Go spelling, for messages: "*kube.EnhancedEvent", "v1.Time", ...
  const go_type* elem = nullptr;        // slice_, ptr_
  const struct_desc* fields = nullptr;  // struct_
  bool micro = false;                   // time_: MicroTime (fractional seconds in String())
};

struct member {
  std::string_view go_name;
  std::string_view json_key;  // "" = inline: the member's JSON is the containing object
  const go_type* type;
  bool embedded = false;  // Go embedded field: its fields and methods are promoted
};

struct method {
  std::string_view go_name;
  method_id id;
  int args = 0;  // number of arguments
};

struct struct_desc {
  std::vector<member> members;  // declaration order (fmt prints in this order)
  std::vector<method> methods;
  // k8s API types have gogo-generated String() methods on *T: "&<gogo>{Field:v,...,}" with the
  // fields in protobuf order. text/template uses them when printing an addressable T or a *T.
  std::string_view gogo;
  std::vector<std::string_view> gogo_fields;
  bool opaque = false;  // printing it directly is not supported (Event, ObjectMeta)
};

// The root data type: *kube.EnhancedEvent.
const go_type* event_type();
const go_type* json_type();
const go_type* string_type();
const go_type* int_type();
const go_type* bool_type();
const go_type* float_type();
const go_type* go_time_type();  // time.Time (from now, .UTC)

// Result of looking a name up in a type.
struct lookup_result {
  enum class kind : std::uint8_t { none, field, method, map_key } k = kind::none;
  std::vector<const member*> path;  // field: members from the receiver (embedded ones first)
  const method* m = nullptr;        // method
  const go_type* type = nullptr;    // field: its type; method: its result type; map_key: elem
};
// Go's selector rules: fields and methods of the struct, then promoted ones (shallowest wins),
// through one pointer; map keys for maps. `t` must be non-null.
lookup_result lookup(const go_type* t, std::string_view name);
const go_type* method_result_type(method_id id);

// ---------------------------------------------------------------------------------------------
// Values.

struct go_time {
  std::int64_t sec = -62135596800;  // seconds since the Unix epoch; default = Go's zero time
  std::int32_t nsec = 0;
  bool is_zero() const { return sec == -62135596800 && nsec == 0; }
};

struct value {
  enum class kind : std::uint8_t {
    invalid,  // Go's invalid reflect.Value: a missing map key ("<no value>")
    nil,      // untyped nil
    str,
    int_,
    float_,
    bool_,
    time_,  // an owned time.Time (sec/nsec), type says which Go type
    node,   // a typed JSON node of the document (or owned JSON):
            // time_/map_/slice_/ptr_/struct_/json_
  };
  kind k = kind::invalid;
  bool b = false;
  std::int64_t i = 0;
  double f = 0;
  go_time t;
  std::string s;
  const go_type* type = nullptr;       // node and time_
  const ojson* j = nullptr;            // node: nullptr or JSON null = the type's zero value
  std::shared_ptr<const ojson> owned;  // keeps an owned JSON node alive
  bool addressable = false;            // reached through fields (Go: reflect CanAddr)

  static value make_str(std::string v) {
    value x;
    x.k = kind::str;
    x.s = std::move(v);
    return x;
  }
  static value make_int(std::int64_t v) {
    value x;
    x.k = kind::int_;
    x.i = v;
    return x;
  }
  static value make_float(double v) {
    value x;
    x.k = kind::float_;
    x.f = v;
    return x;
  }
  static value make_bool(bool v) {
    value x;
    x.k = kind::bool_;
    x.b = v;
    return x;
  }
  static value make_nil() {
    value x;
    x.k = kind::nil;
    return x;
  }
  static value make_time(go_time t, const go_type* type) {
    value x;
    x.k = kind::time_;
    x.t = t;
    x.type = type;
    return x;
  }
  bool is_null_node() const { return k == kind::node && (j == nullptr || j->is_null()); }
};

// A typed node of the document: scalars become str/int_/bool_/float_ values, the rest stays a
// node. `j` may be null (absent = zero value).
value from_node(const go_type* type, const ojson* j, const std::shared_ptr<const ojson>& owned);
value from_owned_json(ojson j);  // dynamic JSON owned by the value

// The member `key` of a JSON object ("" = the object itself, for inline embedded structs);
// nullptr when absent or j is not an object.
const ojson* json_child(const ojson* j, std::string_view key);
// A JSON number as int64 (0 when absent or not a number).
std::int64_t json_int(const ojson* j);

// Go's type name of a value, for messages.
std::string type_name(const value& v);

// Thrown by execution helpers; caught by go_template::execute.
struct exec_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// text/template's printing of a pipeline result (fmt.Fprint after indirecting one pointer).
void print_value(const value& v, std::string& out);
// fmt's %v of a value (used by print, printf %v, sprig's strval).
void format_v(const value& v, std::string& out);
// sprig's strval: strings as is, Stringers via String(), the rest via %v.
std::string strval(const value& v);
// encoding/json of a value (compact, Go's escaping); html=false gives toRawJson.
std::string to_json(const value& v, bool escape_html);
// Go's json.Indent(prefix "", indent "  ") of compact JSON text.
std::string indent_json(std::string_view compact);
// Go's strconv.Quote (core/utf8.hpp).
using ke::go_quote;
// strconv.FormatFloat(f, 'g', -1, 64) as fmt's %v prints it.
std::string format_float_v(double f);

// fmt.Sprintf(format, args[first:]...).
std::string go_sprintf(std::string_view format, const std::vector<value>& args, std::size_t first);

// text/template truth (isTrue) and sprig's empty().
bool is_true(const value& v);
bool is_empty(const value& v);

// Time helpers (UTC only: metav1 times are printed as the process's Local zone, which is UTC in
// the container images this replaces).
go_time time_of(const value& v);       // v is a time_ value or time_ node
go_time time_of_json(const ojson* j);  // an RFC 3339 string; zero time when null/invalid
std::string format_time(const go_time& t, std::string_view layout);
constexpr std::string_view time_string_layout = "2006-01-02 15:04:05.999999999 -0700 MST";
go_time now_time();
// Unix ms with Go's int64 overflow for times outside 1678..2262 (e.g. the zero time).
std::int64_t unix_nano_wrapped(const go_time& t);

// ---------------------------------------------------------------------------------------------
// Functions.

enum class result_kind : std::uint8_t { unknown, str, int_, bool_, float_, time_, json_ };

struct func_def {
  std::string_view name;
  int min_args;
  int max_args;  // -1: variadic
  // Returns the result; throws exec_error. nullptr for and/or (short-circuit, in the executor).
  value (*call)(std::vector<value>& args) = nullptr;
  result_kind result = result_kind::unknown;  // static result type (for checking)
  // Takes reflect.Values (Go builtins such as eq, index, len): a missing map key arrives as an
  // invalid value. Otherwise it arrives as nil, as for Go interface{} parameters.
  bool raw = false;
};

const func_def* find_func(std::string_view name);
std::span<const func_def> sprig_funcs();  // go_template_sprig.cpp

// Argument conversion with Go's error messages (go_template_funcs.cpp).
[[noreturn]] void wrong_type(const value& v, const char* expected);
const std::string& str_arg(const value& v);
std::int64_t int_arg(const value& v);
bool bool_arg(const value& v);
// fmt.Sprint(args[first:]...): a space between operands when neither side is a string.
std::string sprint(const std::vector<value>& args, std::size_t first = 0);

// ---------------------------------------------------------------------------------------------
// Parse tree.

struct pipeline;

struct operand {
  enum class kind : std::uint8_t { dot, field, variable, func, string_, number, bool_, nil, pipe };
  kind k = kind::dot;
  std::string name;                 // variable name ("$x", "$"), function name
  std::vector<std::string> fields;  // chained field names (.A.B): for field, variable, pipe
  value literal;                    // string_, number, bool_
  const func_def* fn = nullptr;     // func
  std::unique_ptr<pipeline> sub;    // pipe
  int line = 1;
};

struct command {
  std::vector<operand> args;
  int line = 1;
};

struct pipeline {
  std::vector<std::string> decl;  // variables declared or assigned
  bool assign = false;            // `=` rather than `:=`
  std::vector<command> cmds;
  int line = 1;
};

struct list_node {
  enum class kind : std::uint8_t { text, action, if_, range, with, break_, continue_ };
  kind k = kind::text;
  std::string text;
  std::unique_ptr<pipeline> pipe;
  std::vector<list_node> list;
  std::vector<list_node> else_list;
  int line = 1;
};

struct tree {
  std::string source;
  std::vector<list_node> root;
  bool constant = false;  // root is a single text node (or empty)
};

// Tokens (go_template_lex.cpp).
enum class tok : std::uint8_t {
  text,
  left,   // {{
  right,  // }}
  space,
  field,     // .Name
  variable,  // $name or $
  ident,     // function name
  string_,   // already unquoted
  number,    // text of a number or char constant (value in token::num)
  bool_,
  dot,
  pipe,
  lparen,
  rparen,
  comma,
  declare,  // :=
  assign,   // =
  kw_if,
  kw_else,
  kw_end,
  kw_range,
  kw_with,
  kw_nil,
  kw_break,
  kw_continue,
  kw_unsupported,  // define, template, block
  eof,
};

struct token {
  tok t;
  std::string val;
  int line;
  value num;  // number
};

// Lexes a whole template; throws exec_error "line N: message" on failure.
std::vector<token> lex(std::string_view text);

// Lexes and parses (go_template_parse.cpp); throws exec_error "line N: message" on failure.
std::vector<list_node> parse_list_nodes(std::string_view text);
// Type-checks a parsed template with `root` as the data type (go_template_check.cpp): unknown
// fields (of *kube.EnhancedEvent), wrong argument counts, unsupported printing. Throws
// exec_error.
void check_tree(const std::vector<list_node>& root, const go_type* root_type);

// Runs a parsed tree.
void execute_tree(const tree& t, const value& root, std::string& out);

}  // namespace ke::tmpl::detail

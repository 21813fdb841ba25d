#include "sinks/factory.hpp"

#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>

#include "sinks/file_sink.hpp"
#include "sinks/line_format.hpp"
#include "sinks/loki/loki_sink.hpp"
#include "sinks/null_sink.hpp"
#include "sinks/stdout_sink.hpp"
#include "template/layout.hpp"

namespace ke::sinks {

namespace {

// Compiles a configured layout; an absent or null layout means "the record's JSON line".
// False (with the compile's diagnostics added) when the layout is invalid.
bool compile_layout(const config::layout& spec, const std::string& path, diagnostics& problems,
                    std::unique_ptr<const tmpl::layout>& out) {
  if (!spec || spec->is_null()) {
    return true;
  }
  out = tmpl::layout::compile(*spec, path, problems);
  return out != nullptr;
}

void add_error(diagnostics& problems, std::string path, std::string message) {
  problems.push_back({diagnostic::level::error, std::move(path), std::move(message)});
}

sink_ptr make_stdout(const config::stdout_sink& c, const std::string& path, diagnostics& problems) {
  std::unique_ptr<const tmpl::layout> layout;
  if (!compile_layout(c.layout, path + ".layout", problems, layout)) {
    return nullptr;
  }
  return std::make_unique<stdout_sink>(line_format(std::move(layout), c.de_dot));
}

sink_ptr make_file(const config::file_sink& c, const std::string& path, diagnostics& problems) {
  if (c.path.empty()) {
    add_error(problems, path + ".path", "required");
    return nullptr;
  }
  std::unique_ptr<const tmpl::layout> layout;
  if (!compile_layout(c.layout, path + ".layout", problems, layout)) {
    return nullptr;
  }
  file_sink::options o;
  o.path = c.path;
  // lumberjack: maxsize in megabytes (2^20 bytes), 0 -> 100.
  const std::uint64_t mb = c.max_size_mb > 0 ? static_cast<std::uint64_t>(c.max_size_mb) : 100;
  o.max_bytes = mb << 20;
  o.max_age = std::chrono::hours(24) * std::max(c.max_age_days, 0);
  o.max_backups = std::max(c.max_backups, 0);
  std::string error;
  auto s = file_sink::open(std::move(o), line_format(std::move(layout), c.de_dot), &error);
  if (!s) {
    add_error(problems, path + ".path", error);
    return nullptr;
  }
  return s;
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

void validate(const config::receiver& r, diagnostics& problems) {
  std::unique_ptr<const tmpl::layout> layout;
  std::visit(overloaded{
                 [&](const config::stdout_sink& c) {
                   compile_layout(c.layout, r.path + ".stdout.layout", problems, layout);
                 },
                 [&](const config::file_sink& c) {
                   if (c.path.empty()) {
                     add_error(problems, r.path + ".file.path", "required");
                   }
                   compile_layout(c.layout, r.path + ".file.layout", problems, layout);
                 },
                 [&](const config::loki_sink& c) {
                   const std::string path = r.path + ".loki";
                   diagnostics found;
                   loki::validate_loki_config(c, path, found);
                   if (!has_errors(found)) {
                     const auto endpoint = url::parse(c.url);
                     if (endpoint && endpoint->https()) {
                       http_client::make_tls_context(c.tls, path + ".tls", found);
                     }
                   }
                   problems.insert(problems.end(), found.begin(), found.end());
                   compile_layout(c.layout, path + ".layout", problems, layout);
                 },
                 [&](const config::webhook_sink&) {
                   add_error(problems, r.path + ".webhook", "not implemented yet");
                 },
                 [&](const config::unsupported_sink&) {},
             },
             r.sink);
}

sink_ptr make_sink(net::any_io_executor ex, const config::receiver& r, ke::metrics& m,
                   diagnostics& problems) {
  return std::visit(
      overloaded{
          [&](const config::stdout_sink& c) {
            return make_stdout(c, r.path + ".stdout", problems);
          },
          [&](const config::file_sink& c) { return make_file(c, r.path + ".file", problems); },
          [&](const config::loki_sink&) { return loki::make_loki_sink(ex, r, m, problems); },
          [&](const config::webhook_sink&) -> sink_ptr {
            add_error(problems, r.path + ".webhook", "not implemented yet");
            return nullptr;
          },
          [&](const config::unsupported_sink& c) -> sink_ptr {
            // The config loader already warned; records are counted as "unsupported_sink".
            return std::make_unique<null_sink>(c.kind);
          },
      },
      r.sink);
}

}  // namespace ke::sinks

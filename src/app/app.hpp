// The commands, wired: flags -> config -> pipeline. main.cpp only parses flags and calls these.
//
// validate() is the one validation: check-config, route-test and run all call it, so check-config
// can never say OK for a config that run rejects. It checks everything that needs no cluster
// and binds nothing: config keys and types, the route tree, every receiver's settings (layouts,
// Loki settings, TLS files), the ingest settings and the -metrics-tls-config web config. run then
// fails only on the environment (an API server it cannot reach, a port it cannot bind, a file it
// cannot open), reported in the same form.
#pragma once
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "config/flags.hpp"

namespace ke::route {
class rule_tree;
}

namespace ke::app {

struct validated {
  validated(config::config c, std::unique_ptr<const route::rule_tree> t);
  validated(validated&&) noexcept;
  ~validated();
  config::config cfg;
  std::unique_ptr<const route::rule_tree> tree;
};

// Problems are printed to err as "error: FILE: path: message" (warnings likewise).
std::optional<validated> validate(const flags& f, std::ostream& err);

int check_config(const flags& f, std::ostream& err);
int route_test(const flags& f, std::istream& in, std::ostream& out, std::ostream& err);
int post_bench(const flags& f, std::ostream& out, std::ostream& err);
// Runs until SIGINT/SIGTERM, then shuts down in the pipeline's order (pipeline/pipeline.hpp).
int run(const flags& f);

}  // namespace ke::app

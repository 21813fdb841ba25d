// Thin entry point: flags, config, wiring, one io_context.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>

#include "config/flags.hpp"
#include "config/loader.hpp"
#include "core/asio.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/version.hpp"
#include "kubebench/ingest_service.hpp"
#include "kubebench/post_bench.hpp"
#include "pipeline/receiver.hpp"
#include "route/route_tester.hpp"
#include "route/rule_tree.hpp"
#include "server/http_server.hpp"
#include "server/metrics_route.hpp"
#include "sinks/factory.hpp"
#include "sinks/loki/loki_sink.hpp"
#include "template/layout.hpp"
#include "watch/event_source.hpp"
#include "watch/leader_election.hpp"

namespace {

using namespace ke;

void print(const std::string& file, const diagnostics& problems) {
  for (const auto& d : problems) {
    std::cerr << (d.severity == diagnostic::level::error ? "error: " : "warning: ") << file << ": "
              << d.to_string() << "\n";
  }
}

std::vector<std::string> receiver_names(const config::config& cfg) {
  std::vector<std::string> names;
  for (const auto& r : cfg.receivers) names.push_back(r.name);
  return names;
}

// Loads and fully validates the config: keys, route tree, layouts. Problems are printed.
std::optional<std::pair<config::config, std::unique_ptr<const route::rule_tree>>> load(
    const std::string& file) {
  auto loaded = config::load_file(file);
  auto& problems = loaded.problems;
  std::unique_ptr<const route::rule_tree> tree;
  if (loaded.ok()) {
    tree = route::rule_tree::compile(loaded.cfg.route, receiver_names(loaded.cfg), problems);
    static constexpr const char* kinds[] = {"stdout", "file", "loki", "webhook"};
    for (const auto& r : loaded.cfg.receivers) {
      std::visit(
          [&](const auto& s) {
            if constexpr (requires { s.layout; }) {
              auto path = r.path + "." + kinds[r.sink.index()] + ".layout";
              if (s.layout) tmpl::layout::compile(*s.layout, path, problems);
            }
            if constexpr (std::is_same_v<std::decay_t<decltype(s)>, config::loki_sink>) {
              sinks::loki::validate_loki_config(s, r.path + ".loki", problems);
            }
          },
          r.sink);
    }
  }
  print(file, problems);
  if (has_errors(problems) || !tree) return std::nullopt;
  return std::make_pair(std::move(loaded.cfg), std::move(tree));
}

int route_test_command(const flags& f) {
  auto loaded = load(f.conf);
  if (!loaded) return 1;
  if (f.events.empty()) {
    std::cerr << "route-test: -events FILE is required (\"-\" reads stdin)\n";
    return 2;
  }
  std::size_t bad = 0;
  if (f.events == "-") {
    bad =
        route::route_test(loaded->first, *loaded->second, std::cin, "stdin", std::cout, std::cerr);
  } else {
    std::ifstream in(f.events);
    if (!in) {
      std::cerr << "route-test: cannot open " << f.events << ": " << std::strerror(errno) << "\n";
      return 1;
    }
    bad = route::route_test(loaded->first, *loaded->second, in, f.events, std::cout, std::cerr);
  }
  if (bad > 0) std::cerr << "route-test: " << bad << " line(s) skipped\n";
  return 0;
}

int run(const flags& f) {
  auto loaded = load(f.conf);
  if (!loaded) return 1;
  auto& [cfg, tree] = *loaded;
  setup_logging(cfg.log_level, cfg.log_format);
  spdlog::info("kube-event-exporter {} ({}) starting with config: {}", ke::version(),
               ke::revision(), config::redacted_json(cfg));

  net::io_context ioc{1};
  ke::metrics metrics(cfg.metrics_name_prefix, std::string(ke::version()),
                      std::string(ke::revision()));
  diagnostics problems;

  std::vector<std::unique_ptr<pipeline::receiver>> receivers;
  std::vector<pipeline::receiver*> receiver_ptrs;
  for (const auto& r : cfg.receivers) {
    auto s = sinks::make_sink(ioc.get_executor(), r, metrics, problems);
    if (!s) continue;
    receivers.push_back(std::make_unique<pipeline::receiver>(ioc.get_executor(), r.name, r.queue,
                                                             std::move(s), metrics));
    receiver_ptrs.push_back(receivers.back().get());
  }
  server::options sopt;
  sopt.address = f.metrics_address;
  sopt.web_config_file = f.metrics_tls_config;
  server::http_server server(ioc.get_executor(), sopt, problems);
  print(f.conf, problems);
  if (has_errors(problems)) return 1;

  pipeline::dispatcher dispatch(*tree, receiver_ptrs, metrics);
  std::string error;
  auto source = watch::event_source::create(
      ioc.get_executor(), cfg, f.kubeconfig,
      [&](record_ptr r) -> net::awaitable<void> { co_await dispatch.dispatch(std::move(r)); },
      metrics, &error);
  if (!source) {
    spdlog::error("kubernetes: {}", error);
    return 1;
  }
  // kube-bench ingest: its own listener, feeding the same dispatcher.
  std::unique_ptr<kubebench::ingest_service> bench;
  if (cfg.ingest.enabled || !f.ingest_address.empty()) {
    diagnostics bench_problems;
    bench = kubebench::ingest_service::create(ioc.get_executor(), cfg, f.ingest_address,
                                              f.kubeconfig, dispatch, metrics, bench_problems);
    print(f.conf, bench_problems);
    if (!bench) return 1;
  }
  server::add_metrics_route(server, metrics);
  unsigned short port = 0;
  try {
    port = server.start();
  } catch (const std::exception& e) {
    spdlog::error("-metrics-address {}: {}", f.metrics_address, e.what());
    return 1;
  }
  spdlog::info("serving /metrics, /-/healthy, /-/ready on {} (port {})", f.metrics_address, port);
  if (bench) {
    try {
      bench->start();
    } catch (const std::exception& e) {
      spdlog::error("kube-bench ingest {}: {}", bench->address(), e.what());
      return 1;
    }
  }
  for (auto& r : receivers) r->start();
  // leaderElection.enabled: only the replica holding the Lease watches; the others wait. The
  // elector has its own clock and API client (stopping the source cancels the source's clock).
  ke::clock elector_clock(ioc.get_executor());
  std::unique_ptr<kube::api_client> elector_api;
  std::unique_ptr<watch::leader_elector> elector;
  if (cfg.leader_election.enabled) {
    elector_api =
        kube::api_client::create(ioc.get_executor(), source->rest(), elector_clock, {}, &error);
    if (!elector_api) {
      spdlog::error("leader election: {}", error);
      return 1;
    }
    watch::leader_election_options lo;
    lo.namespace_ = source->rest().namespace_.empty() ? "default" : source->rest().namespace_;
    lo.name = cfg.leader_election.leader_election_id;
    lo.identity = watch::default_identity();
    spdlog::info("leader election: Lease {}/{} as {}", lo.namespace_, lo.name, lo.identity);
    elector = std::make_unique<watch::leader_elector>(
        *elector_api, elector_clock, lo,
        [&]() -> net::awaitable<void> {
          spdlog::info("leader election: leading, starting the watch");
          source->start();
          co_return;
        },
        [&]() -> net::awaitable<void> {
          spdlog::warn("leader election: not leading any more, stopping the watch");
          co_await source->stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
        });
    elector->start();
  } else {
    source->start();
  }
  server.set_ready(true);
  if (bench) bench->set_ready(true);

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping, flushing receivers", sig);
    server.set_ready(false);
    if (bench) bench->stop();  // no new reports; accepted ones are in the receiver queues
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
          auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
          if (elector) {
            co_await elector->shutdown(deadline);  // stops the source, releases the Lease
          }
          co_await source->stop(deadline);
          for (auto& r : receivers) co_await r->stop(deadline);
          server.stop();
          ioc.stop();
        },
        net::detached);
  });
  ioc.run();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // sinks handle EPIPE; a closed stdout reader must not kill us
  auto parsed = ke::parse_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.error.empty()) {
    std::cerr << parsed.error << "\n" << ke::usage();
    return 2;
  }
  const auto& f = parsed.f;
  ke::setup_logging("info", "");  // stderr from the start: stdout belongs to the stdout receiver
  switch (f.cmd) {
    case ke::command::help:
      std::cout << ke::usage();
      return 0;
    case ke::command::version:
      std::cout << "kube-event-exporter " << ke::version() << " (revision " << ke::revision()
                << ")\n";
      return 0;
    case ke::command::check_config: {
      auto ok = load(f.conf).has_value();
      std::cerr << f.conf << ": " << (ok ? "OK" : "invalid") << "\n";
      return ok ? 0 : 1;
    }
    case ke::command::route_test:
      return route_test_command(f);
    case ke::command::post_bench: {
      ke::kubebench::post_bench_options o;
      o.file = f.file;
      o.url = f.url;
      o.node = f.node;
      o.target = f.target;
      o.syntax = f.syntax;
      o.token_file = f.token_file;
      if (!f.retries.empty()) o.retries = std::atoi(f.retries.c_str());
      return ke::kubebench::post_bench(o, std::cout, std::cerr);
    }
    case ke::command::run:
      break;
  }
  return run(f);
}

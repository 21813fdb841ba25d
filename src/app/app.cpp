#include "app/app.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "config/loader.hpp"
#include "config/yaml_walk.hpp"
#include "core/asio.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/version.hpp"
#include "kubebench/ingest_service.hpp"
#include "kubebench/post_bench.hpp"
#include "pipeline/pipeline.hpp"
#include "route/route_tester.hpp"
#include "route/rule_tree.hpp"
#include "server/http_server.hpp"
#include "server/metrics_route.hpp"
#include "sinks/factory.hpp"
#include "watch/checkpoint.hpp"
#include "watch/event_source.hpp"
#include "watch/leader_election.hpp"

namespace ke::app {

namespace {

void print(std::ostream& err, const std::string& file, const diagnostics& problems) {
  for (const auto& d : problems) {
    err << (d.severity == diagnostic::level::error ? "error: " : "warning: ") << file << ": "
        << d.to_string() << "\n";
  }
}

server::options metrics_server_options(const flags& f) {
  server::options o;
  o.address = f.metrics_address;
  o.web_config_file = f.metrics_tls_config;
  return o;
}

bool ingest_enabled(const config::config& cfg, const flags& f) {
  return cfg.ingest.enabled || !f.ingest_address.empty();
}

}  // namespace

validated::validated(config::config c, std::unique_ptr<const route::rule_tree> t)
    : cfg(std::move(c)), tree(std::move(t)) {}
validated::validated(validated&&) noexcept = default;
validated::~validated() = default;

std::optional<validated> validate(const flags& f, std::ostream& err) {
  auto loaded = config::load_file(f.conf);
  auto& problems = loaded.problems;
  std::unique_ptr<const route::rule_tree> tree;
  if (loaded.ok()) {
    std::vector<std::string> names;
    for (const auto& r : loaded.cfg.receivers) {
      names.push_back(r.name);
      sinks::validate(r, problems);
    }
    tree = route::rule_tree::compile(loaded.cfg.route, names, problems);
    if (ingest_enabled(loaded.cfg, f)) {
      kubebench::ingest_service::validate(loaded.cfg, f.ingest_address, problems);
    }
    // The metrics listener's options (address, web config) are checked by building it, unbound.
    net::io_context scratch;
    server::http_server check(scratch.get_executor(), metrics_server_options(f), problems);
  }
  print(err, f.conf, problems);
  if (has_errors(problems) || !tree) {
    return std::nullopt;
  }
  return validated(std::move(loaded.cfg), std::move(tree));
}

int check_config(const flags& f, std::ostream& err) {
  const bool ok = validate(f, err).has_value();
  err << f.conf << ": " << (ok ? "OK" : "invalid") << "\n";
  return ok ? 0 : 1;
}

int route_test(const flags& f, std::istream& in, std::ostream& out, std::ostream& err) {
  auto v = validate(f, err);
  if (!v) {
    return 1;
  }
  if (f.events.empty()) {
    err << "route-test: -events FILE is required (\"-\" reads stdin)\n";
    return 2;
  }
  std::size_t bad = 0;
  if (f.events == "-") {
    bad = route::route_test(v->cfg, *v->tree, in, "stdin", out, err);
  } else {
    std::ifstream file(f.events);
    if (!file) {
      err << "route-test: cannot open " << f.events << ": " << std::strerror(errno) << "\n";
      return 1;
    }
    bad = route::route_test(v->cfg, *v->tree, file, f.events, out, err);
  }
  if (bad > 0) {
    err << "route-test: " << bad << " line(s) skipped\n";
  }
  return 0;
}

int post_bench(const flags& f, std::ostream& out, std::ostream& err) {
  kubebench::post_bench_options o;
  o.file = f.file;
  o.url = f.url;
  o.node = f.node;
  o.target = f.target;
  o.syntax = f.syntax;
  o.token_file = f.token_file;
  o.ca_file = f.ca_file;
  if (!f.retries.empty()) {
    o.retries = std::atoi(f.retries.c_str());
  }
  return kubebench::post_bench(o, out, err);
}

static std::optional<std::chrono::milliseconds> shutdown_budget(const std::string& text) {
  std::string error;
  auto d = config::detail::parse_duration(text, &error);
  if (!d || *d <= std::chrono::milliseconds(0)) {
    spdlog::error("-shutdown-timeout {}: {}", text, d ? "must be positive" : error);
    return std::nullopt;
  }
  return d;
}

int run(const flags& f) {
  auto v = validate(f, std::cerr);
  if (!v) {
    return 1;
  }
  const auto& cfg = v->cfg;
  setup_logging(cfg.log_level, cfg.log_format);
  const auto shutdown_timeout = shutdown_budget(f.shutdown_timeout);
  if (!shutdown_timeout) {
    return 1;
  }
  spdlog::info("kube-event-exporter {} ({}) starting with config: {}", version(), revision(),
               config::redacted_json(cfg));

  net::io_context ioc{1};
  auto ex = ioc.get_executor();
  ke::metrics metrics(cfg.metrics_name_prefix, std::string(version()), std::string(revision()));
  diagnostics problems;

  // Receivers: one bounded queue and one sink each, in config order.
  pipeline::pipeline pipe(ex, std::move(v->tree), metrics);
  for (const auto& r : cfg.receivers) {
    if (auto s = sinks::make_sink(ex, r, metrics, problems)) {
      pipe.add_receiver(r.name, r.queue, std::move(s));
    }
  }
  server::http_server server(ex, metrics_server_options(f), problems);
  print(std::cerr, f.conf, problems);
  if (has_errors(problems)) {
    return 1;
  }

  // Source: the Events watch, behind leader election when enabled.
  std::string error;
  auto source = watch::event_source::create(
      ex, cfg, f.kubeconfig,
      [&pipe](record_ptr r) -> net::awaitable<void> { co_await pipe.dispatch(std::move(r)); },
      metrics, &error);
  if (!source) {
    spdlog::error("kubernetes: {}", error);
    return 1;
  }
  // The delivery checkpoint: its own clock and API client (stopping the source cancels the
  // source's, and the checkpoint is written once more after the receivers drained).
  ke::clock checkpoint_clock(ex);
  std::unique_ptr<kube::api_client> checkpoint_api;
  std::unique_ptr<watch::checkpointer> checkpoint;
  if (cfg.checkpoint.enabled()) {
    const auto& c = cfg.checkpoint;
    watch::checkpointer_options co;
    co.interval = c.interval;
    co.max_entries = static_cast<std::size_t>(c.max_entries);
    std::unique_ptr<watch::checkpoint_store> store;
    if (!c.file.empty()) {
      store = watch::make_file_checkpoint_store(ex, c.file);
    } else {
      std::string ns = c.namespace_;
      if (ns.empty()) {
        ns = source->rest().namespace_.empty() ? "default" : source->rest().namespace_;
      }
      kube::api_client::options ao;
      ao.request_timeout = std::chrono::seconds(10);
      ao.max_tries = 3;
      checkpoint_api = kube::api_client::create(ex, source->rest(), checkpoint_clock, ao, &error);
      if (!checkpoint_api) {
        spdlog::error("checkpoint: {}", error);
        return 1;
      }
      // A ConfigMap holds at most 1 MiB: 16 bytes an entry, base64.
      co.max_entries = std::min<std::size_t>(co.max_entries, 45000);
      store = watch::make_configmap_checkpoint_store(*checkpoint_api, ns, c.config_map);
    }
    spdlog::info("checkpoint: {} (at most one write per {} ms, {} events)", store->describe(),
                 co.interval.count(), co.max_entries);
    checkpoint = std::make_unique<watch::checkpointer>(ex, std::move(store), co, metrics);
    source->set_checkpointer(checkpoint.get());
    pipe.on_settled([&checkpoint](std::string_view position, bool final) {
      checkpoint->done(position, final);
    });
    checkpoint->start();
  }

  // The elector has its own clock and API client (stopping the source cancels the source's).
  ke::clock elector_clock(ex);
  std::unique_ptr<kube::api_client> elector_api;
  std::unique_ptr<watch::leader_elector> elector;
  if (cfg.leader_election.enabled) {
    watch::leader_election_options lo;
    lo.namespace_ = source->rest().namespace_.empty() ? "default" : source->rest().namespace_;
    lo.name = cfg.leader_election.leader_election_id;
    lo.identity = watch::default_identity();
    elector_api = kube::api_client::create(ex, source->rest(), elector_clock,
                                           watch::leader_elector::client_options(lo), &error);
    if (!elector_api) {
      spdlog::error("leader election: {}", error);
      return 1;
    }
    auto& leading = prometheus::BuildGauge()
                        .Name(metrics.prefix() + "leader_election_leader")
                        .Help("1 while this replica holds the leader election Lease, else 0.")
                        .Register(metrics.registry())
                        .Add({{"lease", lo.namespace_ + "/" + lo.name}});
    spdlog::info("leader election: Lease {}/{} as {}", lo.namespace_, lo.name, lo.identity);
    elector = std::make_unique<watch::leader_elector>(
        *elector_api, elector_clock, lo,
        [&]() -> net::awaitable<void> {
          spdlog::info("leader election: leading, starting the watch");
          leading.Set(1);
          source->start();
          co_return;
        },
        [&]() -> net::awaitable<void> {
          spdlog::warn("leader election: not leading any more, stopping the watch");
          leading.Set(0);
          co_await source->stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
        });
    pipe.add_source({"leader election + watch", [&] { elector->start(); },
                     [&](pipeline::time_point d) -> net::awaitable<void> {
                       co_await elector->shutdown(d);  // stops the watch, releases the Lease
                       co_await source->stop(d);
                     }});
  } else {
    pipe.add_source({"watch", [&] { source->start(); },
                     [&](pipeline::time_point d) { return source->stop(d); }});
  }

  // Source: the kube-bench ingest (its own listener), all or nothing per report.
  std::unique_ptr<kubebench::ingest_service> bench;
  if (ingest_enabled(cfg, f)) {
    diagnostics bench_problems;
    bench = kubebench::ingest_service::create(
        ex, cfg, f.ingest_address, f.kubeconfig,
        [&pipe](const std::vector<record_ptr>& rs) { return pipe.admit(rs); }, metrics,
        bench_problems);
    print(std::cerr, f.conf, bench_problems);
    if (!bench) {
      return 1;
    }
    pipe.add_source({"kube-bench ingest", [] {},
                     [&](pipeline::time_point) -> net::awaitable<void> {
                       bench->stop();  // accepted reports are in the receiver queues
                       co_return;
                     }});
  }

  server::add_metrics_route(server, metrics);
  server.set_failure_check([&pipe] { return pipe.failure(); });  // a dead sender: not ready
  try {
    const auto port = server.start();
    spdlog::info("serving /metrics, /-/healthy, /-/ready on {} (port {})", f.metrics_address, port);
  } catch (const std::exception& e) {
    spdlog::error("-metrics-address {}: {}", f.metrics_address, e.what());
    return 1;
  }
  if (bench) {
    try {
      bench->start();
    } catch (const std::exception& e) {
      spdlog::error("kube-bench ingest {}: {}", bench->address(), e.what());
      return 1;
    }
  }
  pipe.start();
  server.set_ready(true);
  if (bench) {
    bench->set_ready(true);
  }

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) {
      return;
    }
    spdlog::info("signal {}: stopping, flushing receivers", sig);
    server.set_ready(false);
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
          // Stages: sources, receivers (pipeline::stop), then the last checkpoint write.
          const auto now = std::chrono::steady_clock::now();
          const auto end = now + *shutdown_timeout;
          const auto last_write = checkpoint ? std::min<std::chrono::steady_clock::duration>(
                                                   *shutdown_timeout / 5, std::chrono::seconds(3))
                                             : std::chrono::steady_clock::duration::zero();
          co_await pipe.stop(end - last_write);
          if (checkpoint) {
            co_await checkpoint->stop(end);
          }
          server.stop();
          ioc.stop();
        },
        net::detached);
  });
  ioc.run();
  spdlog::info("stopped");
  return 0;
}

}  // namespace ke::app

// Entry point: flags -> the command (src/app). Nothing else lives here.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "config/flags.hpp"
#include "core/log.hpp"
#include "core/version.hpp"

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
    case ke::command::check_config:
      return ke::app::check_config(f, std::cerr);
    case ke::command::route_test:
      return ke::app::route_test(f, std::cin, std::cout, std::cerr);
    case ke::command::post_bench:
      return ke::app::post_bench(f, std::cout, std::cerr);
    case ke::command::run:
      break;
  }
  return ke::app::run(f);
}

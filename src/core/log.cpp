#include "core/log.hpp"

#include <spdlog/details/fmt_helper.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

namespace ke {
namespace {

// {"time":"...","level":"info","logger":"watch","message":"..."}: every value JSON-escaped.
class json_formatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json j;
    auto secs = std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time);
    std::time_t t = std::chrono::system_clock::to_time_t(msg.time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    auto ms = secs.time_since_epoch().count() % 1000;
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    j["time"] = buf;
    j["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                             spdlog::level::to_string_view(msg.level).size());
    if (msg.logger_name.size() > 0) {
      j["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    }
    j["message"] = std::string(msg.payload.data(), msg.payload.size());
    auto s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    s.push_back('\n');
    dest.append(s.data(), s.data() + s.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

spdlog::level::level_enum parse_level(const std::string& level) {
  if (level == "trace") {
    return spdlog::level::trace;
  }
  if (level == "debug") {
    return spdlog::level::debug;
  }
  if (level == "warn") {
    return spdlog::level::warn;
  }
  if (level == "error") {
    return spdlog::level::err;
  }
  if (level == "fatal" || level == "panic") {
    return spdlog::level::critical;
  }
  if (level == "disabled") {
    return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

void setup_logging(const std::string& level, const std::string& format) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("", sink);
  if (format == "json") {
    logger->set_formatter(std::make_unique<json_formatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S%z %^%l%$ %v");
  }
  logger->set_level(parse_level(level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace ke

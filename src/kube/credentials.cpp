#include "kube/credentials.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/base64.hpp"
#include "core/go_json.hpp"
#include "kube/process.hpp"

namespace ke::kube {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return {};
  }
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Credentials are refreshed this long before they expire.
constexpr auto expiry_leeway = std::chrono::seconds(10);

}  // namespace

credentials::credentials(net::any_io_executor ex, rest_config cfg, clock& c)
    : ex_(std::move(ex)), cfg_(std::move(cfg)), clock_(c), exec_done_(ex_) {
  cert_pem_ = cfg_.client_cert_pem;
  key_pem_ = cfg_.client_key_pem;
  if (!cfg_.exec && cfg_.token_file.empty()) {
    if (!cfg_.token.empty()) {
      current_ = "Bearer " + cfg_.token;
    } else if (!cfg_.username.empty() || !cfg_.password.empty()) {
      current_ = "Basic " + base64_encode(cfg_.username + ":" + cfg_.password);
    }
    have_token_ = true;
  }
}

bool credentials::read_token_file() {
  ++token_reads_;
  std::ifstream in(cfg_.token_file, std::ios::binary);
  std::ostringstream s;
  if (in) {
    s << in.rdbuf();
  }
  const std::string token = trim(s.str());
  read_at_ = clock_.now();
  if (!in || token.empty()) {
    if (have_token_ || !current_.empty()) {
      spdlog::warn("watch: cannot re-read the token file \"{}\"; keeping the previous token",
                   cfg_.token_file);
      have_token_ = true;
      return true;
    }
    return false;
  }
  current_ = "Bearer " + token;
  have_token_ = true;
  return true;
}

net::awaitable<std::string> credentials::authorization(std::string* error) {
  if (cfg_.exec) {
    const bool expired = clock_.wall_now() + expiry_leeway >= expires_at_;
    if (!have_token_ || expired) {
      while (exec_running_) {
        boost::system::error_code ec;
        co_await exec_done_.async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      if (!have_token_ || clock_.wall_now() + expiry_leeway >= expires_at_) {
        co_await run_exec(error);
      }
    }
    co_return current_;
  }
  if (!cfg_.token_file.empty()) {
    if (!have_token_ || clock_.now() - read_at_ >= token_file_period) {
      if (!read_token_file() && error != nullptr) {
        *error = "cannot read the token file \"" + cfg_.token_file + "\"";
      }
    }
    co_return current_;
  }
  co_return current_;
}

void credentials::invalidate(const std::string& used) {
  if (used != current_) {
    return;  // a newer credential is already in use
  }
  if (cfg_.exec || !cfg_.token_file.empty()) {
    have_token_ = false;
  }
}

net::awaitable<void> credentials::run_exec(std::string* error) {
  exec_running_ = true;
  exec_done_.expires_at(std::chrono::steady_clock::time_point::max());
  ++exec_runs_;
  const exec_config& e = *cfg_.exec;
  nlohmann::ordered_json info = {{"kind", "ExecCredential"},
                                 {"apiVersion", e.api_version},
                                 {"spec", {{"interactive", false}}}};
  if (e.provide_cluster_info) {
    nlohmann::ordered_json cluster = {{"server", cfg_.server}};
    if (!cfg_.tls_server_name.empty()) {
      cluster["tls-server-name"] = cfg_.tls_server_name;
    }
    if (cfg_.insecure) {
      cluster["insecure-skip-tls-verify"] = true;
    }
    if (!cfg_.ca_pem.empty()) {
      cluster["certificate-authority-data"] = base64_encode(cfg_.ca_pem);
    }
    info["spec"]["cluster"] = std::move(cluster);
  }
  process_options opt;
  opt.argv.push_back(e.command);
  opt.argv.insert(opt.argv.end(), e.args.begin(), e.args.end());
  opt.env = e.env;
  opt.env.emplace_back("KUBERNETES_EXEC_INFO", info.dump());
  auto res = co_await run_process(ex_, std::move(opt));

  std::string problem;
  if (!res.error.empty()) {
    problem = res.error;
  } else if (res.exit_code != 0) {
    problem = "exited with status " + std::to_string(res.exit_code);
  }
  nlohmann::json cred;
  if (problem.empty()) {
    cred = nlohmann::json::parse(res.out, nullptr, false);
    if (cred.is_discarded() || !cred.is_object()) {
      problem = "did not print an ExecCredential JSON object";
    } else if (cred.value("kind", "") != "ExecCredential") {
      problem = "printed kind \"" + cred.value("kind", "") + "\", expected ExecCredential";
    } else if (cred.value("apiVersion", "") != e.api_version) {
      problem = "printed apiVersion \"" + cred.value("apiVersion", "") + "\", expected \"" +
                e.api_version + "\"";
    } else if (!cred.contains("status") || !cred["status"].is_object()) {
      problem = "printed an ExecCredential without status";
    }
  }
  if (problem.empty()) {
    const auto& st = cred["status"];
    const std::string token = st.value("token", "");
    const std::string cert = st.value("clientCertificateData", "");
    const std::string key = st.value("clientKeyData", "");
    if (token.empty() && (cert.empty() || key.empty())) {
      problem = "ExecCredential status has neither token nor clientCertificateData+clientKeyData";
    } else {
      current_ = token.empty() ? std::string() : "Bearer " + token;
      if (!cert.empty() && (cert != cert_pem_ || key != key_pem_)) {
        cert_pem_ = cert;
        key_pem_ = key;
        ++tls_generation_;
      }
      expires_at_ = std::chrono::system_clock::time_point::max();
      if (st.contains("expirationTimestamp") && st["expirationTimestamp"].is_string()) {
        const auto ns = parse_rfc3339_ns(st["expirationTimestamp"].get<std::string>());
        if (ns > 0) {
          expires_at_ = std::chrono::system_clock::time_point(
              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  std::chrono::nanoseconds(ns)));
        }
      }
      have_token_ = true;
    }
  }
  if (!problem.empty()) {
    std::string msg = "exec credential plugin \"" + e.command + "\" " + problem;
    if (!res.err.empty()) {
      msg += "; stderr: " + trim(res.err.substr(0, 2000));
    }
    if (!e.install_hint.empty() && res.error.find("cannot run") != std::string::npos) {
      msg += "; " + e.install_hint;
    }
    spdlog::error("watch: {}", msg);
    exec_error_ = msg;
    if (error != nullptr) {
      *error = msg;
    }
    // Keep an unexpired previous credential if there is one; otherwise send none.
    if (clock_.wall_now() + expiry_leeway >= expires_at_) {
      current_.clear();
    }
  }
  exec_running_ = false;
  exec_done_.cancel();
}

}  // namespace ke::kube

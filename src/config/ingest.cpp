#include "config/ingest.hpp"

#include <algorithm>
#include <cctype>

#include "core/http_client.hpp"

namespace ke::config::detail {

namespace {

bool label_name_ok(std::string_view name) {
  const auto start = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  const auto rest = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  return !name.empty() && start(name[0]) && !name.starts_with("__") &&
         std::all_of(name.begin(), name.end(), rest);
}

// A Kubernetes name segment (DNS-1123 label or subdomain characters).
bool k8s_name_ok(std::string_view s) {
  return !s.empty() && s.size() <= 253 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

}  // namespace

void parse_ingest(yaml_walker& w, const YAML::Node& n, const std::string& path, ingest& out) {
  out.enabled = true;
  YAML::Node auth_node = n;
  std::string mode;
  YAML::Node mode_node;
  YAML::Node allowed_node;
  w.walk_map(n, path,
             {w.string_field("address", out.address),
              {"maxBodyBytes",
               [&](const YAML::Node& v, const std::string& p) {
                 std::uint64_t bytes = out.max_body_bytes;
                 if (w.read_byte_size(v, p, bytes)) {
                   if (bytes == 0 || bytes > (1ull << 30)) {
                     w.error(v, p, "must be between 1 and 1GiB");
                   } else {
                     out.max_body_bytes = bytes;
                   }
                 }
               }},
              {"readTimeout",
               [&](const YAML::Node& v, const std::string& p) {
                 auto d = out.read_timeout;
                 if (w.read_duration(v, p, d)) {
                   if (d.count() <= 0) {
                     w.error(v, p, "must be positive");
                   } else {
                     out.read_timeout = d;
                   }
                 }
               }},
              w.int_field("maxChecks", out.max_checks, 1, 10000000),
              {"auth",
               [&](const YAML::Node& v, const std::string& p) {
                 auth_node = v;
                 w.walk_map(
                     v, p,
                     {{"mode",
                       [&](const YAML::Node& m, const std::string& mp) {
                         mode_node = m;
                         w.read_string(m, mp, mode);
                       }},
                      {"allowedServiceAccounts",
                       [&](const YAML::Node& a, const std::string& ap) {
                         allowed_node = a;
                         if (!w.read_string_list(a, ap, out.allowed_service_accounts)) {
                           return;
                         }
                         for (std::size_t i = 0; i < out.allowed_service_accounts.size(); ++i) {
                           const auto& sa = out.allowed_service_accounts[i];
                           const auto colon = sa.find(':');
                           if (colon == std::string::npos ||
                               !k8s_name_ok(std::string_view(sa).substr(0, colon)) ||
                               !k8s_name_ok(std::string_view(sa).substr(colon + 1))) {
                             w.error(a, ap + "[" + std::to_string(i) + "]",
                                     "\"" + sa + "\" is not a ServiceAccount as namespace:name");
                           }
                         }
                       }},
                      w.string_field("tokenFile", out.token_file)});
               }},
              {"tls", [&](const YAML::Node& v, const std::string& p) {
                 w.walk_map(v, p,
                            {w.string_field("certFile", out.tls_cert_file),
                             w.string_field("keyFile", out.tls_key_file)});
                 if (out.tls_cert_file.empty() != out.tls_key_file.empty()) {
                   w.error(v, p, "certFile and keyFile must be given together");
                 }
               }}});

  const std::string auth_path = path + ".auth";
  if (mode.empty() || mode == "tokenReview") {
    out.auth_mode = ingest_auth_mode::token_review;
    if (out.allowed_service_accounts.empty()) {
      w.error(allowed_node.IsDefined() ? allowed_node : auth_node,
              auth_path + ".allowedServiceAccounts",
              "tokenReview (the default auth mode) needs at least one namespace:name; or set "
              "auth.mode: staticToken or none");
    }
  } else if (mode == "staticToken") {
    out.auth_mode = ingest_auth_mode::static_token;
    if (out.token_file.empty()) {
      w.error(mode_node, auth_path + ".tokenFile", "staticToken needs tokenFile");
    }
  } else if (mode == "none") {
    out.auth_mode = ingest_auth_mode::none;
    w.warn(mode_node, auth_path + ".mode",
           "none: anyone who can reach the ingest address can post kube-bench reports");
  } else {
    w.error(mode_node, auth_path + ".mode",
            "invalid value \"" + mode + "\" (expected tokenReview, staticToken or none)");
  }
}

void parse_kube_bench(yaml_walker& w, const YAML::Node& n, const std::string& path,
                      kube_bench& out) {
  w.walk_map(n, path,
             {{"streamLabels",
               [&](const YAML::Node& v, const std::string& p) {
                 string_pairs labels;
                 if (!w.read_string_map(v, p, labels)) {
                   return;
                 }
                 for (const auto& [name, value] : labels) {
                   if (!label_name_ok(name)) {
                     w.error(v, p + "." + name,
                             "invalid label name (expected [a-zA-Z_][a-zA-Z0-9_]*)");
                   } else if (name == "kube_bench_node_name" || name == "kube_bench_target" ||
                              name == "status") {
                     w.error(v, p + "." + name, "reserved: set by each kube-bench record");
                   }
                 }
                 out.stream_labels = std::move(labels);
               }},
              {"pushgateway", [&](const YAML::Node& v, const std::string& p) {
                 w.walk_map(v, p,
                            {w.string_field("url", out.pushgateway.url),
                             w.string_field("job", out.pushgateway.job)});
                 std::string err;
                 if (!out.pushgateway.url.empty() && !url::parse(out.pushgateway.url, &err)) {
                   w.error(v, p + ".url", "invalid URL \"" + out.pushgateway.url + "\": " + err);
                 }
                 if (out.pushgateway.job.empty()) {
                   w.error(v, p + ".job", "must not be empty");
                 }
               }}});
}

}  // namespace ke::config::detail

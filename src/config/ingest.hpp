// Private to core/config_loader.cpp: reading ingest: and kubeBench: from YAML.
#pragma once
#include <yaml-cpp/yaml.h>

#include <string>

#include "config/config.hpp"
#include "config/yaml_walk.hpp"

namespace ke::config::detail {

// ingest: {address, maxBodyBytes, readTimeout, maxChecks,
//          auth: {mode, allowedServiceAccounts, tokenFile}, tls: {certFile, keyFile}}
void parse_ingest(yaml_walker& w, const YAML::Node& n, const std::string& path, ingest& out);

// kubeBench: {streamLabels, pushgateway: {url, job}}
void parse_kube_bench(yaml_walker& w, const YAML::Node& n, const std::string& path,
                      kube_bench& out);

}  // namespace ke::config::detail

#include "kube/kube_config.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/base64.hpp"

namespace ke::kube {

namespace {

namespace fs = std::filesystem;

bool fail(std::string* error, std::string message) {
  if (error != nullptr) {
    *error = std::move(message);
  }
  return false;
}

std::optional<std::string> read_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(error, "cannot read \"" + path + "\"");
    return std::nullopt;
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) {
    fail(error, "cannot read \"" + path + "\"");
    return std::nullopt;
  }
  return s.str();
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    return {};
  }
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  s.erase(0, b);
  return s;
}

std::optional<std::string> getenv_of(const kube_environment& env, const std::string& name) {
  if (env.getenv) {
    return env.getenv(name);
  }
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) {
    return std::nullopt;
  }
  return std::string(v);
}

// A path from a kubeconfig, resolved against that file's directory.
std::string resolve_path(const std::string& p, const std::string& dir) {
  if (p.empty() || fs::path(p).is_absolute()) {
    return p;
  }
  if (p.front() == '~' && (p.size() == 1 || p[1] == '/')) {
    const char* home = std::getenv("HOME");
    if (home != nullptr) {
      return std::string(home) + p.substr(1);
    }
  }
  return (fs::path(dir) / p).lexically_normal().string();
}

// One named entry (cluster, user or context) with the directory of the file defining it.
struct named {
  YAML::Node node;
  std::string dir;
  std::string file;
};

std::string scalar(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || !v.IsScalar()) {
    return {};
  }
  return v.as<std::string>();
}

bool boolean(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  if (!v || !v.IsScalar()) {
    return false;
  }
  const auto s = v.as<std::string>();
  return s == "true" || s == "True" || s == "TRUE" || s == "yes" || s == "on";
}

// file or base64 data field pair -> PEM contents ("" if neither).
bool pem_from(const YAML::Node& n, const char* file_key, const char* data_key,
              const std::string& dir, const std::string& where, std::string& out,
              std::string* error) {
  const std::string data = scalar(n, data_key);
  if (!data.empty()) {
    auto decoded = base64_decode(data);
    if (!decoded) {
      return fail(error, where + "." + data_key + ": not valid base64");
    }
    out = std::move(*decoded);
    return true;
  }
  const std::string file = scalar(n, file_key);
  if (!file.empty()) {
    std::string e;
    auto text = read_file(resolve_path(file, dir), &e);
    if (!text) {
      return fail(error, where + "." + file_key + ": " + e);
    }
    out = std::move(*text);
  }
  return true;
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      clean.push_back(c);
    }
  }
  return ke::base64_decode(clean);
}

std::optional<rest_config> load_in_cluster(const kube_environment& env, std::string* error) {
  const auto host = getenv_of(env, "KUBERNETES_SERVICE_HOST");
  const auto port = getenv_of(env, "KUBERNETES_SERVICE_PORT");
  if (!host || !port || host->empty() || port->empty()) {
    return std::nullopt;
  }
  rest_config c;
  c.source = "in-cluster";
  const bool v6 = host->find(':') != std::string::npos;
  c.server = "https://" + (v6 ? "[" + *host + "]" : *host) + ":" + *port;
  const std::string dir = env.service_account_dir;
  c.token_file = dir + "/token";
  std::string e;
  if (!read_file(c.token_file, &e)) {
    fail(error, "in-cluster config: service-account token: " + e);
    return std::nullopt;
  }
  if (auto ca = read_file(dir + "/ca.crt", &e)) {
    c.ca_pem = std::move(*ca);
  } else {
    fail(error, "in-cluster config: service-account CA: " + e);
    return std::nullopt;
  }
  if (auto ns = getenv_of(env, "POD_NAMESPACE"); ns && !ns->empty()) {
    c.namespace_ = *ns;
  } else if (auto f = read_file(dir + "/namespace", nullptr)) {
    c.namespace_ = trim(*f);
  }
  if (c.namespace_.empty()) {
    c.namespace_ = "default";
  }
  return c;
}

std::optional<rest_config> load_kubeconfig(const std::vector<std::string>& files,
                                           const std::string& context, std::string* error) {
  std::map<std::string, named> clusters;
  std::map<std::string, named> users;
  std::map<std::string, named> contexts;
  std::string current;
  std::string first_file;
  bool any = false;
  for (const auto& file : files) {
    if (file.empty()) {
      continue;
    }
    YAML::Node root;
    try {
      root = YAML::LoadFile(file);
    } catch (const YAML::BadFile&) {
      if (files.size() > 1) {
        continue;  // as clientcmd: missing files in a $KUBECONFIG list are skipped
      }
      fail(error, "kubeconfig \"" + file + "\": cannot read the file");
      return std::nullopt;
    } catch (const YAML::Exception& ex) {
      fail(error, "kubeconfig \"" + file + "\": " + ex.what());
      return std::nullopt;
    }
    if (!any) {
      first_file = file;
    }
    any = true;
    if (!root || root.IsNull()) {
      continue;
    }
    if (!root.IsMap()) {
      fail(error, "kubeconfig \"" + file + "\": expected a map at the top level");
      return std::nullopt;
    }
    const std::string dir = fs::absolute(fs::path(file)).parent_path().string();
    auto collect = [&](const char* list_key, const char* item_key,
                       std::map<std::string, named>& into) -> bool {
      const YAML::Node list = root[list_key];
      if (!list || list.IsNull()) {
        return true;
      }
      if (!list.IsSequence()) {
        return fail(error, "kubeconfig \"" + file + "\": " + list_key + ": expected a list");
      }
      for (const auto& entry : list) {
        const std::string name = scalar(entry, "name");
        if (name.empty()) {
          return fail(error, "kubeconfig \"" + file + "\": " + list_key + ": an entry has no name");
        }
        into.emplace(name, named{entry[item_key], dir, file});  // first definition wins
      }
      return true;
    };
    if (!collect("clusters", "cluster", clusters) || !collect("users", "user", users) ||
        !collect("contexts", "context", contexts)) {
      return std::nullopt;
    }
    if (current.empty()) {
      current = scalar(root, "current-context");
    }
  }
  if (!any) {
    fail(error, "no kubeconfig file found");
    return std::nullopt;
  }
  const std::string ctx_name = context.empty() ? current : context;
  const std::string where_file = "kubeconfig \"" + first_file + "\"";
  if (ctx_name.empty()) {
    fail(error, where_file + ": no current-context is set");
    return std::nullopt;
  }
  auto ctx = contexts.find(ctx_name);
  if (ctx == contexts.end()) {
    fail(error, where_file + ": context \"" + ctx_name + "\" not found");
    return std::nullopt;
  }
  const std::string cluster_name = scalar(ctx->second.node, "cluster");
  const std::string user_name = scalar(ctx->second.node, "user");
  auto cl = clusters.find(cluster_name);
  if (cl == clusters.end()) {
    fail(error, "kubeconfig \"" + ctx->second.file + "\": context \"" + ctx_name +
                    "\" names cluster \"" + cluster_name + "\", which is not defined");
    return std::nullopt;
  }
  rest_config c;
  c.source = "kubeconfig " + ctx->second.file + " context " + ctx_name;
  c.namespace_ = scalar(ctx->second.node, "namespace");
  const YAML::Node& cn = cl->second.node;
  const std::string cwhere =
      "kubeconfig \"" + cl->second.file + "\": clusters[" + cluster_name + "].cluster";
  c.server = scalar(cn, "server");
  if (c.server.empty()) {
    fail(error, cwhere + ".server: not set");
    return std::nullopt;
  }
  c.insecure = boolean(cn, "insecure-skip-tls-verify");
  c.tls_server_name = scalar(cn, "tls-server-name");
  if (!scalar(cn, "proxy-url").empty()) {
    fail(error, cwhere + ".proxy-url: proxies are not supported");
    return std::nullopt;
  }
  if (!pem_from(cn, "certificate-authority", "certificate-authority-data", cl->second.dir, cwhere,
                c.ca_pem, error)) {
    return std::nullopt;
  }
  if (!user_name.empty()) {
    auto us = users.find(user_name);
    if (us == users.end()) {
      fail(error, "kubeconfig \"" + ctx->second.file + "\": context \"" + ctx_name +
                      "\" names user \"" + user_name + "\", which is not defined");
      return std::nullopt;
    }
    const YAML::Node& un = us->second.node;
    const std::string& dir = us->second.dir;
    const std::string uwhere =
        "kubeconfig \"" + us->second.file + "\": users[" + user_name + "].user";
    for (const char* unsupported :
         {"auth-provider", "as", "as-uid", "as-groups", "as-user-extra"}) {
      if (un && un.IsMap() && un[unsupported] && !un[unsupported].IsNull()) {
        fail(error, uwhere + "." + unsupported + ": not supported (use an exec plugin or a token)");
        return std::nullopt;
      }
    }
    if (!pem_from(un, "client-certificate", "client-certificate-data", dir, uwhere,
                  c.client_cert_pem, error) ||
        !pem_from(un, "client-key", "client-key-data", dir, uwhere, c.client_key_pem, error)) {
      return std::nullopt;
    }
    if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
      fail(error, uwhere + ": client-certificate and client-key must be given together");
      return std::nullopt;
    }
    c.token = trim(scalar(un, "token"));
    c.token_file = resolve_path(scalar(un, "tokenFile"), dir);
    c.username = scalar(un, "username");
    c.password = scalar(un, "password");
    c.base_dir = dir;
    if (const YAML::Node ex = un["exec"]; ex && ex.IsMap()) {
      exec_config e;
      e.command = scalar(ex, "command");
      if (e.command.empty()) {
        fail(error, uwhere + ".exec.command: not set");
        return std::nullopt;
      }
      // clientcmd resolves a command with a path separator relative to the kubeconfig.
      if (e.command.find('/') != std::string::npos) {
        e.command = resolve_path(e.command, dir);
      }
      if (const YAML::Node args = ex["args"]; args && args.IsSequence()) {
        for (const auto& a : args) {
          e.args.push_back(a.as<std::string>());
        }
      }
      if (const YAML::Node envs = ex["env"]; envs && envs.IsSequence()) {
        for (const auto& v : envs) {
          e.env.emplace_back(scalar(v, "name"), scalar(v, "value"));
        }
      }
      e.api_version = scalar(ex, "apiVersion");
      if (e.api_version != "client.authentication.k8s.io/v1" &&
          e.api_version != "client.authentication.k8s.io/v1beta1") {
        fail(error, uwhere + ".exec.apiVersion: \"" + e.api_version +
                        "\" is not supported (client.authentication.k8s.io/v1 or v1beta1)");
        return std::nullopt;
      }
      e.provide_cluster_info = boolean(ex, "provideClusterInfo");
      e.install_hint = scalar(ex, "installHint");
      e.interactive_mode = scalar(ex, "interactiveMode");
      if (e.interactive_mode == "Always") {
        fail(error, uwhere + ".exec.interactiveMode: Always needs a terminal, which a service " +
                        "does not have");
        return std::nullopt;
      }
      c.exec = std::move(e);
    }
  }
  return c;
}

std::optional<rest_config> resolve_rest_config(const std::string& kubeconfig_flag,
                                               const kube_environment& env, std::string* error) {
  if (!kubeconfig_flag.empty()) {
    return load_kubeconfig({kubeconfig_flag}, "", error);
  }
  std::string e;
  if (auto in = load_in_cluster(env, &e)) {
    return in;
  }
  if (!e.empty()) {
    fail(error, e);
    return std::nullopt;
  }
  if (auto list = getenv_of(env, "KUBECONFIG"); list && !list->empty()) {
    std::vector<std::string> files;
    std::string item;
    std::istringstream s(*list);
    while (std::getline(s, item, ':')) {
      if (!item.empty()) {
        files.push_back(item);
      }
    }
    return load_kubeconfig(files, "", error);
  }
  const auto home = getenv_of(env, "HOME");
  if (!home || home->empty()) {
    fail(error,
         "no Kubernetes config: not in a cluster, no -kubeconfig, no $KUBECONFIG and no $HOME");
    return std::nullopt;
  }
  const std::string def = *home + "/.kube/config";
  if (!fs::exists(def)) {
    fail(error,
         "no Kubernetes config: not in a cluster (KUBERNETES_SERVICE_HOST unset), no "
         "-kubeconfig, no $KUBECONFIG and no " +
             def);
    return std::nullopt;
  }
  return load_kubeconfig({def}, "", error);
}

}  // namespace ke::kube

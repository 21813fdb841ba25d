// Where the Kubernetes API is and how to authenticate to it: in-cluster service-account config
// or a kubeconfig file, resolved the way client-go's clientcmd does for the fields we support.
//
// Resolution order (resolve_rest_config): the -kubeconfig flag; else in-cluster config when
// KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are set; else $KUBECONFIG (a ':'-separated
// list, merged: the first file to define a cluster/user/context name or current-context wins);
// else ~/.kube/config. This is resmoio's order (flag, in-cluster, $KUBECONFIG) plus the usual
// ~/.kube/config fallback.
//
// Supported kubeconfig fields: clusters[].cluster.{server, certificate-authority(-data),
// insecure-skip-tls-verify, tls-server-name}; users[].user.{client-certificate(-data),
// client-key(-data), token, tokenFile, username/password, exec}; contexts[].context.{cluster,
// user, namespace}; current-context. Relative file paths are resolved against the directory of
// the kubeconfig file that names them. Unsupported user fields (auth-provider, impersonation,
// proxy-url) are reported as errors rather than silently ignored.
//
// Files named here (CA, client cert/key) are read once, at load time; only the token file is
// re-read later (see credentials.hpp).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/record.hpp"

namespace ke::kube {

// A client.authentication.k8s.io exec credential plugin.
struct exec_config {
  std::string command;
  std::vector<std::string> args;
  string_pairs env;
  std::string api_version;  // client.authentication.k8s.io/v1 (or v1beta1)
  bool provide_cluster_info = false;
  std::string install_hint;
  std::string interactive_mode;  // Never | IfAvailable | Always (we never have a terminal)
};

struct rest_config {
  std::string server;           // "https://host:port" (or http:// for tests and proxies)
  std::string ca_pem;           // CA bundle in PEM ("" = the system store)
  bool insecure = false;        // insecure-skip-tls-verify
  std::string tls_server_name;  // SNI and certificate name override
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;       // static bearer token
  std::string token_file;  // bearer token re-read from this file (in-cluster, tokenFile)
  std::string username;    // basic auth (kubeconfig username/password)
  std::string password;
  std::optional<exec_config> exec;
  std::string namespace_;  // context namespace / service-account namespace ("" if none)
  std::string source;      // for logs: "in-cluster" or "kubeconfig <path> context <name>"
  std::string base_dir;    // directory of the kubeconfig (exec command lookup)
};

// The process environment, injectable for tests.
struct kube_environment {
  std::function<std::optional<std::string>(const std::string&)> getenv;  // empty = ::getenv
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
};

// In-cluster config: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (IPv6 bracketed),
// the token file, ca.crt and the namespace ($POD_NAMESPACE, then the namespace file, then
// "default"). nullopt when the two variables are not set (not in a cluster); *error is set when
// they are set but the config is unusable.
std::optional<rest_config> load_in_cluster(const kube_environment& env, std::string* error);

// Loads and merges the given kubeconfig files (in order) and picks `context` (empty = the
// current-context). On failure returns nullopt and sets *error (naming the file and key).
std::optional<rest_config> load_kubeconfig(const std::vector<std::string>& files,
                                           const std::string& context, std::string* error);

// The resolution order described at the top of this file. kubeconfig_flag: the -kubeconfig
// value ("" if not given).
std::optional<rest_config> resolve_rest_config(const std::string& kubeconfig_flag,
                                               const kube_environment& env, std::string* error);

// kubeconfig *-data values: standard base64 with whitespace (line breaks of folded YAML)
// ignored. nullopt when malformed. Encoding: ke::base64_encode (core/base64.hpp).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ke::kube

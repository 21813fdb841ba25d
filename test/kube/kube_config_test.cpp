#include "kube/kube_config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/base64.hpp"

namespace ke::kube {
namespace {

namespace fs = std::filesystem;

std::string pki(const std::string& name) {
  std::ifstream in(std::string(KE_TEST_DATA) + "/watch/pki/" + name, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class KubeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ke-kubeconfig-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  kube_environment env(std::map<std::string, std::string> vars) {
    kube_environment e;
    e.getenv = [vars](const std::string& k) -> std::optional<std::string> {
      auto it = vars.find(k);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    e.service_account_dir = (dir_ / "sa").string();
    return e;
  }

  fs::path dir_;
};

// Verifies that base64 decoding handles padding, whitespace and rejects garbage.
TEST_F(KubeConfigTest, Base64RoundTrip) {
  EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64_decode("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(base64_decode("aGk="), "hi");
  EXPECT_FALSE(base64_decode("aGk"));
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  const std::string pem = pki("ca.crt");
  EXPECT_EQ(base64_decode(base64_encode(pem)), pem);
}

// Verifies that a kubeconfig with inline *-data, a token and a context namespace loads, with the
// current-context chosen.
TEST_F(KubeConfigTest, KubeconfigInlineDataAndCurrentContext) {
  const std::string f = write("config", R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: )" + base64_encode(pki("ca.crt")) +
                                            R"(
    tls-server-name: kubernetes.default.svc
- name: other
  cluster:
    server: https://other:1
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: team-a}
- name: prod
  context: {cluster: other, user: u1}
users:
- name: u1
  user:
    token: abc123
    client-certificate-data: )" + base64_encode(pki("client.crt")) +
                                            R"(
    client-key-data: )" + base64_encode(pki("client.key")) +
                                            "\n");
  std::string error;
  auto c = load_kubeconfig({f}, "", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");
  EXPECT_EQ(c->ca_pem, pki("ca.crt"));
  EXPECT_EQ(c->tls_server_name, "kubernetes.default.svc");
  EXPECT_EQ(c->token, "abc123");
  EXPECT_EQ(c->client_cert_pem, pki("client.crt"));
  EXPECT_EQ(c->client_key_pem, pki("client.key"));
  EXPECT_EQ(c->namespace_, "team-a");
  EXPECT_NE(c->source.find("context dev"), std::string::npos);

  auto prod = load_kubeconfig({f}, "prod", &error);
  ASSERT_TRUE(prod) << error;
  EXPECT_EQ(prod->server, "https://other:1");
}

// Verifies that file paths (certificate-authority, client cert/key, tokenFile, exec command with
// a slash) are resolved relative to the kubeconfig's directory.
TEST_F(KubeConfigTest, RelativePathsResolveAgainstTheKubeconfig) {
  write("certs/ca.crt", pki("ca.crt"));
  write("certs/client.crt", pki("client.crt"));
  write("certs/client.key", pki("client.key"));
  write("sub/config", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority: ../certs/ca.crt,
            insecure-skip-tls-verify: true}}]
users: [{name: u, user: {client-certificate: ../certs/client.crt, client-key: ../certs/client.key,
         tokenFile: ../token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)");
  std::string error;
  auto c = load_kubeconfig({(dir_ / "sub/config").string()}, "", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->ca_pem, pki("ca.crt"));
  EXPECT_EQ(c->client_key_pem, pki("client.key"));
  EXPECT_TRUE(c->insecure);
  EXPECT_EQ(c->token_file, (dir_ / "token").lexically_normal().string());
}

// Verifies that an exec plugin section is read with its args, env and apiVersion.
TEST_F(KubeConfigTest, ExecPluginSection) {
  const std::string f = write("config", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
      args: [get-token, --cluster, c]
      env: [{name: FOO, value: bar}]
      provideClusterInfo: true
      interactiveMode: Never
)");
  std::string error;
  auto c = load_kubeconfig({f}, "", &error);
  ASSERT_TRUE(c) << error;
  ASSERT_TRUE(c->exec);
  EXPECT_EQ(c->exec->command, (dir_ / "bin/plugin").lexically_normal().string());
  EXPECT_EQ(c->exec->args, (std::vector<std::string>{"get-token", "--cluster", "c"}));
  ASSERT_EQ(c->exec->env.size(), 1u);
  EXPECT_EQ(c->exec->env[0].second, "bar");
  EXPECT_TRUE(c->exec->provide_cluster_info);
}

// Verifies that broken kubeconfigs fail with a message naming the problem.
TEST_F(KubeConfigTest, ErrorsNameTheProblem) {
  std::string error;
  const std::string missing_ctx = write("a", "current-context: nope\nclusters: []\n");
  EXPECT_FALSE(load_kubeconfig({missing_ctx}, "", &error));
  EXPECT_NE(error.find("context \"nope\" not found"), std::string::npos) << error;

  const std::string bad_exec = write("b", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {exec: {command: foo, apiVersion: client.authentication.k8s.io/v1alpha1}}}]
)");
  EXPECT_FALSE(load_kubeconfig({bad_exec}, "", &error));
  EXPECT_NE(error.find("v1alpha1"), std::string::npos) << error;

  const std::string auth_provider = write("c", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://h:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {auth-provider: {name: gcp}}}]
)");
  EXPECT_FALSE(load_kubeconfig({auth_provider}, "", &error));
  EXPECT_NE(error.find("auth-provider"), std::string::npos) << error;

  const std::string bad_data = write("d", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority-data: "!!!"}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  EXPECT_FALSE(load_kubeconfig({bad_data}, "", &error));
  EXPECT_NE(error.find("certificate-authority-data"), std::string::npos) << error;
}

// Verifies that $KUBECONFIG lists are merged with the first definition winning and missing
// files skipped.
TEST_F(KubeConfigTest, KubeconfigListMergesFirstWins) {
  const std::string a = write("a", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://first:1"}}]
)");
  const std::string b = write("b", R"(current-context: y
clusters: [{name: c, cluster: {server: "https://second:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}]
)");
  std::string error;
  auto c = resolve_rest_config(
      "", env({{"KUBECONFIG", a + ":" + (dir_ / "missing").string() + ":" + b}}), &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->server, "https://first:1");
  EXPECT_EQ(c->token, "t");
}

// Verifies in-cluster config: host/port (IPv6 bracketed), token file, CA and namespace.
TEST_F(KubeConfigTest, InClusterConfig) {
  write("sa/token", "tok\n");
  write("sa/ca.crt", pki("ca.crt"));
  write("sa/namespace", "monitoring\n");
  std::string error;
  auto c = resolve_rest_config(
      "", env({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}}),
      &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
  EXPECT_EQ(c->token_file, (dir_ / "sa/token").string());
  EXPECT_EQ(c->ca_pem, pki("ca.crt"));
  EXPECT_EQ(c->namespace_, "monitoring");
  EXPECT_EQ(c->source, "in-cluster");

  auto pod_ns = load_in_cluster(env({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                     {"KUBERNETES_SERVICE_PORT", "443"},
                                     {"POD_NAMESPACE", "from-env"}}),
                                &error);
  ASSERT_TRUE(pod_ns);
  EXPECT_EQ(pod_ns->namespace_, "from-env");
}

// Verifies the resolution order: the flag beats in-cluster, in-cluster beats $KUBECONFIG, and
// ~/.kube/config is the last resort.
TEST_F(KubeConfigTest, ResolutionOrder) {
  write("sa/token", "tok");
  write("sa/ca.crt", pki("ca.crt"));
  const std::string flag = write("flag", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://flag:1"}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  const std::string envfile = write("envfile", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://env:1"}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  write("home/.kube/config", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://home:1"}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  const std::map<std::string, std::string> in_cluster = {{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                                         {"KUBERNETES_SERVICE_PORT", "443"},
                                                         {"KUBECONFIG", envfile},
                                                         {"HOME", (dir_ / "home").string()}};
  std::string error;
  EXPECT_EQ(resolve_rest_config(flag, env(in_cluster), &error)->server, "https://flag:1");
  EXPECT_EQ(resolve_rest_config("", env(in_cluster), &error)->server, "https://10.0.0.1:443");
  EXPECT_EQ(resolve_rest_config("", env({{"KUBECONFIG", envfile}}), &error)->server,
            "https://env:1");
  EXPECT_EQ(resolve_rest_config("", env({{"HOME", (dir_ / "home").string()}}), &error)->server,
            "https://home:1");
  EXPECT_FALSE(resolve_rest_config("", env({{"HOME", (dir_ / "nowhere").string()}}), &error));
  EXPECT_NE(error.find("no Kubernetes config"), std::string::npos) << error;
}

}  // namespace
}  // namespace ke::kube

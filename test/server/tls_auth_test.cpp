// TLS and basic authentication configured through the exporter-toolkit web config, end to end.
#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <fstream>
#include <iterator>
#include <memory>

#include "core/base64.hpp"
#include "server/http_server.hpp"
#include "test_support.hpp"

namespace ke::server {
namespace {

using test::client;
using test::client_response;
using test::loopback_options;
using test::running_server;
using test::tls_client;

// Certificates generated once with the openssl CLI: a server certificate for localhost and
// 127.0.0.1, a client certificate (SAN client.example), and an unrelated client certificate.
class TlsAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::temp_dir();
    make_cert("server", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1");
    make_cert("client", "/CN=client", "subjectAltName=DNS:client.example");
    make_cert("other", "/CN=other", "subjectAltName=DNS:other.example");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  static void make_cert(const std::string& name, const std::string& subject,
                        const std::string& san) {
    ASSERT_EQ(test::make_self_signed(*dir_, name, subject, san), "");
  }

  static std::string file(const std::string& name) { return dir_->file(name); }

  // A server whose web config (written next to the certificates, so relative names work) is
  // `yaml`.
  static options with_web_config(const std::string& yaml) {
    auto opt = loopback_options();
    opt.web_config_file = dir_->write("web.yml", yaml);
    return opt;
  }

  // A client context trusting the server certificate and checking the host name.
  static net::ssl::context client_context() {
    net::ssl::context ctx(net::ssl::context::tls_client);
    ctx.load_verify_file(file("server.crt"));
    ctx.set_verify_mode(net::ssl::verify_peer);
    ctx.set_verify_callback(net::ssl::host_name_verification("localhost"));
    return ctx;
  }

  static void use_client_cert(net::ssl::context& ctx, const std::string& name) {
    ctx.use_certificate_chain_file(file(name + ".crt"));
    ctx.use_private_key_file(file(name + ".key"), net::ssl::context::pem);
  }

  // Connects, handshakes and GETs /-/healthy; true when a 200 came back.
  static bool healthy_over_tls(net::ssl::context& ctx, unsigned short port) {
    tls_client c(ctx);
    if (c.connect(port)) {
      return false;
    }
    client_response res;
    if (c.request(http::verb::get, "/-/healthy", res)) {
      return false;
    }
    return res.result() == http::status::ok;
  }

  static test::temp_dir* dir_;
};

test::temp_dir* TlsAuthTest::dir_ = nullptr;

constexpr const char* server_tls =
    "tls_server_config:\n"
    "  cert_file: server.crt\n"
    "  key_file: server.key\n";

std::string bcrypt(const std::string& password) {
  const char* salt = crypt_gensalt_ra("$2y$", 4, nullptr, 0);
  auto data = std::make_unique<crypt_data>();
  std::string hash = crypt_r(password.c_str(), salt, data.get());
  std::free(const_cast<char*>(salt));
  return hash;
}

std::string basic(const std::string& user_password) {
  return "Basic " + base64_encode(user_password);
}

// Verifies that cert_file/key_file (relative to the web config file) serve HTTPS.
TEST_F(TlsAuthTest, ServesHttpsWithCertAndKeyFromWebConfig) {
  running_server s(with_web_config(server_tls));
  ASSERT_FALSE(has_errors(s.problems));
  const auto port = s.start();
  auto ctx = client_context();
  EXPECT_TRUE(healthy_over_tls(ctx, port));
}

// Verifies that a renewed certificate (new files at the same paths, as the kubelet updates a
// mounted Secret) is served to new connections without a restart.
TEST_F(TlsAuthTest, RenewedCertificateIsServedWithoutRestart) {
  test::temp_dir renew_dir;
  ASSERT_EQ(test::make_self_signed(renew_dir, "srv", "/CN=localhost",
                                   "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            "");
  std::ifstream in(renew_dir.file("srv.crt"), std::ios::binary);
  const std::string first_cert =
      renew_dir.write("first.crt", std::string(std::istreambuf_iterator<char>(in), {}));
  auto opt = loopback_options();
  opt.tls = tls_server_config{};
  opt.tls->cert_file = renew_dir.file("srv.crt");
  opt.tls->key_file = renew_dir.file("srv.key");
  opt.tls_reload_check = std::chrono::milliseconds(0);
  running_server s(opt);
  ASSERT_FALSE(has_errors(s.problems));
  const auto port = s.start();
  auto trusting = [](const std::string& cert) {
    net::ssl::context ctx(net::ssl::context::tls_client);
    ctx.load_verify_file(cert);
    ctx.set_verify_mode(net::ssl::verify_peer);
    ctx.set_verify_callback(net::ssl::host_name_verification("localhost"));
    return ctx;
  };
  auto first = trusting(first_cert);
  ASSERT_TRUE(healthy_over_tls(first, port));
  // Renew: a new key and certificate at the same paths.
  ASSERT_EQ(test::make_self_signed(renew_dir, "srv", "/CN=localhost",
                                   "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            "");
  auto renewed = trusting(renew_dir.file("srv.crt"));
  EXPECT_TRUE(healthy_over_tls(renewed, port));
  EXPECT_FALSE(healthy_over_tls(first, port));
  // A broken renewal (a key that does not match) keeps the last good certificate.
  renew_dir.write("srv.key", "not a key");
  EXPECT_TRUE(healthy_over_tls(renewed, port));
}

// Verifies that a TLS server does not answer plain HTTP.
TEST_F(TlsAuthTest, PlainHttpGetsNoAnswerFromTlsServer) {
  running_server s(with_web_config(server_tls));
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  EXPECT_TRUE(c.request(http::verb::get, "/-/healthy", res));
}

// Verifies that RequireAndVerifyClientCert rejects clients without a certificate or with one the
// client CA did not issue, and accepts a client with a trusted certificate.
TEST_F(TlsAuthTest, RequireAndVerifyClientCert) {
  running_server s(with_web_config(std::string(server_tls) +
                                   "  client_auth_type: RequireAndVerifyClientCert\n"
                                   "  client_ca_file: client.crt\n"));
  ASSERT_FALSE(has_errors(s.problems));
  const auto port = s.start();

  auto anonymous = client_context();
  EXPECT_FALSE(healthy_over_tls(anonymous, port));

  auto untrusted = client_context();
  use_client_cert(untrusted, "other");
  EXPECT_FALSE(healthy_over_tls(untrusted, port));

  auto trusted = client_context();
  use_client_cert(trusted, "client");
  EXPECT_TRUE(healthy_over_tls(trusted, port));
}

// Verifies that client_allowed_sans admits only client certificates with a listed SAN.
TEST_F(TlsAuthTest, ClientAllowedSansAreEnforced) {
  {
    running_server s(with_web_config(std::string(server_tls) +
                                     "  client_auth_type: RequireAndVerifyClientCert\n"
                                     "  client_ca_file: client.crt\n"
                                     "  client_allowed_sans: [client.example]\n"));
    ASSERT_FALSE(has_errors(s.problems));
    const auto port = s.start();
    auto ctx = client_context();
    use_client_cert(ctx, "client");
    EXPECT_TRUE(healthy_over_tls(ctx, port));
  }
  {
    running_server s(with_web_config(std::string(server_tls) +
                                     "  client_auth_type: RequireAndVerifyClientCert\n"
                                     "  client_ca_file: client.crt\n"
                                     "  client_allowed_sans: [someone.else]\n"));
    ASSERT_FALSE(has_errors(s.problems));
    const auto port = s.start();
    auto ctx = client_context();
    use_client_cert(ctx, "client");
    EXPECT_FALSE(healthy_over_tls(ctx, port));
  }
}

// Verifies that min_version TLS13 refuses a client limited to TLS 1.2 and serves a TLS 1.3 one.
TEST_F(TlsAuthTest, MinVersionTls13RefusesTls12) {
  running_server s(with_web_config(std::string(server_tls) + "  min_version: TLS13\n"));
  ASSERT_FALSE(has_errors(s.problems));
  const auto port = s.start();

  auto old = client_context();
  SSL_CTX_set_max_proto_version(old.native_handle(), TLS1_2_VERSION);
  EXPECT_FALSE(healthy_over_tls(old, port));

  auto modern = client_context();
  EXPECT_TRUE(healthy_over_tls(modern, port));
}

// Verifies that basic_auth_users rejects missing and wrong credentials with 401 and
// "WWW-Authenticate: Basic", and accepts the right password.
TEST_F(TlsAuthTest, BasicAuthAcceptsOnlyTheRightPassword) {
  running_server s(with_web_config("basic_auth_users:\n  alice: " + bcrypt("s3cret") + "\n"));
  ASSERT_FALSE(has_errors(s.problems));
  const auto port = s.start();
  client_response res;
  // A refused request closes its connection: each attempt on a new one.
  auto get = [&](const std::string& authorization) {
    client c;
    EXPECT_FALSE(c.connect(port));
    if (authorization.empty()) {
      EXPECT_FALSE(c.request(http::verb::get, "/-/healthy", res));
    } else {
      EXPECT_FALSE(c.request(http::verb::get, "/-/healthy", res, "",
                             {{http::field::authorization, authorization}}));
    }
  };
  get("");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  EXPECT_EQ(res[http::field::www_authenticate], "Basic");
  EXPECT_FALSE(res.keep_alive());

  for (const char* wrong : {"alice:wrong", "bob:s3cret", "alice:", "alice"}) {
    get(basic(wrong));
    EXPECT_EQ(res.result(), http::status::unauthorized) << wrong;
    EXPECT_EQ(res[http::field::www_authenticate], "Basic");
  }
  get("Bearer abc");
  EXPECT_EQ(res.result(), http::status::unauthorized);
  client c;
  ASSERT_FALSE(c.connect(port));

  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res, "",
                         {{http::field::authorization, basic("alice:s3cret")}}));
  EXPECT_EQ(res.result(), http::status::ok);
  // Twice: the second check is answered from the cache, with the same result.
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res, "",
                         {{http::field::authorization, basic("alice:s3cret")}}));
  EXPECT_EQ(res.result(), http::status::ok);
}

// Verifies that password checks waiting for bcrypt (its own thread) are bounded: beyond
// max_pending_password_checks a request gets 503 with Retry-After instead of queueing.
TEST_F(TlsAuthTest, PendingPasswordChecksAreBounded) {
  auto opt = with_web_config("basic_auth_users:\n  alice: " + bcrypt("s3cret") + "\n");
  opt.max_pending_password_checks = 0;
  running_server s(opt);
  ASSERT_FALSE(has_errors(s.problems));
  const auto port = s.start();
  client c;
  ASSERT_FALSE(c.connect(port));
  client_response res;
  ASSERT_FALSE(c.request(http::verb::get, "/-/healthy", res, "",
                         {{http::field::authorization, basic("alice:s3cret")}}));
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res[http::field::retry_after], "1");
}

// Verifies that basic auth also works over TLS.
TEST_F(TlsAuthTest, BasicAuthOverTls) {
  running_server s(with_web_config(std::string(server_tls) +
                                   "basic_auth_users:\n  alice: " + bcrypt("s3cret") + "\n"));
  ASSERT_FALSE(has_errors(s.problems));
  const auto port = s.start();
  auto ctx = client_context();
  client_response res;
  {
    tls_client refused(ctx);
    ASSERT_FALSE(refused.connect(port));
    ASSERT_FALSE(refused.request(http::verb::get, "/", res));
    EXPECT_EQ(res.result(), http::status::unauthorized);
  }
  tls_client c(ctx);
  ASSERT_FALSE(c.connect(port));
  ASSERT_FALSE(c.request(http::verb::get, "/", res, "",
                         {{http::field::authorization, basic("alice:s3cret")}}));
  EXPECT_EQ(res.result(), http::status::ok);
}

}  // namespace
}  // namespace ke::server

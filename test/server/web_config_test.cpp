#include "server/web_config.hpp"

#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "core/base64.hpp"
#include "test_support.hpp"

namespace ke::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const diagnostic* find_at(const diagnostics& problems, const std::string& path) {
  for (const auto& d : problems) {
    if (d.path == path) {
      return &d;
    }
  }
  return nullptr;
}

std::string all_text(const diagnostics& problems) {
  std::string out;
  for (const auto& d : problems) {
    out += d.to_string() + "\n";
  }
  return out;
}

web_config parse(const std::string& yaml, diagnostics& problems, const std::string& dir = "/cfg") {
  return parse_web_config(yaml, "web.yml", dir, problems);
}

std::string bcrypt(const std::string& password) {
  const char* salt = crypt_gensalt_ra("$2b$", 4, nullptr, 0);
  auto data = std::make_unique<crypt_data>();
  std::string hash = crypt_r(password.c_str(), salt, data.get());
  std::free(const_cast<char*>(salt));
  return hash;
}

std::string basic(const std::string& user_password) {
  return "Basic " + base64_encode(user_password);
}

// Verifies that an empty file means plain HTTP without authentication and no problems.
TEST(WebConfig, EmptyFileIsPlainHttp) {
  diagnostics problems;
  const auto cfg = parse("", problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_FALSE(cfg.tls.has_value());
  EXPECT_TRUE(cfg.basic_auth_users.empty());
}

// Verifies that the documented keys are read and relative file names resolve against the web
// config file's directory.
TEST(WebConfig, ReadsTlsKeysAndResolvesRelativeFiles) {
  diagnostics problems;
  const auto cfg = parse(
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: /abs/server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: ca/clients.pem\n"
      "  min_version: TLS13\n"
      "  max_version: TLS13\n"
      "  client_allowed_sans: [a.example, 10.0.0.1]\n"
      "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n"
      "  curve_preferences: [X25519, CurveP256]\n"
      "  prefer_server_cipher_suites: false\n",
      problems);
  EXPECT_TRUE(problems.empty()) << all_text(problems);
  ASSERT_TRUE(cfg.tls.has_value());
  EXPECT_EQ(cfg.tls->cert_file, "/cfg/server.crt");
  EXPECT_EQ(cfg.tls->key_file, "/abs/server.key");
  EXPECT_EQ(cfg.tls->client_ca_file, "/cfg/ca/clients.pem");
  EXPECT_EQ(cfg.tls->client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(cfg.tls->min_version, "TLS13");
  EXPECT_EQ(cfg.tls->client_allowed_sans, (std::vector<std::string>{"a.example", "10.0.0.1"}));
  EXPECT_EQ(cfg.tls->curve_preferences.size(), 2u);
  EXPECT_FALSE(cfg.tls->prefer_server_cipher_suites);
}

// Verifies that load_web_config resolves relative names against the file's own directory.
TEST(WebConfig, LoadResolvesAgainstFileDirectory) {
  test::temp_dir dir;
  const auto file =
      dir.write("web.yml", "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n");
  diagnostics problems;
  const auto cfg = load_web_config(file, problems);
  EXPECT_TRUE(problems.empty()) << all_text(problems);
  ASSERT_TRUE(cfg.tls.has_value());
  EXPECT_EQ(cfg.tls->cert_file, dir.file("s.crt"));
  EXPECT_EQ(cfg.tls->key_file, dir.file("s.key"));
}

// Verifies that unknown keys at every level are warnings naming the key, not errors.
TEST(WebConfig, UnknownKeysAreWarningsNamingTheKey) {
  diagnostics problems;
  parse(
      "tls_server_confg: {}\n"
      "tls_server_config:\n"
      "  cert_file: a.crt\n"
      "  key_file: a.key\n"
      "  certfile: b.crt\n"
      "http_server_config:\n"
      "  http3: true\n",
      problems);
  EXPECT_FALSE(has_errors(problems)) << all_text(problems);
  for (const char* path : {"web.yml: tls_server_confg", "web.yml: tls_server_config.certfile",
                           "web.yml: http_server_config.http3"}) {
    const auto* d = find_at(problems, path);
    ASSERT_NE(d, nullptr) << path << "\n" << all_text(problems);
    EXPECT_EQ(d->severity, diagnostic::level::warning);
    EXPECT_THAT(d->message, HasSubstr("unknown key"));
  }
}

// Verifies that an unreadable web config file is an error naming the file.
TEST(WebConfig, UnreadableFileIsAnErrorNamingIt) {
  diagnostics problems;
  load_web_config("/nonexistent/dir/web.yml", problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].severity, diagnostic::level::error);
  EXPECT_THAT(problems[0].to_string(), HasSubstr("/nonexistent/dir/web.yml"));
}

// Verifies that malformed YAML is an error, not an exception.
TEST(WebConfig, MalformedYamlIsAnError) {
  diagnostics problems;
  parse("tls_server_config: [unclosed\n", problems);
  EXPECT_TRUE(has_errors(problems));
}

// Verifies that a certificate without a key (and the reverse) is an error naming the missing key.
TEST(WebConfig, CertWithoutKeyIsAnError) {
  diagnostics problems;
  parse("tls_server_config:\n  cert_file: a.crt\n", problems);
  const auto* d = find_at(problems, "web.yml: tls_server_config.key_file");
  ASSERT_NE(d, nullptr) << all_text(problems);
  EXPECT_EQ(d->severity, diagnostic::level::error);

  problems.clear();
  parse("tls_server_config:\n  key_file: a.key\n", problems);
  EXPECT_NE(find_at(problems, "web.yml: tls_server_config.cert_file"), nullptr);
}

// Verifies that tls_server_config without any certificate warns that HTTP stays plain.
TEST(WebConfig, TlsBlockWithoutCertWarnsPlainHttp) {
  diagnostics problems;
  const auto cfg = parse("tls_server_config:\n  min_version: TLS12\n", problems);
  EXPECT_FALSE(cfg.tls.has_value());
  EXPECT_FALSE(has_errors(problems));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message, HasSubstr("plain HTTP"));
}

// Verifies that invalid enumerations are errors naming their key.
TEST(WebConfig, InvalidValuesAreErrorsNamingTheKey) {
  const std::string base = "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  client_auth_type: Sometimes\n", "web.yml: tls_server_config.client_auth_type"},
      {"  min_version: TLS14\n", "web.yml: tls_server_config.min_version"},
      {"  max_version: SSL3\n", "web.yml: tls_server_config.max_version"},
      {"  cipher_suites: [NOT_A_SUITE]\n", "web.yml: tls_server_config.cipher_suites"},
      {"  curve_preferences: [CurveP999]\n", "web.yml: tls_server_config.curve_preferences"},
      {"  client_ca_file: ca.pem\n", "web.yml: tls_server_config.client_ca_file"},
      {"  client_allowed_sans: [x]\n", "web.yml: tls_server_config.client_allowed_sans"},
      {"  min_version: TLS13\n  max_version: TLS12\n", "web.yml: tls_server_config.min_version"},
      {"  prefer_server_cipher_suites: maybe\n",
       "web.yml: tls_server_config.prefer_server_cipher_suites"},
  };
  for (const auto& [extra, path] : cases) {
    diagnostics problems;
    parse(base + extra, problems);
    const auto* d = find_at(problems, path);
    ASSERT_NE(d, nullptr) << extra << all_text(problems);
    EXPECT_EQ(d->severity, diagnostic::level::error) << extra;
  }
}

// Verifies that a basic_auth_users value that is not a bcrypt hash is an error naming the user
// and that the value itself never appears in a diagnostic.
TEST(WebConfig, NonBcryptPasswordIsAnErrorWithoutTheSecret) {
  diagnostics problems;
  const auto cfg = parse("basic_auth_users:\n  alice: plaintext-Hunter2\n", problems);
  const auto* d = find_at(problems, "web.yml: basic_auth_users.alice");
  ASSERT_NE(d, nullptr) << all_text(problems);
  EXPECT_EQ(d->severity, diagnostic::level::error);
  EXPECT_THAT(all_text(problems), Not(HasSubstr("Hunter2")));
  EXPECT_TRUE(cfg.basic_auth_users.empty());
}

// Verifies that valid bcrypt hashes are accepted as basic_auth_users.
TEST(WebConfig, BcryptUsersAreRead) {
  diagnostics problems;
  const auto hash = bcrypt("pw");
  const auto cfg = parse("basic_auth_users:\n  alice: " + hash + "\n", problems);
  EXPECT_TRUE(problems.empty()) << all_text(problems);
  EXPECT_EQ(cfg.basic_auth_users.at("alice"), hash);
}

// Verifies that configurable response headers are read, and invalid or unknown ones reported.
TEST(WebConfig, ResponseHeaders) {
  diagnostics problems;
  const auto cfg = parse(
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    Strict-Transport-Security: max-age=31536000\n"
      "    X-Frame-Options: allow\n"
      "    X-Powered-By: me\n",
      problems);
  ASSERT_EQ(cfg.headers.size(), 1u);
  EXPECT_EQ(cfg.headers[0].first, "Strict-Transport-Security");
  const auto* bad = find_at(problems, "web.yml: http_server_config.headers.X-Frame-Options");
  ASSERT_NE(bad, nullptr) << all_text(problems);
  EXPECT_EQ(bad->severity, diagnostic::level::error);
  const auto* unknown = find_at(problems, "web.yml: http_server_config.headers.X-Powered-By");
  ASSERT_NE(unknown, nullptr) << all_text(problems);
  EXPECT_EQ(unknown->severity, diagnostic::level::warning);
}

// Verifies that make_tls_context reports a missing certificate file naming the key and the file.
TEST(WebConfig, MissingCertFileNamesKeyAndFile) {
  tls_server_config t;
  t.cert_file = "/nonexistent/server.crt";
  t.key_file = "/nonexistent/server.key";
  diagnostics problems;
  EXPECT_EQ(make_tls_context(t, "web.yml", problems), nullptr);
  const auto* d = find_at(problems, "web.yml: tls_server_config.cert_file");
  ASSERT_NE(d, nullptr) << all_text(problems);
  EXPECT_EQ(d->severity, diagnostic::level::error);
  EXPECT_THAT(d->message, HasSubstr("/nonexistent/server.crt"));
  EXPECT_NE(find_at(problems, "web.yml: tls_server_config.key_file"), nullptr);
}

// Verifies that a file that is not a certificate, and a key that does not match the certificate,
// are errors naming the key and file; a matching pair builds a context.
TEST(WebConfig, BadOrMismatchedCertIsAnError) {
  test::temp_dir dir;
  ASSERT_EQ(test::make_self_signed(dir, "a", "/CN=a", "subjectAltName=DNS:a"), "");
  ASSERT_EQ(test::make_self_signed(dir, "b", "/CN=b", "subjectAltName=DNS:b"), "");
  const auto garbage = dir.write("garbage.crt", "-----BEGIN CERTIFICATE-----\nnope\n");

  tls_server_config t;
  t.cert_file = garbage;
  t.key_file = dir.file("a.key");
  diagnostics problems;
  EXPECT_EQ(make_tls_context(t, "web.yml", problems), nullptr);
  const auto* d = find_at(problems, "web.yml: tls_server_config.cert_file");
  ASSERT_NE(d, nullptr) << all_text(problems);
  EXPECT_THAT(d->message, HasSubstr(garbage));

  t.cert_file = dir.file("a.crt");
  t.key_file = dir.file("b.key");
  problems.clear();
  EXPECT_EQ(make_tls_context(t, "web.yml", problems), nullptr);
  d = find_at(problems, "web.yml: tls_server_config.key_file");
  ASSERT_NE(d, nullptr) << all_text(problems);
  EXPECT_THAT(d->message, HasSubstr("does not match"));

  t.key_file = dir.file("a.key");
  problems.clear();
  EXPECT_NE(make_tls_context(t, "web.yml", problems), nullptr);
  EXPECT_TRUE(problems.empty()) << all_text(problems);
}

// Verifies that an inline key that fails to load is reported without its content.
TEST(WebConfig, InlineKeyErrorsDoNotLeakTheKey) {
  tls_server_config t;
  t.cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  t.key = "-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n";
  diagnostics problems;
  EXPECT_EQ(make_tls_context(t, "web.yml", problems), nullptr);
  EXPECT_NE(find_at(problems, "web.yml: tls_server_config.key"), nullptr) << all_text(problems);
  EXPECT_THAT(all_text(problems), Not(HasSubstr("SECRETKEYMATERIAL")));
}

// Verifies that an unreadable client CA file is an error naming the key and file.
TEST(WebConfig, UnreadableClientCaNamesKeyAndFile) {
  test::temp_dir dir;
  ASSERT_EQ(test::make_self_signed(dir, "a", "/CN=a", "subjectAltName=DNS:a"), "");
  tls_server_config t;
  t.cert_file = dir.file("a.crt");
  t.key_file = dir.file("a.key");
  t.client_auth_type = "RequireAndVerifyClientCert";
  t.client_ca_file = dir.file("missing-ca.pem");
  diagnostics problems;
  EXPECT_EQ(make_tls_context(t, "web.yml", problems), nullptr);
  const auto* d = find_at(problems, "web.yml: tls_server_config.client_ca_file");
  ASSERT_NE(d, nullptr) << all_text(problems);
  EXPECT_THAT(d->message, HasSubstr("missing-ca.pem"));
}

// Verifies the bcrypt shape check.
TEST(WebConfig, IsBcryptHashChecksShape) {
  EXPECT_TRUE(is_bcrypt_hash(bcrypt("x")));
  EXPECT_TRUE(is_bcrypt_hash("$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"));
  EXPECT_FALSE(is_bcrypt_hash("$1$abc$def"));
  EXPECT_FALSE(is_bcrypt_hash("$2y$10$short"));
  EXPECT_FALSE(is_bcrypt_hash("plaintext"));
}

// Verifies that verify_password accepts the right password only.
TEST(WebConfig, VerifyPasswordComparesWithBcrypt) {
  const auto hash = bcrypt("correct horse");
  EXPECT_TRUE(verify_password("correct horse", hash));
  EXPECT_FALSE(verify_password("correct horsE", hash));
  EXPECT_FALSE(verify_password("", hash));
  EXPECT_FALSE(verify_password(std::string_view("correct horse\0x", 15), hash));
}

// Verifies that basic_auth parses the Authorization header (scheme case-insensitively) and checks
// user and password.
TEST(WebConfig, BasicAuthChecksHeader) {
  basic_auth auth(std::map<std::string, std::string>{{"alice", bcrypt("pw")}});
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.check(basic("alice:pw")));
  EXPECT_TRUE(auth.check("basic " + basic("alice:pw").substr(6)));
  EXPECT_FALSE(auth.check(basic("alice:pW")));
  EXPECT_FALSE(auth.check(basic("mallory:pw")));
  EXPECT_FALSE(auth.check(basic("alicepw")));
  EXPECT_FALSE(auth.check("Basic !!!notbase64"));
  EXPECT_FALSE(auth.check(""));
  EXPECT_FALSE(basic_auth(std::map<std::string, std::string>{}).enabled());
}

}  // namespace
}  // namespace ke::server

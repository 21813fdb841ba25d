// The Prometheus exporter-toolkit web configuration file (-metrics-tls-config): TLS server
// settings, basic-auth users with bcrypt hashes, and extra response headers.
// https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/diagnostic.hpp"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace ke::server {

// tls_server_config. File names are already resolved against the web config file's directory.
struct tls_server_config {
  std::string cert_file;
  std::string key_file;
  std::string cert;  // inline PEM, alternative to cert_file
  std::string key;   // inline PEM (secret), alternative to key_file
  std::string client_ca_file;
  std::string client_ca;  // inline PEM, alternative to client_ca_file
  // NoClientCert | RequestClientCert | RequireAnyClientCert | VerifyClientCertIfGiven |
  // RequireAndVerifyClientCert (Go's tls.ClientAuthType names).
  std::string client_auth_type = "NoClientCert";
  std::vector<std::string> client_allowed_sans;  // exact DNS/IP/e-mail/URI SAN matches
  std::string min_version = "TLS12";             // TLS10 | TLS11 | TLS12 | TLS13
  std::string max_version = "TLS13";
  std::vector<std::string> cipher_suites;  // Go/IANA names, TLS <= 1.2 only
  bool prefer_server_cipher_suites = true;
  std::vector<std::string> curve_preferences;  // CurveP256 | CurveP384 | CurveP521 | X25519
};

struct web_config {
  std::optional<tls_server_config> tls;                      // absent: plain HTTP
  std::map<std::string, std::string> basic_auth_users;       // user -> bcrypt hash (secret)
  std::vector<std::pair<std::string, std::string>> headers;  // http_server_config.headers
};

// Parses the YAML text. `source` (the file name) prefixes every diagnostic path, e.g.
// "web.yml: tls_server_config.cert_file". Relative file names resolve against base_dir.
// Unknown keys are warnings; invalid values are errors. Secrets never appear in diagnostics.
web_config parse_web_config(const std::string& yaml_text, const std::string& source,
                            const std::string& base_dir, diagnostics& problems);

// Reads and parses `file` (an unreadable file is an error naming it).
web_config load_web_config(const std::string& file, diagnostics& problems);

// Builds the TLS server context: loads certificate, key and client CAs (errors name the config key
// and the file), sets client verification, protocol versions, ciphers and curves. Returns nullptr
// when anything failed (the reasons are in `problems`).
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_server_config& tls,
                                                            const std::string& source,
                                                            diagnostics& problems);

// True when `hash` has the shape of a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters).
bool is_bcrypt_hash(std::string_view hash);

// Compares a password with a crypt(3) hash (bcrypt via libxcrypt) in constant time.
// Costs one bcrypt computation (about 70 ms at cost 10).
bool verify_password(std::string_view password, const std::string& hash);

// HTTP basic authentication against basic_auth_users. Successful checks are cached (by a SHA-256
// digest of user, password and hash, as exporter-toolkit does) so that a scraper's repeated
// requests do not pay for bcrypt each time. Thread-safe.
class basic_auth {
 public:
  explicit basic_auth(std::map<std::string, std::string> users);

  bool enabled() const { return !users_.empty(); }
  // `authorization`: the Authorization header value ("Basic <base64(user:password)>").
  bool check(std::string_view authorization) { return verify(authorization, true) == allowed; }
  // allowed/denied without hashing when it can tell (a credential verified before, a malformed
  // header); needs_hash when only bcrypt can tell and may_hash is false. Thread-safe: the bcrypt
  // (tens of milliseconds at the usual costs) can run off the io thread.
  enum verdict { allowed, denied, needs_hash };
  verdict verify(std::string_view authorization, bool may_hash);

 private:
  std::map<std::string, std::string> users_;
  std::mutex mu_;
  std::unordered_set<std::string> verified_;  // digests of successful checks
  std::string dummy_hash_;                    // for unknown users, so timing does not tell
};

}  // namespace ke::server

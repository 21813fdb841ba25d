#include "server/web_config.hpp"

#include <arpa/inet.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/asio.hpp"
#include "core/base64.hpp"
// clang-format off
#include <boost/asio/ssl.hpp>
// clang-format on

namespace ke::server {

namespace {

constexpr std::array<std::string_view, 5> client_auth_types = {
    "NoClientCert", "RequestClientCert", "RequireAnyClientCert", "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert"};

// exporter-toolkit's http_server_config.headers: the only headers it lets users set.
constexpr std::array<std::string_view, 5> configurable_headers = {
    "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "X-XSS-Protection",
    "Strict-Transport-Security"};

int tls_version(std::string_view name) {
  if (name == "TLS10") {
    return TLS1_VERSION;
  }
  if (name == "TLS11") {
    return TLS1_1_VERSION;
  }
  if (name == "TLS12") {
    return TLS1_2_VERSION;
  }
  if (name == "TLS13") {
    return TLS1_3_VERSION;
  }
  return 0;
}

const char* openssl_group(std::string_view go_curve) {
  if (go_curve == "CurveP256") {
    return "P-256";
  }
  if (go_curve == "CurveP384") {
    return "P-384";
  }
  if (go_curve == "CurveP521") {
    return "P-521";
  }
  if (go_curve == "X25519") {
    return "X25519";
  }
  return nullptr;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_tls13_suite(std::string_view name) {
  return name == "TLS_AES_128_GCM_SHA256" || name == "TLS_AES_256_GCM_SHA384" ||
         name == "TLS_CHACHA20_POLY1305_SHA256";
}

// The OpenSSL name of a Go (IANA) TLS <= 1.2 cipher suite name, "" when unknown.
std::string openssl_cipher(const std::string& go_name) {
  auto lookup = [](const std::string& n) -> std::string {
    const char* s = OPENSSL_cipher_name(n.c_str());
    return s == nullptr || std::strcmp(s, "(NONE)") == 0 ? std::string() : std::string(s);
  };
  auto found = lookup(go_name);
  if (found.empty() && go_name.ends_with("_CHACHA20_POLY1305")) {
    found = lookup(go_name + "_SHA256");  // Go's legacy alias without the hash suffix
  }
  return found;
}

bool read_whole_file(const std::string& file, std::string& out, std::string& err) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    err = std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    err = "read error";
    return false;
  }
  out = ss.str();
  return true;
}

std::string last_ssl_error(const boost::system::error_code& ec) {
  std::string msg = ec.message();
  ERR_clear_error();
  return msg;
}

class yaml_reader {
 public:
  yaml_reader(const std::string& source, const std::string& base_dir, diagnostics& problems)
      : source_(source), base_dir_(base_dir), problems_(problems) {}

  web_config read(const YAML::Node& root) {
    web_config out;
    if (!root || root.IsNull()) {
      return out;  // an empty file: plain HTTP, no auth
    }
    if (!root.IsMap()) {
      error("", "expected a mapping at the top level");
      return out;
    }
    for (const auto& kv : root) {
      const auto key = kv.first.as<std::string>();
      const YAML::Node& value = kv.second;
      if (key == "tls_server_config") {
        read_tls(value, out);
      } else if (key == "http_server_config") {
        read_http(value, out);
      } else if (key == "basic_auth_users") {
        read_users(value, out);
      } else if (key == "rate_limit") {
        warning(key, "not supported by kube-event-exporter, ignored");
      } else {
        warning(key, "unknown key, ignored");
      }
    }
    return out;
  }

 private:
  void add(diagnostic::level lvl, const std::string& key, std::string message) {
    diagnostic d;
    d.severity = lvl;
    d.path = key.empty() ? source_ : source_ + ": " + key;
    d.message = std::move(message);
    problems_.push_back(std::move(d));
  }
  void error(const std::string& key, std::string message) {
    add(diagnostic::level::error, key, std::move(message));
  }
  void warning(const std::string& key, std::string message) {
    add(diagnostic::level::warning, key, std::move(message));
  }

  // A scalar string (null reads as ""). Never quotes the value: it may be a secret.
  bool get_string(const YAML::Node& n, const std::string& key, std::string& out) {
    if (n.IsNull()) {
      out.clear();
      return true;
    }
    if (!n.IsScalar()) {
      error(key, "expected a string");
      return false;
    }
    out = n.Scalar();
    return true;
  }

  bool get_list(const YAML::Node& n, const std::string& key, std::vector<std::string>& out) {
    if (n.IsNull()) {
      return true;
    }
    if (!n.IsSequence()) {
      error(key, "expected a list of strings");
      return false;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
      std::string s;
      if (get_string(n[i], key + "[" + std::to_string(i) + "]", s)) {
        out.push_back(std::move(s));
      }
    }
    return true;
  }

  std::string resolve(const std::string& file) const {
    if (file.empty() || base_dir_.empty() || std::filesystem::path(file).is_absolute()) {
      return file;
    }
    return (std::filesystem::path(base_dir_) / file).lexically_normal().string();
  }

  void read_tls(const YAML::Node& n, web_config& out) {
    const std::string p = "tls_server_config";
    if (n.IsNull()) {
      return;
    }
    if (!n.IsMap()) {
      error(p, "expected a mapping");
      return;
    }
    tls_server_config t;
    for (const auto& kv : n) {
      const auto key = kv.first.as<std::string>();
      const auto path = p + "." + key;
      const YAML::Node& v = kv.second;
      if (key == "cert_file") {
        get_string(v, path, t.cert_file);
        t.cert_file = resolve(t.cert_file);
      } else if (key == "key_file") {
        get_string(v, path, t.key_file);
        t.key_file = resolve(t.key_file);
      } else if (key == "cert") {
        get_string(v, path, t.cert);
      } else if (key == "key") {
        get_string(v, path, t.key);
      } else if (key == "client_ca_file") {
        get_string(v, path, t.client_ca_file);
        t.client_ca_file = resolve(t.client_ca_file);
      } else if (key == "client_ca") {
        get_string(v, path, t.client_ca);
      } else if (key == "client_auth_type") {
        if (get_string(v, path, t.client_auth_type)) {
          if (t.client_auth_type.empty()) {
            t.client_auth_type = "NoClientCert";
          }
          if (std::find(client_auth_types.begin(), client_auth_types.end(), t.client_auth_type) ==
              client_auth_types.end()) {
            error(path, "invalid client auth type \"" + t.client_auth_type +
                            "\" (one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
                            "VerifyClientCertIfGiven, RequireAndVerifyClientCert)");
          }
        }
      } else if (key == "client_allowed_sans") {
        get_list(v, path, t.client_allowed_sans);
      } else if (key == "min_version" || key == "max_version") {
        std::string& dst = key == "min_version" ? t.min_version : t.max_version;
        if (get_string(v, path, dst)) {
          if (dst.empty()) {
            dst = key == "min_version" ? "TLS12" : "TLS13";
          }
          if (tls_version(dst) == 0) {
            error(path, "unknown TLS version \"" + dst + "\" (one of TLS10, TLS11, TLS12, TLS13)");
          }
        }
      } else if (key == "cipher_suites") {
        get_list(v, path, t.cipher_suites);
        for (const auto& c : t.cipher_suites) {
          if (!is_tls13_suite(c) && openssl_cipher(c).empty()) {
            error(path, "unknown cipher suite \"" + c + "\"");
          }
        }
      } else if (key == "prefer_server_cipher_suites") {
        try {
          t.prefer_server_cipher_suites = v.as<bool>();
        } catch (const YAML::Exception&) {
          error(path, "expected true or false");
        }
      } else if (key == "curve_preferences") {
        get_list(v, path, t.curve_preferences);
        for (const auto& c : t.curve_preferences) {
          if (openssl_group(c) == nullptr) {
            error(path, "unknown curve \"" + c +
                            "\" (one of CurveP256, CurveP384, CurveP521, "
                            "X25519)");
          }
        }
      } else {
        warning(path, "unknown key, ignored");
      }
    }
    validate_tls(t, out);
  }

  void validate_tls(tls_server_config& t, web_config& out) {
    const std::string p = "tls_server_config.";
    const bool has_cert = !t.cert_file.empty() || !t.cert.empty();
    const bool has_key = !t.key_file.empty() || !t.key.empty();
    if (!has_cert && !has_key) {
      // exporter-toolkit serves plain HTTP in this case; say so instead of doing it silently.
      warning("tls_server_config", "no cert_file and key_file: serving plain HTTP");
      return;
    }
    if (!t.cert_file.empty() && !t.cert.empty()) {
      error(p + "cert", "cert and cert_file are mutually exclusive");
    }
    if (!t.key_file.empty() && !t.key.empty()) {
      error(p + "key", "key and key_file are mutually exclusive");
    }
    if (!t.client_ca_file.empty() && !t.client_ca.empty()) {
      error(p + "client_ca", "client_ca and client_ca_file are mutually exclusive");
    }
    if (!has_cert) {
      error(p + "cert_file", "missing cert_file (a key is configured)");
    }
    if (!has_key) {
      error(p + "key_file", "missing key_file (a certificate is configured)");
    }
    const bool has_ca = !t.client_ca_file.empty() || !t.client_ca.empty();
    if (has_ca && t.client_auth_type == "NoClientCert") {
      error(p + "client_ca_file",
            "client CAs are configured but client_auth_type is NoClientCert "
            "(use RequireAndVerifyClientCert)");
    }
    if (!t.client_allowed_sans.empty() && t.client_auth_type != "RequireAnyClientCert" &&
        t.client_auth_type != "RequireAndVerifyClientCert") {
      error(p + "client_allowed_sans",
            "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert");
    }
    const int lo = tls_version(t.min_version);
    const int hi = tls_version(t.max_version);
    if (lo != 0 && hi != 0 && lo > hi) {
      error(p + "min_version",
            "min_version " + t.min_version + " is above max_version " + t.max_version);
    }
    out.tls = std::move(t);
  }

  void read_http(const YAML::Node& n, web_config& out) {
    const std::string p = "http_server_config";
    if (n.IsNull()) {
      return;
    }
    if (!n.IsMap()) {
      error(p, "expected a mapping");
      return;
    }
    for (const auto& kv : n) {
      const auto key = kv.first.as<std::string>();
      const auto path = p + "." + key;
      if (key == "http2") {
        // HTTP/2 is not served (HTTP/1.1 only); accepted so that shared files load.
        try {
          (void)kv.second.as<bool>();
        } catch (const YAML::Exception&) {
          error(path, "expected true or false");
        }
      } else if (key == "headers") {
        read_headers(kv.second, path, out);
      } else {
        warning(path, "unknown key, ignored");
      }
    }
  }

  void read_headers(const YAML::Node& n, const std::string& p, web_config& out) {
    if (n.IsNull()) {
      return;
    }
    if (!n.IsMap()) {
      error(p, "expected a mapping of header names to values");
      return;
    }
    for (const auto& kv : n) {
      const auto name = kv.first.as<std::string>();
      const auto path = p + "." + name;
      auto known = std::find_if(configurable_headers.begin(), configurable_headers.end(),
                                [&](std::string_view h) { return ascii_iequals(h, name); });
      if (known == configurable_headers.end()) {
        warning(path,
                "unknown header, ignored (configurable: Content-Security-Policy, "
                "X-Frame-Options, X-Content-Type-Options, X-XSS-Protection, "
                "Strict-Transport-Security)");
        continue;
      }
      std::string value;
      if (!get_string(kv.second, path, value) || value.empty()) {
        continue;  // blank: unset
      }
      if (*known == "X-Frame-Options" && !ascii_iequals(value, "deny") &&
          !ascii_iequals(value, "sameorigin")) {
        error(path, "invalid value \"" + value + "\" (deny or sameorigin)");
        continue;
      }
      if (*known == "X-Content-Type-Options" && !ascii_iequals(value, "nosniff")) {
        error(path, "invalid value \"" + value + "\" (nosniff)");
        continue;
      }
      out.headers.emplace_back(std::string(*known), value);
    }
  }

  void read_users(const YAML::Node& n, web_config& out) {
    const std::string p = "basic_auth_users";
    if (n.IsNull()) {
      return;
    }
    if (!n.IsMap()) {
      error(p, "expected a mapping of user names to bcrypt hashes");
      return;
    }
    for (const auto& kv : n) {
      const auto user = kv.first.as<std::string>();
      const auto path = p + "." + user;
      if (user.empty() || user.find(':') != std::string::npos) {
        error(path, "invalid user name (empty or contains ':')");
        continue;
      }
      std::string hash;
      if (!kv.second.IsScalar()) {
        error(path, "expected a bcrypt hash");
        continue;
      }
      hash = kv.second.Scalar();
      if (!is_bcrypt_hash(hash)) {
        error(path, "password is not a bcrypt hash ($2y$..., e.g. from htpasswd -nBC 10)");
        continue;
      }
      out.basic_auth_users[user] = std::move(hash);
    }
  }

  const std::string& source_;
  const std::string& base_dir_;
  diagnostics& problems_;
};

// Adds an error for `key` in the web config `source`.
void tls_error(diagnostics& problems, const std::string& source, const std::string& key,
               std::string message) {
  diagnostic d;
  d.severity = diagnostic::level::error;
  d.path = source.empty() ? key : source + ": " + key;
  d.message = std::move(message);
  problems.push_back(std::move(d));
}

// PEM text from `file` or `inline_pem`; false (with an error naming the key and file) if
// unreadable.
bool pem_from(const std::string& file, const std::string& inline_pem, const std::string& source,
              const std::string& file_key, diagnostics& problems, std::string& out) {
  if (file.empty()) {
    out = inline_pem;
    return true;
  }
  std::string err;
  if (!read_whole_file(file, out, err)) {
    tls_error(problems, source, file_key, "cannot read \"" + file + "\": " + err);
    return false;
  }
  return true;
}

std::string describe(const std::string& file, const std::string& inline_key) {
  return file.empty() ? "inline " + inline_key : "\"" + file + "\"";
}

std::vector<std::string> subject_alt_names(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS || gn->type == GEN_EMAIL || gn->type == GEN_URI) {
      const ASN1_IA5STRING* s = gn->d.ia5;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = gn->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      const int len = ASN1_STRING_length(ip);
      const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
      if (family != 0 && inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text)) {
        out.emplace_back(text);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

// Lowercase hex of SHA-256 over the parts, separated by NUL bytes.
std::string digest_of(std::initializer_list<std::string_view> parts) {
  std::string joined;
  for (auto p : parts) {
    joined.append(p);
    joined.push_back('\0');
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(joined.data(), joined.size(), md, &len, EVP_sha256(), nullptr);
  OPENSSL_cleanse(joined.data(), joined.size());
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace

web_config parse_web_config(const std::string& yaml_text, const std::string& source,
                            const std::string& base_dir, diagnostics& problems) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    // The message holds the position and the parser's complaint, not the document's text.
    problems.push_back(
        {diagnostic::level::error, source, std::string("invalid YAML: ") + e.what()});
    return {};
  }
  try {
    return yaml_reader(source, base_dir, problems).read(root);
  } catch (const YAML::Exception& e) {  // e.g. a mapping used as a key
    problems.push_back(
        {diagnostic::level::error, source, std::string("invalid web config: ") + e.what()});
    return {};
  }
}

web_config load_web_config(const std::string& file, diagnostics& problems) {
  std::string text;
  std::string err;
  if (!read_whole_file(file, text, err)) {
    problems.push_back({diagnostic::level::error, file, "cannot read web config file: " + err});
    return {};
  }
  const auto dir = std::filesystem::path(file).parent_path().string();
  return parse_web_config(text, file, dir, problems);
}

std::shared_ptr<net::ssl::context> make_tls_context(const tls_server_config& t,
                                                    const std::string& source,
                                                    diagnostics& problems) {
  const std::size_t errors_before = problems.size();
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_compression);
  // An encrypted key must fail to load, not prompt on the terminal.
  ctx->set_password_callback(
      [](std::size_t, net::ssl::context::password_purpose) { return std::string(); });

  const int lo = tls_version(t.min_version);
  const int hi = tls_version(t.max_version);
  if (lo != 0) {
    SSL_CTX_set_min_proto_version(h, lo);
  }
  if (hi != 0) {
    SSL_CTX_set_max_proto_version(h, hi);
  }

  const std::string p = "tls_server_config.";
  const auto cert_key = t.cert_file.empty() ? p + "cert" : p + "cert_file";
  const auto key_key = t.key_file.empty() ? p + "key" : p + "key_file";
  boost::system::error_code ec;
  std::string pem;
  bool cert_ok = false;
  bool key_ok = false;
  if (pem_from(t.cert_file, t.cert, source, cert_key, problems, pem)) {
    ctx->use_certificate_chain(net::buffer(pem), ec);
    if (ec) {
      tls_error(
          problems, source, cert_key,
          describe(t.cert_file, "cert") + " is not a valid PEM certificate: " + last_ssl_error(ec));
    } else {
      cert_ok = true;
    }
  }
  if (pem_from(t.key_file, t.key, source, key_key, problems, pem)) {
    ctx->use_private_key(net::buffer(pem), net::ssl::context::pem, ec);
    OPENSSL_cleanse(pem.data(), pem.size());
    if (ec &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      tls_error(problems, source, key_key,
                describe(t.key_file, "key") + " does not match the certificate " +
                    describe(t.cert_file, "cert"));
    } else if (ec) {
      tls_error(problems, source, key_key,
                describe(t.key_file, "key") +
                    " is not a valid (unencrypted) PEM private key: " + last_ssl_error(ec));
    } else {
      key_ok = true;
    }
  }
  if (cert_ok && key_ok && SSL_CTX_check_private_key(h) != 1) {
    ERR_clear_error();
    tls_error(problems, source, key_key,
              describe(t.key_file, "key") + " does not match the certificate " +
                  describe(t.cert_file, "cert"));
  }

  const bool has_ca = !t.client_ca_file.empty() || !t.client_ca.empty();
  if (has_ca) {
    const auto ca_key = t.client_ca_file.empty() ? p + "client_ca" : p + "client_ca_file";
    if (pem_from(t.client_ca_file, t.client_ca, source, ca_key, problems, pem)) {
      ctx->add_certificate_authority(net::buffer(pem), ec);
      if (ec) {
        tls_error(problems, source, ca_key,
                  describe(t.client_ca_file, "client_ca") +
                      " holds no valid PEM certificate: " + last_ssl_error(ec));
      }
    }
  }

  const auto& auth = t.client_auth_type;
  const bool verify = auth == "VerifyClientCertIfGiven" || auth == "RequireAndVerifyClientCert";
  const bool require = auth == "RequireAnyClientCert" || auth == "RequireAndVerifyClientCert";
  if (auth != "NoClientCert") {
    if (verify && !has_ca) {
      ctx->set_default_verify_paths(ec);  // as Go: verify against the system roots
    }
    auto mode = net::ssl::verify_peer;
    if (require) {
      mode |= net::ssl::verify_fail_if_no_peer_cert;
    }
    ctx->set_verify_mode(mode);
    ctx->set_verify_callback(
        [verify, sans = t.client_allowed_sans](bool preverified, net::ssl::verify_context& vc) {
          X509_STORE_CTX* sc = vc.native_handle();
          if (verify && !preverified) {
            return false;
          }
          if (X509_STORE_CTX_get_error_depth(sc) != 0 || sans.empty()) {
            return true;
          }
          for (const auto& name : subject_alt_names(X509_STORE_CTX_get_current_cert(sc))) {
            if (std::find(sans.begin(), sans.end(), name) != sans.end()) {
              return true;
            }
          }
          X509_STORE_CTX_set_error(sc, X509_V_ERR_APPLICATION_VERIFICATION);
          return false;
        });
  }

  if (!t.cipher_suites.empty()) {
    std::string list;
    for (const auto& c : t.cipher_suites) {
      if (is_tls13_suite(c)) {
        continue;  // TLS 1.3 suites are not configurable (as in Go)
      }
      const auto name = openssl_cipher(c);
      if (!name.empty()) {
        list += (list.empty() ? "" : ":") + name;
      }
    }
    if (!list.empty() && SSL_CTX_set_cipher_list(h, list.c_str()) != 1) {
      ERR_clear_error();
      tls_error(problems, source, p + "cipher_suites", "no usable cipher suite");
    }
  }
  if (t.prefer_server_cipher_suites) {
    SSL_CTX_set_options(h, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  if (!t.curve_preferences.empty()) {
    std::string groups;
    for (const auto& c : t.curve_preferences) {
      if (const char* g = openssl_group(c)) {
        groups += (groups.empty() ? "" : ":") + std::string(g);
      }
    }
    if (!groups.empty() && SSL_CTX_set1_groups_list(h, groups.c_str()) != 1) {
      ERR_clear_error();
      tls_error(problems, source, p + "curve_preferences", "no usable curve");
    }
  }

  const bool failed =
      std::any_of(problems.begin() + static_cast<std::ptrdiff_t>(errors_before), problems.end(),
                  [](const diagnostic& d) { return d.severity == diagnostic::level::error; });
  return failed ? nullptr : ctx;
}

bool is_bcrypt_hash(std::string_view hash) {
  if (hash.size() != 60 ||
      !(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"))) {
    return false;
  }
  const bool cost_ok = std::isdigit(static_cast<unsigned char>(hash[4])) &&
                       std::isdigit(static_cast<unsigned char>(hash[5])) && hash[6] == '$';
  return cost_ok;
}

bool verify_password(std::string_view password, const std::string& hash) {
  if (password.find('\0') != std::string_view::npos || hash.empty()) {
    return false;
  }
  const std::string pw(password);
  auto data = std::make_unique<crypt_data>();  // value-initialised: zeroed, as crypt_r needs
  const char* out = crypt_r(pw.c_str(), hash.c_str(), data.get());
  bool ok = out != nullptr && out[0] != '*' && std::strlen(out) == hash.size() &&
            CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

basic_auth::basic_auth(std::map<std::string, std::string> users) : users_(std::move(users)) {
  if (users_.empty()) {
    return;
  }
  // A hash of the same cost as the first user's, checked for unknown users so that the response
  // time does not reveal which user names exist.
  const std::string& model = users_.begin()->second;
  const int cost = (model[4] - '0') * 10 + (model[5] - '0');
  const char* salt = crypt_gensalt_ra("$2b$", static_cast<unsigned long>(cost), nullptr, 0);
  if (salt != nullptr) {
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_r("kube-event-exporter: no such user", salt, data.get());
    if (out != nullptr && out[0] != '*') {
      dummy_hash_ = out;
    }
    std::free(const_cast<char*>(salt));
  }
}

basic_auth::verdict basic_auth::verify(std::string_view authorization, bool may_hash) {
  constexpr std::string_view scheme = "Basic ";
  if (authorization.size() <= scheme.size() ||
      !ascii_iequals(authorization.substr(0, scheme.size()), scheme)) {
    return denied;
  }
  auto parsed = base64_decode(authorization.substr(scheme.size()));
  if (!parsed) {
    return denied;
  }
  std::string decoded = std::move(*parsed);
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) {
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return denied;
  }
  const std::string_view user(decoded.data(), colon);
  const std::string_view password = std::string_view(decoded).substr(colon + 1);

  const auto it = users_.find(std::string(user));
  const bool known = it != users_.end();
  const std::string& hash = known ? it->second : dummy_hash_;
  const std::string key = digest_of({user, password, hash});
  {
    std::lock_guard lock(mu_);
    if (known && verified_.count(key) != 0) {
      OPENSSL_cleanse(decoded.data(), decoded.size());
      return allowed;
    }
  }
  if (!may_hash) {
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return needs_hash;
  }
  const bool ok = verify_password(password, hash) && known;
  OPENSSL_cleanse(decoded.data(), decoded.size());
  if (ok) {
    std::lock_guard lock(mu_);
    if (verified_.size() >= 1024) {
      verified_.clear();  // bounded: forget everything rather than grow
    }
    verified_.insert(key);
  }
  return ok ? allowed : denied;
}

}  // namespace ke::server

// Client TLS settings as configured (a receiver's or the API server's `tls:` block). Defined in
// core because the HTTP client applies them; config::tls names this type.
#pragma once
#include <string>

namespace ke {

struct tls_options {
  bool insecure_skip_verify = false;  // insecureSkipVerify
  std::string server_name;            // serverName
  std::string ca_file;                // caFile
  std::string cert_file;              // certFile
  std::string key_file;               // keyFile
};

}  // namespace ke

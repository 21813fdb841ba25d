// libFuzzer target for the HTTP request path, without sockets. src/server has no seam that takes
// bytes and returns a response (the session reads from a stream), so this drives what the
// server's session does with the bytes it reads (server/http_server.cpp, serve()): successive
// requests from one buffer (keep-alive), each through a fresh request_parser<string_body> with
// the server's default header limit and largest body limit, the route's body limit applied once
// the header is known; then the kube-bench ingest's query parameters (query_param, as
// kubebench/ingest.cpp reads node/target/syntax) and their label check. Invariants: no crash;
// a parsed request respects the limits; a decoded query value is no longer than the target.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "kubebench/ingest.hpp"
#include "kubebench/report.hpp"
#include "server/http_server.hpp"

namespace {

using ke::http::request_parser;
using ke::http::string_body;

void query(std::string_view target) {
  for (const std::string_view name : {"node", "target", "syntax", ""}) {
    const auto value = ke::kubebench::query_param(target, name);
    if (!value) {
      continue;
    }
    if (value->size() > target.size()) {
      std::abort();
    }
    (void)ke::kubebench::check_label_value(name, *value, 253);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ke::server::options opt;  // the limits the server runs with by default
  boost::asio::const_buffer buf(data, size);
  // Each request consumes at least one byte or stops the loop, so this ends.
  while (buf.size() > 0) {
    request_parser<string_body> parser;
    parser.eager(false);  // the header first (async_read_header), then the body
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(opt.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(std::max(opt.max_body_bytes, opt.max_small_body_bytes));
    bool limited = false;
    boost::system::error_code ec;
    while (!parser.is_done()) {
      const std::size_t used = parser.put(buf, ec);
      buf += used;
      if (ec == ke::http::error::need_more) {
        return 0;  // the server would wait for more bytes
      }
      if (ec) {
        return 0;  // the server answers 400/413/431 and closes
      }
      if (parser.is_header_done() && !limited) {
        limited = true;
        query(std::string_view(parser.get().target().data(), parser.get().target().size()));
        const auto length = parser.content_length();
        if (length && *length > opt.max_body_bytes) {
          return 0;  // 413 before the body is read
        }
        if (!parser.is_done()) {
          parser.body_limit(opt.max_body_bytes);
          parser.eager(true);
        }
      }
      if (used == 0 && !parser.is_done()) {
        return 0;
      }
    }
    if (parser.get().body().size() > opt.max_body_bytes) {
      std::abort();
    }
    if (!parser.keep_alive()) {
      return 0;
    }
  }
  return 0;
}

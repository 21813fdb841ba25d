// Single include for Asio/Beast. Boost 1.74 + g++ 12 need <utility> before asio/awaitable.hpp.
#pragma once
// clang-format off
#include <utility>  // must come first: boost/asio/awaitable.hpp uses std::exchange
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

namespace ke {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
}  // namespace ke

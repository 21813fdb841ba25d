// The one translation unit that compiles Asio's SSL support (separate compilation; see
// asio_impl.cpp). Every component using net::ssl (server TLS, HTTPS clients) links it via ke_core.
// clang-format off
#include <utility>  // before Boost 1.74's asio headers (g++ 12, C++20)
#include <boost/asio/ssl/impl/src.hpp>
// clang-format on

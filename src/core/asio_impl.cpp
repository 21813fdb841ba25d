// The one translation unit that compiles Asio and Beast (separate compilation).
// clang-format off
#include <utility>  // before Boost 1.74's asio headers (g++ 12, C++20)
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
// clang-format on

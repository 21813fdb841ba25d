// The one translation unit that compiles Asio's SSL support (separate compilation; see
// asio_impl.cpp). Every component using net::ssl (server TLS, HTTPS clients) links it via ke_core.
#include <utility>

#include <boost/asio/ssl/impl/src.hpp>

#include "sinks/null_sink.hpp"

namespace ke::sinks {

net::awaitable<send_result> null_sink::send(std::vector<record_ptr> /*batch*/) {
  co_return send_result::drop;
}

net::awaitable<void> null_sink::close(std::chrono::steady_clock::time_point /*deadline*/) {
  co_return;
}

}  // namespace ke::sinks

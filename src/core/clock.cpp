#include "core/clock.hpp"

#include <algorithm>

namespace ke {

net::awaitable<bool> clock::sleep(duration d) {
  if (cancelled_) {
    co_return false;
  }
  on_sleep(std::max(d, duration::zero()));
  net::steady_timer timer(ex_);
  timer.expires_after(std::max(real_delay(d), duration::zero()));
  auto it = sleepers_.insert(sleepers_.end(), &timer);
  boost::system::error_code ec;
  co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
  sleepers_.erase(it);
  co_return !cancelled_;
}

void clock::cancel_all() {
  cancelled_ = true;
  for (auto* t : sleepers_) {
    t->cancel();
  }
}

manual_clock::manual_clock(net::any_io_executor ex)
    : clock(std::move(ex)),
      steady_base_(std::chrono::steady_clock::now()),
      wall_base_(std::chrono::system_clock::now()) {}

void manual_clock::on_sleep(duration d) {
  sleeps_.push_back(d);
  offset_ += d;
}

}  // namespace ke

// Writing a whole buffer to a file descriptor with ::write(), retrying partial writes and EINTR.
#pragma once
#include <cstddef>
#include <string_view>

namespace ke::sinks {

struct write_outcome {
  std::size_t written = 0;  // bytes written before success or failure
  int error = 0;            // errno of the failing write, 0 when everything was written
};

// Writes all of data to fd. Blocks while a non-blocking fd reports EAGAIN (polls for POLLOUT).
write_outcome write_all(int fd, std::string_view data);

}  // namespace ke::sinks

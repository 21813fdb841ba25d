#include "sinks/fd_writer.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace ke::sinks {

write_outcome write_all(int fd, std::string_view data) {
  write_outcome out;
  while (out.written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + out.written, data.size() - out.written);
    if (n > 0) {
      out.written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) {
        out.error = errno;
        return out;
      }
      continue;
    }
    out.error = n < 0 ? errno : EIO;  // a zero-byte write of a non-empty buffer: give up
    return out;
  }
  return out;
}

}  // namespace ke::sinks

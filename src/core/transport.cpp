#include "core/transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pillar::core {

PlainTransport::~PlainTransport() {
  if (fd_ >= 0) ::close(fd_);
}

ssize_t PlainTransport::read(void* buf, size_t len) { return ::recv(fd_, buf, len, 0); }

ssize_t PlainTransport::writev(const struct iovec* iov, int count) {
  struct msghdr msg {};
  msg.msg_iov = const_cast<struct iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  return ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
}

ssize_t PlainTransport::sendfile(int file_fd, off_t* offset, size_t len) {
  return ::sendfile(fd_, file_fd, offset, len);
}

void PlainTransport::set_cork(bool on) {
  int v = on ? 1 : 0;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &v, sizeof v);
}

void PlainTransport::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

}  // namespace pillar::core

#include "core/transport.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

namespace pillar::core {

ssize_t PlainTransport::read(void* buf, size_t len) { return ::recv(fd_.get(), buf, len, 0); }

ssize_t PlainTransport::writev(const struct iovec* iov, int count) {
  struct msghdr msg {};
  msg.msg_iov = const_cast<struct iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  return ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
}

ssize_t PlainTransport::sendfile(int file_fd, off_t* offset, size_t len) {
  return ::sendfile(fd_.get(), file_fd, offset, len);
}

void PlainTransport::set_cork(bool on) {
  int v = on ? 1 : 0;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_CORK, &v, sizeof v);
}

void PlainTransport::shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }

}  // namespace pillar::core

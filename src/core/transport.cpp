#include "core/transport.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace pillar::core {

Io Io::from(ssize_t r) {
  if (r > 0) return moved(static_cast<size_t>(r));
  if (r == 0) return {Status::Eof, 0, 0};
  if (errno == EAGAIN || errno == EWOULDBLOCK) return {Status::Again, 0, 0};
  return {Status::Error, 0, errno};
}

namespace {

// Runs a syscall again after EINTR (a signal handler ran; nothing was moved).
template <typename F>
Io retrying(F&& call) {
  for (;;) {
    ssize_t r = call();
    if (r < 0 && errno == EINTR) continue;
    return Io::from(r);
  }
}

}  // namespace

Io PlainTransport::read(void* buf, size_t len) {
  return retrying([&] { return ::recv(fd_.get(), buf, len, 0); });
}

Io PlainTransport::writev(const struct iovec* iov, int count) {
  struct msghdr msg {};
  msg.msg_iov = const_cast<struct iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  Io r = retrying([&] { return ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL); });
  // A write of zero bytes is not the peer's EOF; only an empty iovec gives it.
  if (r.status == Io::Status::Eof) r.status = Io::Status::Ok;
  return r;
}

Io PlainTransport::sendfile(int file_fd, uint64_t& offset, size_t len) {
  off_t off = static_cast<off_t>(offset);
  Io r = retrying([&] { return ::sendfile(fd_.get(), file_fd, &off, len); });
  offset = static_cast<uint64_t>(off);
  return r;
}

Io PlainTransport::splice_from_pipe(int pipe_fd, size_t len) {
  return retrying([&] { return ::splice(pipe_fd, nullptr, fd_.get(), nullptr, len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE); });
}

Io PlainTransport::splice_to_pipe(int pipe_fd, size_t len) {
  return retrying([&] { return ::splice(fd_.get(), nullptr, pipe_fd, nullptr, len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE); });
}

void PlainTransport::shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }

}  // namespace pillar::core

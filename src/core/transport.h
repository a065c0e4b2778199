// The byte stream under a connection, client side or upstream. Plain TCP
// now; TLS plugs in as another Transport, so nothing above assumes a raw fd:
// zero-copy paths (sendfile, splice) ask can_zero_copy() first.
//
// Every call answers an Io (bytes moved, or why none), never -1/errno, and
// retries EINTR itself, so callers have one result to switch on.
#pragma once
#include <poll.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "core/fd.h"

namespace pillar::core {

struct Io {
  enum class Status : uint8_t {
    Ok,     // n bytes moved (n > 0)
    Again,  // would block: wait for readiness
    Eof,    // read: the peer closed; sendfile: the file ended early
    Error,  // the connection is unusable (reset, broken pipe...)
  };
  Status status = Status::Ok;
  size_t n = 0;
  int error = 0;  // errno for Error, for the log

  bool ok() const { return status == Status::Ok; }
  bool again() const { return status == Status::Again; }
  static Io moved(size_t n) { return {Status::Ok, n, 0}; }
  // From a syscall's return value and errno.
  static Io from(ssize_t r);
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Io read(void* buf, size_t len) = 0;
  virtual Io writev(const struct iovec* iov, int count) = 0;
  Io write(const void* buf, size_t len) {
    struct iovec v{const_cast<void*>(buf), len};
    return writev(&v, 1);
  }
  // Whether the kernel can move bytes to or from this stream without a copy
  // through user space (sendfile, splice): not through TLS.
  virtual bool can_zero_copy() const = 0;
  // File bytes from *offset (advanced by what was sent).
  virtual Io sendfile(int file_fd, uint64_t& offset, size_t len) = 0;
  // Bytes from a pipe to the stream, and from the stream into a pipe.
  virtual Io splice_from_pipe(int pipe_fd, size_t len) = 0;
  virtual Io splice_to_pipe(int pipe_fd, size_t len) = 0;
  virtual void shutdown_write() = 0;
  virtual int fd() const = 0;  // for readiness registration only
  // Whether the stream is encrypted (TLS): the request's scheme is https.
  virtual bool secure() const { return false; }
  // The directions (EPOLLIN: reads, EPOLLOUT: writes) that the epoll events
  // `events` may have unblocked. A plain socket: the events themselves.
  // TLS: a read may wait for the socket to be writable and a write for it
  // to be readable (handshake), so an edge of one wakes the other.
  virtual uint32_t readiness(uint32_t events) const { return events; }
  // For a level-triggered poller, after a call answered Again: the poll
  // events it waits for (a plain socket: its own direction; TLS: what the
  // record layer wants, which may be the other one).
  virtual short wait_events(bool writing) const { return writing ? POLLOUT : POLLIN; }
};

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(Fd fd) : fd_(std::move(fd)) {}

  Io read(void* buf, size_t len) override;
  Io writev(const struct iovec* iov, int count) override;
  bool can_zero_copy() const override { return true; }
  Io sendfile(int file_fd, uint64_t& offset, size_t len) override;
  Io splice_from_pipe(int pipe_fd, size_t len) override;
  Io splice_to_pipe(int pipe_fd, size_t len) override;
  void shutdown_write() override;
  int fd() const override { return fd_.get(); }
  // The socket, for a pool of idle connections: this transport lets go of it.
  Fd release() { return std::move(fd_); }

 private:
  Fd fd_;
};

}  // namespace pillar::core

// The byte stream under a connection. Plain TCP now; TLS plugs in later as
// another Transport, so nothing above assumes a raw fd or sendfile.
#pragma once
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>

#include "core/fd.h"

namespace pillar::core {

class Transport {
 public:
  virtual ~Transport() = default;
  // Both return bytes moved, 0 on EOF (read), or -1 with errno (EAGAIN...).
  virtual ssize_t read(void* buf, size_t len) = 0;
  virtual ssize_t writev(const struct iovec* iov, int count) = 0;
  // Zero-copy file send when the transport can; false means use read+writev.
  virtual bool can_sendfile() const = 0;
  virtual ssize_t sendfile(int file_fd, off_t* offset, size_t len) = 0;
  virtual void set_cork(bool on) = 0;
  virtual void shutdown_write() = 0;
  virtual int fd() const = 0;  // for readiness registration only
};

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) : fd_(fd) {}  // takes ownership
  PlainTransport(const PlainTransport&) = delete;
  PlainTransport& operator=(const PlainTransport&) = delete;

  ssize_t read(void* buf, size_t len) override;
  ssize_t writev(const struct iovec* iov, int count) override;
  bool can_sendfile() const override { return true; }
  ssize_t sendfile(int file_fd, off_t* offset, size_t len) override;
  void set_cork(bool on) override;
  void shutdown_write() override;
  int fd() const override { return fd_.get(); }

 private:
  Fd fd_;
};

}  // namespace pillar::core

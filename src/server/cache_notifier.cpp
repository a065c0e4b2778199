#include "server/cache_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "core/log.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

constexpr uint32_t kMaxLoopsNotified = 64;

socklen_t notifier_address(sockaddr_un& a, pid_t master, uint32_t row, uint32_t loop) {
  a = sockaddr_un{};
  a.sun_family = AF_UNIX;  // abstract: sun_path[0] == 0, nothing on disk to clean up
  int n = std::snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "pillar-cache-%d-%u-%u", static_cast<int>(master), row, loop);
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + static_cast<size_t>(n));
}

}  // namespace

CacheNotifier::CacheNotifier(WorkerLoop& w, pid_t master, uint32_t row, uint32_t loop_index, uint32_t rows)
    : w_(w), master_(master), row_(row), rows_(rows) {
  fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) return;
  sockaddr_un a;
  socklen_t len = notifier_address(a, master, row, loop_index);
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), len) != 0) {
    core::log(core::LogLevel::Warn, "cache", "cache notifier socket: {} (waiters fall back to polling)", strerror(errno));
    fd_.reset();
    return;
  }
  w_.loop().add(fd_.get(), EPOLLIN, this);
}

CacheNotifier::~CacheNotifier() {
  if (fd_) w_.loop().remove(fd_.get());
}

void CacheNotifier::notify(uint64_t mask) {
  if (!mask || !fd_) return;
  char byte = 1;
  for (uint32_t r = 0; r < rows_; ++r) {
    if (!(mask & (uint64_t{1} << (r % 64)))) continue;
    for (uint32_t l = 0; l < kMaxLoopsNotified; ++l) {
      sockaddr_un a;
      socklen_t len = notifier_address(a, master_, r, l);
      // No such loop (ECONNREFUSED) ends the row; a full queue (EAGAIN)
      // already holds a wake-up.
      if (::sendto(fd_.get(), &byte, 1, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&a), len) < 0 && errno != EAGAIN) break;
    }
  }
}

void CacheNotifier::on_io(uint32_t) {
  char buf[64];
  while (::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
  w_.wake_cache_waiters();
}

}  // namespace pillar::server

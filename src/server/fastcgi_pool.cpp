#include "server/fastcgi_pool.h"

#include <sys/socket.h>

#include <cerrno>

namespace pillar::server {

FastcgiPool::~FastcgiPool() { core::TimerWheel::cancel(*this); }

core::Fd FastcgiPool::take(const void* backend) {
  for (size_t i = idle_.size(); i-- > 0;) {  // the most recent first: the warmest child
    if (idle_[i].backend != backend) continue;
    core::Fd fd = std::move(idle_[i].fd);
    idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
    char probe;
    ssize_t n = ::recv(fd.get(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return fd;  // open and quiet
    // closed by the application, or bytes nobody asked for: dropped
  }
  return {};
}

void FastcgiPool::give(const void* backend, core::Fd fd) {
  size_t same = 0;
  for (const auto& e : idle_) same += e.backend == backend;
  if (same >= kMaxIdlePerBackend) {
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {  // the oldest of this application goes
      if (it->backend == backend) {
        idle_.erase(it);
        break;
      }
    }
  }
  idle_.push_back({backend, std::move(fd), loop_.now_ms()});
  if (!armed()) loop_.timers().arm(*this, loop_.now_ms() + kIdleMs);
}

void FastcgiPool::on_timer() {
  uint64_t now = loop_.now_ms();
  size_t keep = 0;
  while (keep < idle_.size() && idle_[keep].since_ms + kIdleMs <= now) ++keep;
  idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(keep));
  if (!idle_.empty()) loop_.timers().arm(*this, idle_.front().since_ms + kIdleMs);
}

}  // namespace pillar::server

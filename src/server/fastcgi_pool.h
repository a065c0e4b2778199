// Idle FastCGI connections of one worker loop (FCGI_KEEP_CONN), per
// application. Kept few and briefly: PHP-FPM's children serve one
// connection at a time, so an idle pooled connection holds a child that
// another loop or worker may need (mod_proxy_fcgi's enablereuse caveat).
// At most kMaxIdlePerBackend per application per loop, closed after
// kIdleMs unused; one the application closed meanwhile is dropped when
// taken (a peek says whether it is still open and quiet).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/event_loop.h"
#include "core/fd.h"
#include "core/timer_wheel.h"

namespace pillar::server {

class FastcgiPool final : public core::TimerNode {
 public:
  static constexpr size_t kMaxIdlePerBackend = 2;
  static constexpr uint64_t kIdleMs = 3000;

  explicit FastcgiPool(core::EventLoop& loop) : loop_(loop) {}
  ~FastcgiPool() override;
  // An idle connection to `backend` that is still open, or an empty Fd.
  core::Fd take(const void* backend);
  void give(const void* backend, core::Fd fd);
  size_t idle() const { return idle_.size(); }
  void on_timer() override;  // closes what has been idle for kIdleMs

 private:
  struct Idle {
    const void* backend;
    core::Fd fd;
    uint64_t since_ms;
  };
  core::EventLoop& loop_;
  std::vector<Idle> idle_;  // oldest first
};

}  // namespace pillar::server

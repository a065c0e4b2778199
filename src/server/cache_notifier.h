// Wake-ups for cache waiters across workers (see cache_exchange.h).
#pragma once
#include <sys/types.h>

#include <cstdint>

#include "core/event_loop.h"
#include "core/fd.h"

namespace pillar::server {

class WorkerLoop;

// One per event loop: an abstract unix datagram socket named by the master's
// pid, the worker's scoreboard row and the loop's index. A byte arriving
// means "an object you wait on progressed".
class CacheNotifier final : public core::IoWatcher {
 public:
  CacheNotifier(WorkerLoop& w, pid_t master, uint32_t row, uint32_t loop_index, uint32_t rows);
  ~CacheNotifier() override;
  uint64_t bit() const { return uint64_t{1} << (row_ % 64); }
  // Wakes every loop of every row whose bit is in `mask`.
  void notify(uint64_t mask);
  void on_io(uint32_t events) override;

 private:
  WorkerLoop& w_;
  pid_t master_;
  uint32_t row_, rows_;
  core::Fd fd_;
};

}  // namespace pillar::server

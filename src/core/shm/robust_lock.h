// A lock for a table in shared memory that a dead or stalled process cannot
// wedge. It is a process-shared robust pthread mutex, so the kernel records
// its owner: when a holder dies (kill -9 in the critical section) the next
// locker gets it with EOWNERDEAD and takes over (pthread_mutex_consistent),
// as the cache store's lock does. A holder that is alive but stalled
// (SIGSTOP, a debugger, a stuck thread) cannot be detected that way, so a
// locker waits at most a bound and then goes without the table; after such
// a timeout every locker only tries (no waiting) until a lock succeeds again,
// so a stalled holder costs the node one bounded wait, not one per request.
//
// Plain data, no pointers: construct in place, init() once before any lock().
#pragma once
#include <pthread.h>

#include <atomic>
#include <cstdint>

namespace pillar::core::shm {

struct RobustLock {
  // How long a locker waits for a running holder; the critical sections
  // this guards are a few dozen compares, so only a stalled holder takes it.
  static constexpr uint32_t kDefaultWaitUs = 20'000;

  pthread_mutex_t mu;  // process-shared, robust
  std::atomic<uint32_t> stalled{0};      // the last wait timed out: try only until a lock succeeds
  std::atomic<uint64_t> timeouts{0};     // lockers that went without
  std::atomic<uint64_t> recoveries{0};   // locks taken over from a dead holder

  void init();
  // True when held (unlock() it); false when the holder did not let go
  // within `wait_us` (or at once, after a timeout) or the lock is unusable.
  bool lock(uint32_t wait_us = kDefaultWaitUs);
  void unlock();
};

// Scoped: check locked() before touching the table.
class RobustGuard {
 public:
  explicit RobustGuard(RobustLock& l, uint32_t wait_us = RobustLock::kDefaultWaitUs) : l_(l), held_(l.lock(wait_us)) {}
  ~RobustGuard() {
    if (held_) l_.unlock();
  }
  RobustGuard(const RobustGuard&) = delete;
  RobustGuard& operator=(const RobustGuard&) = delete;
  bool locked() const { return held_; }

 private:
  RobustLock& l_;
  bool held_;
};

}  // namespace pillar::core::shm

#include "core/shm/robust_lock.h"

#include <cerrno>
#include <ctime>

#include "core/log.h"

namespace pillar::core::shm {

void RobustLock::init() {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&mu, &a);
  pthread_mutexattr_destroy(&a);
  stalled.store(0, std::memory_order_relaxed);
}

bool RobustLock::lock(uint32_t wait_us) {
  int r = pthread_mutex_trylock(&mu);
  if (r == EBUSY) {
    if (stalled.load(std::memory_order_relaxed)) {
      timeouts.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    uint64_t ns = static_cast<uint64_t>(deadline.tv_nsec) + uint64_t{wait_us} * 1000;
    deadline.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
    deadline.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    do {
      r = pthread_mutex_clocklock(&mu, CLOCK_MONOTONIC, &deadline);
    } while (r == EINTR);
    if (r == ETIMEDOUT) {
      if (stalled.exchange(1, std::memory_order_relaxed) == 0)  // once per stall, node-wide
        core::log(core::LogLevel::Warn, "core", "a process has held a shared-memory lock for over {} ms (stopped?); "
                  "going without what it guards until it lets go", wait_us / 1000);
      timeouts.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
  if (r == EOWNERDEAD) {  // its holder died inside: the data is plain and each step leaves it readable
    pthread_mutex_consistent(&mu);
    recoveries.fetch_add(1, std::memory_order_relaxed);
    r = 0;
  }
  if (r != 0) {  // ENOTRECOVERABLE and the like: go without rather than wait
    timeouts.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (stalled.load(std::memory_order_relaxed)) stalled.store(0, std::memory_order_relaxed);
  return true;
}

void RobustLock::unlock() { pthread_mutex_unlock(&mu); }

}  // namespace pillar::core::shm

// The clocks, read in one place. Monotonic time measures intervals and
// deadlines (never steps back); wall time is what is shown or stored
// (scoreboard timestamps, cache Date/Age arithmetic). The coarse variants
// (a few ms resolution, no syscall) are what the event loop reads once per
// wake-up; the precise ones are for everything that runs less often.
#pragma once
#include <time.h>

#include <cstdint>

namespace pillar::core {

namespace clock_detail {
inline timespec now(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return ts;
}
inline uint64_t to_ms(const timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}
}  // namespace clock_detail

// CLOCK_MONOTONIC in milliseconds, microseconds and whole seconds.
inline uint64_t mono_ms() { return clock_detail::to_ms(clock_detail::now(CLOCK_MONOTONIC)); }
inline uint64_t mono_us() {
  timespec ts = clock_detail::now(CLOCK_MONOTONIC);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}
inline int64_t mono_s() { return clock_detail::now(CLOCK_MONOTONIC).tv_sec; }
// CLOCK_MONOTONIC_COARSE in milliseconds (the event loop's per-wake-up clock).
inline uint64_t mono_coarse_ms() { return clock_detail::to_ms(clock_detail::now(CLOCK_MONOTONIC_COARSE)); }

// CLOCK_REALTIME: milliseconds since the epoch, and coarse whole seconds.
inline int64_t wall_ms() { return static_cast<int64_t>(clock_detail::to_ms(clock_detail::now(CLOCK_REALTIME))); }
inline time_t wall_coarse_s() { return clock_detail::now(CLOCK_REALTIME_COARSE).tv_sec; }

}  // namespace pillar::core

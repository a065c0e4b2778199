// The two clocks the master reads: wall time for what is shown (start and
// restart times, uptime) and the monotonic clock for deadlines.
#pragma once
#include <chrono>
#include <cstdint>

namespace pillar::server {

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline uint64_t mono_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

}  // namespace pillar::server

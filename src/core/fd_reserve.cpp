#include "core/fd_reserve.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>

#include "core/clock.h"
#include "core/log.h"

namespace pillar::core {
namespace {
constexpr int64_t kReportIntervalS = 60;
std::atomic<int64_t> g_last_report_s{-kReportIntervalS};
}  // namespace

uint64_t fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return rl.rlim_cur;
}

uint64_t fd_reserve(uint64_t limit) { return std::clamp<uint64_t>(limit / 16, 16, 256); }

bool fd_in_reserve(int fd, uint64_t limit) {
  if (fd < 0 || limit == UINT64_MAX) return false;
  return static_cast<uint64_t>(fd) + fd_reserve(limit) >= limit;
}

void report_fd_shortage(std::string_view what, uint64_t limit) {
  int64_t now = mono_s();
  int64_t last = g_last_report_s.load(std::memory_order_relaxed);
  if (now - last < kReportIntervalS || !g_last_report_s.compare_exchange_strong(last, now)) return;
  log(LogLevel::Error, "core",
      "file descriptors nearly exhausted (RLIMIT_NOFILE {}, {} kept in reserve): {}; raise the limit "
      "(ulimit -n, LimitNOFILE=) or lower ThreadsPerChild (logged once a minute at most)",
      limit, fd_reserve(limit), what);
}

}  // namespace pillar::core

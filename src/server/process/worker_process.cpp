#include "server/process/worker_process.h"

#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "core/fd.h"
#include "core/clock.h"
#include "core/log.h"

namespace pillar::server {
namespace {

using core::shm::ProcessState;

constexpr int kTickMs = 250;
constexpr int64_t kMinAgeForMemoryRecycleMs = 5000;  // a leak cannot turn into a fork storm
constexpr auto kStopGrace = std::chrono::seconds(3);
// The master gone: connections get this long to finish, then are closed.
constexpr auto kOrphanGrace = std::chrono::milliseconds(500);
// After its connections were force-closed, a loop that still has not
// returned is stuck in code (a busy loop never reads a signal): the worker
// exits without it rather than outlive its master or its stop deadline.
constexpr auto kStuckLoopGrace = std::chrono::milliseconds(500);

uint64_t rss_anon_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("RssAnon:", 0) == 0) return std::strtoull(line.c_str() + 8, nullptr, 10);
  }
  return 0;
}

// CPU time and the log counters (lines lost to a full disk show in /metrics).
void publish_usage(core::shm::ProcessRow& row, const core::LogTotals& at_fork) {
  core::LogTotals now = core::log_totals();
  row.log_lines_dropped.store(now.lines_dropped - at_fork.lines_dropped, std::memory_order_relaxed);
  row.log_write_errors.store(now.write_errors - at_fork.write_errors, std::memory_order_relaxed);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  static const uint64_t us_per_tick = 1000000u / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  auto ticks = [](const timeval& tv) {
    return (static_cast<uint64_t>(tv.tv_sec) * 1000000u + static_cast<uint64_t>(tv.tv_usec)) / us_per_tick;
  };
  row.cpu_user_ticks.store(ticks(ru.ru_utime), std::memory_order_relaxed);
  row.cpu_system_ticks.store(ticks(ru.ru_stime), std::memory_order_relaxed);
}

// Closes every descriptor but `keep`: a worker inherits all the master has
// open (older runtimes' logs, health-check sockets, its signalfd...) and
// must not hold them: a rotated log would stay open as (deleted), a reload
// would need twice the descriptors.
void close_all_except(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  std::vector<int> open_fds;
  if (DIR* d = opendir("/proc/self/fd")) {
    int self = dirfd(d);
    while (dirent* e = readdir(d)) {
      char* end = nullptr;
      long fd = std::strtol(e->d_name, &end, 10);
      if (end == e->d_name || *end || fd == self) continue;
      open_fds.push_back(static_cast<int>(fd));
    }
    closedir(d);
  }
  for (int fd : open_fds) {
    if (!std::binary_search(keep.begin(), keep.end(), fd)) core::Fd{fd}.reset();  // inherited: adopted to be closed
  }
}

void drop_privileges(const WorkerSpec& spec) {
  if (!spec.drop_privileges) return;
  if (setgroups(0, nullptr) != 0 || setgid(spec.gid) != 0 || setuid(spec.uid) != 0) {
    core::log(core::LogLevel::Emerg, "unixd", "cannot drop privileges to uid {} gid {}: {}", spec.uid, spec.gid,
              strerror(errno));
    core::ErrorLog::flush();
    _exit(1);
  }
}

}  // namespace

void run_worker(const WorkerSpec& spec) {
  // Die with the master, even if it is killed with SIGKILL (the main thread
  // below makes sure of it even when a loop is stuck in code).
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != spec.master_pid) _exit(0);
  for (int fd : spec.close_fds) core::Fd{fd}.reset();  // the master's, inherited
  const Runtime& rt = *spec.runtime;
  {  // only this runtime's logs, the listeners and stdin/out/err stay open
    std::vector<const core::LogSink*> sinks = rt.log_sinks();
    core::LogSink::keep_only(sinks);
    std::vector<int> keep = {0, 1, 2};
    for (const auto& l : *spec.listeners) keep.push_back(l.fd);
    for (const auto* s : sinks) keep.push_back(s->fd());
    for (int fd : rt.worker_fds()) keep.push_back(fd);  // RewriteMap prg: pipes
    close_all_except(std::move(keep));
  }
  drop_privileges(spec);

  const core::LogTotals log_at_fork = core::log_totals();  // the master's are not this worker's
  const auto& pc = rt.config().process;
  auto& row = spec.board.row(spec.row);
  row.slots.store(pc.threads_per_child);
  row.started_ms.store(core::wall_ms());
  for (uint32_t i = 0; i < pc.threads_per_child; ++i) {
    spec.board.slot(spec.row, i).state.store(static_cast<char>(core::shm::SlotState::Ready));
  }

  // Signals stay blocked (inherited from the master) and are taken here.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGWINCH}) sigaddset(&set, s);

  core::start_async_logging();
  int loops_n = rt.config().event_threads > 0 ? rt.config().event_threads
                                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  loops_n = static_cast<int>(std::min<uint32_t>(static_cast<uint32_t>(loops_n), pc.threads_per_child));
  std::vector<std::unique_ptr<WorkerLoop>> loops;
  std::vector<std::thread> threads;
  uint32_t first = 0;
  for (int i = 0; i < loops_n; ++i) {
    uint32_t count = pc.threads_per_child / static_cast<uint32_t>(loops_n) +
                     (static_cast<uint32_t>(i) < pc.threads_per_child % static_cast<uint32_t>(loops_n) ? 1 : 0);
    loops.push_back(std::make_unique<WorkerLoop>(rt, *spec.listeners, LoopSlots{spec.board, spec.row, first, count, static_cast<uint32_t>(i), static_cast<int32_t>(spec.master_pid)}));
    first += count;
  }
  for (auto& l : loops) threads.emplace_back([w = l.get()] { w->run(); });
  uint8_t expected = static_cast<uint8_t>(ProcessState::Starting);
  row.state.compare_exchange_strong(expected, static_cast<uint8_t>(ProcessState::Running));
  core::log(core::LogLevel::Debug, "mpm", "worker {} started with {} loop(s), {} slots", getpid(), loops_n,
            pc.threads_per_child);

  // The master gone (SIGTERM from PDEATHSIG, or seen through getppid on a
  // tick if that signal was lost): stop now, whatever the stop mode.
  auto orphaned = [&] { return getppid() != spec.master_pid; };
  bool graceful = false, stopping = false;
  const timespec tick{0, kTickMs * 1000000L};
  while (!stopping) {
    siginfo_t info{};
    int sig = sigtimedwait(&set, &info, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      stopping = true;
    } else if (sig == SIGWINCH) {
      stopping = graceful = true;
    } else if (orphaned()) {
      stopping = true;
    }
    publish_usage(row, log_at_fork);
    uint64_t rss = rss_anon_kb();
    row.rss_anon_kb.store(rss, std::memory_order_relaxed);
    if (row.state.load() == static_cast<uint8_t>(ProcessState::Running)) {
      const char* why = nullptr;
      if (pc.max_connections_per_child && row.connections.load() >= pc.max_connections_per_child)
        why = "MaxConnectionsPerChild reached";
      else if (pc.max_memory_per_child && rss * 1024 > pc.max_memory_per_child &&
               core::wall_ms() - row.started_ms.load() >= kMinAgeForMemoryRecycleMs)
        why = "resident memory above MaxMemoryPerChild";
      if (why) {
        // The master starts a replacement first, then tells this one to drain.
        row.state.store(static_cast<uint8_t>(ProcessState::Recycling));
        spec.board.header().recycles.fetch_add(1);
        core::log(core::LogLevel::Info, "mpm", "worker {} asks to be recycled: {} (RssAnon {} kB)", getpid(), why, rss);
      }
    }
  }

  row.state.store(static_cast<uint8_t>(ProcessState::Draining));
  for (auto& l : loops) l->stop(graceful);
  core::log(core::LogLevel::Info, "mpm", "worker {} {}", getpid(),
            orphaned() ? "stopping: the master is gone"
                       : graceful ? "draining: finishing its connections" : "stopping");
  // Graceful: wait for the connections (GracefulShutdownTimeout bounds it
  // when set); otherwise a short grace for responses in flight.
  using SteadyClock = std::chrono::steady_clock;
  auto deadline = SteadyClock::now();
  if (!graceful) deadline += kStopGrace;
  else if (pc.graceful_shutdown_timeout.count() > 0) deadline += pc.graceful_shutdown_timeout;
  else deadline = SteadyClock::time_point::max();
  for (size_t i = 0; i < loops.size(); ++i) {
    auto stuck_at = SteadyClock::time_point::max();  // set once its connections are force-closed
    while (!loops[i]->exited()) {
      auto now = SteadyClock::now();
      if (orphaned() && deadline > now + kOrphanGrace) deadline = now + kOrphanGrace;
      if (now >= deadline && stuck_at == SteadyClock::time_point::max()) {
        WorkerLoop* w = loops[i].get();
        w->loop().post([w] { w->force_close_all(); });
        stuck_at = now + kStuckLoopGrace;
      }
      if (now >= stuck_at) {
        core::log(core::LogLevel::Crit, "mpm", "worker {}: event loop {} does not stop (stuck in code); exiting",
                  getpid(), i);
        core::ErrorLog::flush();
        _exit(1);  // ends every thread, the stuck one too
      }
      siginfo_t info{};
      const timespec wait{0, 10 * 1000000L};
      int sig = sigtimedwait(&set, &info, &wait);
      if (sig == SIGTERM || sig == SIGINT) deadline = std::min(deadline, SteadyClock::now());  // stop now
      if (sig == SIGWINCH) {  // again while draining: the master is short of rows, idle connections go now
        core::log(core::LogLevel::Info, "mpm", "worker {}: closing its idle connections (scoreboard rows needed)",
                  getpid());
        for (auto& l : loops) l->close_idle_now();
      }
    }
    threads[i].join();
  }
  publish_usage(row, log_at_fork);
  loops.clear();
  core::ErrorLog::flush();
  publish_usage(row, log_at_fork);  // lines the last flush could not write count too
  _exit(0);
}

}  // namespace pillar::server

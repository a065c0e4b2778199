// The worker processes of every generation, from fork to reap: the master
// forks them from the current runtime, replaces crashed ones at once,
// recycles (replacement first, then the old one drains), keeps the spare
// slots in MinSpare/MaxSpareThreads (spares.h decides how many), starts a
// new generation beside the old one at a reload and stops them all at
// shutdown. What a reaped worker held (its scoreboard row, cache pins,
// balancer busy counts) is given back here.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <vector>

#include "cache/store.h"
#include "config/model.h"
#include "core/shm/client_conn_table.h"
#include "core/shm/scoreboard.h"
#include "core/shm/vhost_stats.h"
#include "proxy/member_table.h"
#include "server/process/worker_process.h"

namespace pillar::server {

struct Child {
  pid_t pid = 0;
  uint32_t row = 0;
  uint32_t generation = 0;
  bool retiring = false;      // told to stop (WINCH or TERM)
  bool hurried = false;       // told to close its idle connections now (make_room)
  pid_t replacement = 0;      // Recycling: the worker started in its place (-1: none could be)
  std::chrono::steady_clock::time_point replacement_started{};
};

class Supervisor {
 public:
  // Node-wide tables a worker's slots record holdings in (null: unused).
  struct Holdings {
    core::shm::VhostStats* vhost_stats = nullptr;
    cache::Store* cache = nullptr;  // used once ready()
    proxy::MemberTable* members = nullptr;
    core::shm::ClientConnTable* client_conns = nullptr;
  };
  // The spec of the next worker: the current runtime, listeners, identity
  // and the master's descriptors it must close.
  using SpecSource = std::function<WorkerSpec()>;

  Supervisor(core::shm::Scoreboard board, Holdings holdings, SpecSource spec)
      : board_(board), holdings_(holdings), spec_(std::move(spec)) {}

  uint32_t generation() const { return generation_; }
  const std::vector<Child>& children() const { return children_; }
  const core::shm::Scoreboard& board() const { return board_; }
  bool old_generation_alive() const;

  void spawn();
  // A pid waitpid returned: false when it is not a worker.
  bool reaped(pid_t pid, int status);
  // Once per tick and after a reap: recycling, then spares.
  void maintain(const config::ProcessConfig& p);
  // The next generation's StartServers workers start beside the old ones,
  // which then drain (SIGWINCH) or stop (`hard`: SIGTERM).
  void new_generation(uint32_t start_servers, bool hard);
  void signal_children(int sig, bool only_old);
  // Stops every worker: gracefully for up to `graceful_timeout` (zero: no
  // bound), then SIGTERM for kStopGrace, then SIGKILL. `reap` collects exits.
  void stop_all(bool graceful, std::chrono::milliseconds graceful_timeout, const std::function<void()>& reap);

 private:
  Child* find(pid_t pid);
  void make_room(uint32_t want);
  void release_holdings(const Child& c);

  core::shm::Scoreboard board_;
  Holdings holdings_;
  SpecSource spec_;
  std::vector<Child> children_;
  uint32_t generation_ = 0;
  uint32_t owed_ = 0;  // crashed workers still to be replaced
  uint32_t spawn_rate_ = 1;
};

}  // namespace pillar::server

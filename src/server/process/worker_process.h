// A worker process: forked by the master, it runs EventThreadsPerChild
// event loops over the inherited listening sockets, holds ThreadsPerChild
// connection slots of its scoreboard row, publishes its CPU and memory there,
// asks to be recycled after MaxConnectionsPerChild connections or past
// MaxMemoryPerChild, and exits when told (SIGTERM now, SIGWINCH gracefully)
// or when the master dies.
#pragma once
#include <sys/types.h>

#include <vector>

#include "core/shm/scoreboard.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

struct WorkerSpec {
  const Runtime* runtime = nullptr;
  const std::vector<ListenerSocket>* listeners = nullptr;
  core::shm::Scoreboard board;
  uint32_t row = 0;
  pid_t master_pid = 0;
  bool drop_privileges = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<int> close_fds;  // master-only descriptors (control socket)
};

// Runs in the child after fork(); never returns.
[[noreturn]] void run_worker(const WorkerSpec& spec);

}  // namespace pillar::server

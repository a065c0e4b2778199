// The master process: never serves. It owns the configuration, the
// listening sockets and the shared memory; forks and supervises the worker
// processes; keeps the idle connection slots between MinSpareThreads and
// MaxSpareThreads; replaces crashed workers; recycles workers (replacement
// first); and handles Apache's signals: TERM stop, HUP restart, USR1
// graceful restart, WINCH graceful stop.
#pragma once
#include <memory>
#include <string>

#include "config/loader.h"
#include "config/model.h"

namespace pillar::server {

struct MasterOptions {
  std::string config_file;       // empty: the embedded default configuration
  config::LoadOptions load;      // for re-reading it on reload
  int ready_fd = -1;             // -k start: written to once serving, then closed
  bool detach_stdio = false;     // -k start: leave the terminal's stdin/stdout/stderr once started
};

// Returns the process exit status.
int run_master(std::unique_ptr<config::ServerConfig> cfg, const MasterOptions& opts);

}  // namespace pillar::server

// Runs Pillar in the foreground: binds the listeners, starts one WorkerLoop
// per event thread and waits for signals (TERM/INT stop, HUP/USR1 reopen logs).
// The master/worker process model builds on this in the process issue.
#pragma once
#include <memory>
#include <string>

#include "config/model.h"

namespace pillar::server {

struct RunOptions {
  std::string banner_url_host;  // printed as "http://HOST:PORT/" for the first listener
};

// Returns the process exit status.
int run_foreground(std::unique_ptr<config::ServerConfig> cfg);

}  // namespace pillar::server

// The VRRP process: runs every <Vrrp> instance of the configuration in one
// small process of its own (forked by the master), so worker crashes,
// reloads and slow control-socket clients never delay an advertisement.
// SIGTERM is a clean stop: a master sends priority 0 and releases its
// addresses, so the peer takes over at once.
#pragma once
#include <sys/socket.h>

#include <vector>

#include "config/model.h"
#include "core/shm/vrrp_status.h"

namespace pillar::ha {

struct NodeSetup {
  std::vector<config::VrrpInstance> instances;
  core::shm::VrrpStatusTable* status = nullptr;  // shared with the master
  std::vector<sockaddr_storage> health_targets;  // TrackHealth: our own listeners
};

// Returns the process exit status (after SIGTERM/SIGINT, or 1 on a setup error).
int run_vrrp_node(const NodeSetup& setup);

}  // namespace pillar::ha

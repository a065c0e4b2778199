// The VRRP process: forked by the master when the configuration has <Vrrp>
// sections (ha/vrrp_node.h runs in it), restarted when it dies (at most once
// a second, so a failing setup cannot spin), restarted by a reload only when
// the <Vrrp> settings changed, and stopped first at shutdown so the virtual
// address moves to the peer before this node stops serving.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/model.h"
#include "core/shm/vrrp_status.h"
#include "server/worker_loop.h"

namespace pillar::server {

// Everything of the <Vrrp> sections the VRRP process depends on.
std::string vrrp_signature(const config::ServerConfig& c);

class VrrpChild {
 public:
  // Forks the process unless it runs, `c` has no <Vrrp>, or it was started
  // less than a second ago. The child checks the listeners (its health
  // targets) and closes `master_fds` (the control socket and its clients).
  void start(const config::ServerConfig& c, const std::vector<ListenerSocket>& listeners,
             core::shm::VrrpStatusTable* status, const std::vector<int>& master_fds);
  // SIGTERM, up to 3 s for its clean stop (it releases the address), then SIGKILL.
  void stop();
  // After a reload: restarts it when the <Vrrp> settings differ from the running ones.
  void reconfigure(const config::ServerConfig& c, const std::vector<ListenerSocket>& listeners,
                   core::shm::VrrpStatusTable* status, const std::vector<int>& master_fds);
  // A reaped pid: true (and logged unless `stopping`) when it was this process.
  bool reaped(pid_t pid, int status, bool stopping);

 private:
  pid_t pid_ = 0;
  std::chrono::steady_clock::time_point started_{};
  std::string signature_;  // the configuration the running process has
};

}  // namespace pillar::server

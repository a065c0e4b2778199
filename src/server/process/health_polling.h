// Active health checks, run by the master once per node (not by every
// worker): the checks' sockets join the master's poll loop and the verdicts
// land in the shared member states every worker picks from (proxy.md).
#pragma once
#include <poll.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/health_check.h"
#include "proxy/balancer_runtime.h"

namespace pillar::server {

class Runtime;

// One target per configured member that has a health check (hc_method);
// an https member's is checked over TLS with `rt`'s context for its balancer.
std::vector<proxy::HealthTarget> health_targets(const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& balancers,
                                                const Runtime* rt = nullptr);

class HealthPolling {
 public:
  // A new runtime (start, reload, member change): its members' checks.
  void refresh(const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& balancers, const Runtime* rt = nullptr);
  // The poll timeout, shortened to the next check that is due.
  int64_t wait_ms(int64_t cap) const;
  void poll_fds(std::vector<pollfd>& out) const { checker_.fds(out); }
  // After poll: sends, reads and judges what is ready or due.
  void step(const std::vector<pollfd>& ready);

 private:
  proxy::HealthChecker checker_;
};

}  // namespace pillar::server

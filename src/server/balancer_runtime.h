// The run-time side of one balancer: its members' states (counters and
// status flags the picking algorithms read and update) and the
// configuration they came from. Built with the Runtime; one per process for
// now (see docs/proxy.md for what becomes node-wide).
#pragma once
#include <memory>
#include <span>
#include <vector>

#include "config/model.h"
#include "proxy/balancer.h"

namespace pillar::server {

struct BalancerRuntime {
  const config::BalancerConfig* cfg = nullptr;
  std::unique_ptr<proxy::MemberState[]> members;
  size_t count = 0;
  proxy::LbMethod method = proxy::LbMethod::ByRequests;
  // Passive ejection: a member that failed is not picked again before this
  // (monotonic ms), then it gets one request to prove itself.
  std::unique_ptr<std::atomic<uint64_t>[]> error_until;

  std::span<proxy::MemberState> span() { return {members.get(), count}; }
  static std::unique_ptr<BalancerRuntime> build(const config::BalancerConfig& cfg);
};

}  // namespace pillar::server

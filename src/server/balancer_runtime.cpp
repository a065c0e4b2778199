#include "server/balancer_runtime.h"

#include <new>

namespace pillar::server {

std::unique_ptr<BalancerRuntime> BalancerRuntime::build(const config::BalancerConfig& cfg) {
  auto b = std::make_unique<BalancerRuntime>();
  b->cfg = &cfg;
  b->count = std::min(cfg.members.size(), proxy::kMaxMembers);
  b->members.reset(new proxy::MemberState[b->count]);
  b->error_until.reset(new std::atomic<uint64_t>[b->count]);
  for (size_t i = 0; i < b->count; ++i) {
    const auto& m = cfg.members[i];
    proxy::init_member(b->members[i], m.url, m.route, m.loadfactor, 0, m.max);
    uint32_t flags = 0;
    if (m.disabled) flags |= proxy::kStatusDisabled;
    if (m.hot_standby) flags |= proxy::kStatusHotStandby;
    if (m.stopped) flags |= proxy::kStatusStopped;
    if (m.ignore_errors) flags |= proxy::kStatusIgnoreErrors;
    b->members[i].status_flags.store(flags);
    b->error_until[i].store(0);
  }
  switch (cfg.lbmethod) {
    case config::LbMethod::ByRequests: b->method = proxy::LbMethod::ByRequests; break;
    case config::LbMethod::ByTraffic: b->method = proxy::LbMethod::ByTraffic; break;
    case config::LbMethod::ByBusyness: b->method = proxy::LbMethod::ByBusyness; break;
    case config::LbMethod::SourceHash: b->method = proxy::LbMethod::SourceHash; break;
    case config::LbMethod::ConsistentHash: b->method = proxy::LbMethod::ConsistentHash; break;
  }
  return b;
}

}  // namespace pillar::server

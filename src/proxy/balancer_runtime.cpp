#include "proxy/balancer_runtime.h"

#include <new>

namespace pillar::proxy {

std::string balancer_key(const config::BalancerConfig& cfg) {
  return cfg.name.empty() ? (cfg.members.empty() ? std::string("direct:") : "direct:" + cfg.members[0].url) : cfg.name;
}

std::unique_ptr<BalancerRuntime> BalancerRuntime::build(const config::BalancerConfig& cfg, MemberTable* table,
                                                        std::string& error) {
  auto b = std::make_unique<BalancerRuntime>();
  b->cfg = &cfg;
  std::string key = balancer_key(cfg);
  if (table) {
    b->table = table;
    b->block = table->block(key);
    if (!b->block) {
      error = "too many balancers (at most " + std::to_string(MemberTable::kBalancers) + ")";
      return nullptr;
    }
  } else {
    b->local_ = std::make_unique<BalancerBlock>();
    b->block = b->local_.get();
  }
  BalancerBlock& blk = *b->block;
  if (!blk.persistence_ready.load()) {
    blk.persistence.init(reinterpret_cast<uintptr_t>(&blk) * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(time(nullptr)));
    blk.persistence_ready.store(1);
  }
  std::vector<bool> present(BalancerBlock::kSlots, false);
  for (size_t i = 0; i < cfg.members.size(); ++i) {
    const auto& m = cfg.members[i];
    bool added = false;
    int slot = table ? table->slot(blk, m.url, &added) : static_cast<int>(i);
    if (!table && slot < static_cast<int>(BalancerBlock::kSlots)) {
      added = true;
      blk.used.store(static_cast<uint32_t>(i + 1));
    }
    if (slot < 0 || slot >= static_cast<int>(BalancerBlock::kSlots)) {
      error = "balancer " + key + ": more than " + std::to_string(BalancerBlock::kSlots) + " members";
      return nullptr;
    }
    MemberState& st = blk.members[slot];
    uint32_t flags = 0;
    if (m.disabled) flags |= kStatusDisabled;
    if (m.hot_standby) flags |= kStatusHotStandby;
    if (m.stopped) flags |= kStatusStopped;
    if (m.ignore_errors) flags |= kStatusIgnoreErrors;
    if (added) {
      new (&st) MemberState();
      init_member(st, m.url, m.route, m.loadfactor, 0, m.max);
      blk.error_until[slot].store(0);
      blk.fail_run[slot].store(0);
    } else {
      // A member the reload keeps: its counters stay, untouched (workers of
      // the old generation count in them while this runs; what a dead
      // worker held was given back when it was reaped), and a drain or
      // disable set at run time (pillarctl) survives; the rest is the config's.
      uint32_t kept = st.status_flags.load() & (kStatusDrain | kStatusDisabled | kStatusError);
      flags |= kept;
      configure_member(st, m.url, m.route, m.loadfactor, 0, m.max);
    }
    st.status_flags.store(flags);
    present[static_cast<size_t>(slot)] = true;
    if (b->cfg_index.size() <= static_cast<size_t>(slot)) b->cfg_index.resize(static_cast<size_t>(slot) + 1, -1);
    b->cfg_index[static_cast<size_t>(slot)] = static_cast<int>(i);
  }
  // Members the configuration no longer has are never picked again.
  b->cfg_index.resize(blk.used.load(), -1);
  for (uint32_t s = 0; s < blk.used.load(); ++s) {
    if (!present[s]) blk.members[s].status_flags.fetch_or(kStatusStopped);
  }
  switch (cfg.lbmethod) {
    case config::LbMethod::ByRequests: b->method = LbMethod::ByRequests; break;
    case config::LbMethod::ByTraffic: b->method = LbMethod::ByTraffic; break;
    case config::LbMethod::ByBusyness: b->method = LbMethod::ByBusyness; break;
    case config::LbMethod::SourceHash: b->method = LbMethod::SourceHash; break;
    case config::LbMethod::ConsistentHash: b->method = LbMethod::ConsistentHash; break;
  }
  return b;
}

}  // namespace pillar::proxy

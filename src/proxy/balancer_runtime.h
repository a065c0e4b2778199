// The run-time side of one balancer: its members' states (counters and
// status flags the picking algorithms read and update), node-wide in shared
// memory when the master provides a MemberTable, and the configuration they
// came from. Slots are the block's: a slot's member may have left the
// configuration (then it is Stopped and never picked).
#pragma once
#include <memory>
#include <span>
#include <vector>

#include "config/model.h"
#include "proxy/balancer.h"
#include "proxy/member_table.h"

namespace pillar::proxy {

struct BalancerRuntime {
  const config::BalancerConfig* cfg = nullptr;
  BalancerBlock* block = nullptr;
  MemberTable* table = nullptr;  // null: a private block, nobody else counts in it
  std::vector<int> cfg_index;  // per slot: index into cfg->members, or -1
  LbMethod method = LbMethod::ByRequests;

  // The slots this runtime knows: a member added later (by a newer
  // generation) is not picked by workers that have no configuration for it.
  std::span<MemberState> span() { return {block->members, cfg_index.size()}; }
  std::atomic<uint64_t>& error_until(int slot) { return block->error_until[slot]; }
  // The status flags as balancer-manager and pillarctl show them: a member
  // passive checks took out (inside its retry= back-off at `now_ms`,
  // monotonic) shows Error ("E", "Err") as Apache's does after a failed
  // request, though the flag itself is not set (it is the health checks').
  uint32_t shown_flags(int slot, uint64_t now_ms) const {
    uint32_t f = block->members[slot].status_flags.load(std::memory_order_relaxed);
    return block->error_until[slot].load(std::memory_order_relaxed) > now_ms ? f | kStatusError : f;
  }
  // A slot's reference for the scoreboard's busy records; 0 with a private block.
  uint32_t member_ref(int slot) const { return table ? table->ref(*block, slot) : 0; }
  const config::BalancerMemberConfig& member_cfg(int slot) const {
    return cfg->members[static_cast<size_t>(cfg_index[static_cast<size_t>(slot)])];
  }

  // `table` null: a private block (tests, tools). Runs in the master.
  static std::unique_ptr<BalancerRuntime> build(const config::BalancerConfig& cfg, MemberTable* table,
                                                std::string& error);

 private:
  std::unique_ptr<BalancerBlock> local_;
};

// The name a balancer's block is found by: "app" for balancer://app, the
// target URL for a direct ProxyPass.
std::string balancer_key(const config::BalancerConfig& cfg);

}  // namespace pillar::proxy

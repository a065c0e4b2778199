// Balancer members' states in shared memory, node-wide: every worker picks
// from and counts into the same MemberState, so weights, busy counts, `max`,
// health results and run-time changes (drain, disable, weight) hold across
// all worker processes. Each balancer has a block of slots found by its
// name, and each member a slot in it found by its URL, so a graceful reload
// keeps the state of members it keeps (a drained member stays drained).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/balancer.h"
#include "proxy/sticky.h"

namespace pillar::proxy {

struct BalancerBlock {
  static constexpr size_t kSlots = 64;
  static constexpr size_t kNameMax = 64;
  static constexpr size_t kUrlMax = 128;
  char name[kNameMax];
  std::atomic<uint32_t> used{0};   // slots ever assigned (they are never reused for another URL)
  char urls[kSlots][kUrlMax];
  MemberState members[kSlots];
  std::atomic<uint64_t> error_until[kSlots];  // passive ejection: not picked before (CLOCK_MONOTONIC ms)
  std::atomic<uint32_t> fail_run[kSlots];     // consecutive failures (reset by a response)
  std::atomic<uint8_t> persistence_ready{0};
  PersistenceTable<1024> persistence;         // client address -> member (ProxySet persistence=)
};

struct MemberTable {
  static constexpr size_t kBalancers = 64;
  std::atomic<uint32_t> count{0};
  uint64_t nonce = 0;  // balancer-manager forms carry it (set by the master at start)
  BalancerBlock blocks[kBalancers];

  // Master only (not thread-safe among writers). The block of `name`, added
  // when new; null when the table is full.
  BalancerBlock* block(std::string_view name);
  // The slot of `url` in `b`, added (and initialised) when new; -1 when full.
  int slot(BalancerBlock& b, std::string_view url, bool* added = nullptr);
  const BalancerBlock* find(std::string_view name) const;

  // A member as one non-zero word, for the busy counts recorded in the
  // scoreboard (acquire_recorded): (block index + 1) << 16 | slot.
  uint32_t ref(const BalancerBlock& b, int slot) const;
  // The master, for a reaped worker's records: gives back the busy count
  // `ref` stands for. 0 or a reference to nothing does nothing.
  void release_ref(uint32_t ref);
};

}  // namespace pillar::proxy

// What the VRRP process publishes for server-status, metrics and pillarctl:
// plain data in shared memory, written by the VRRP process only.
#pragma once
#include <atomic>
#include <cstdint>

namespace pillar::core::shm {

struct VrrpStatusEntry {
  char name[32];
  char interface[16];
  std::atomic<uint8_t> used{0};
  std::atomic<uint8_t> state{0};          // ha::VrrpState
  std::atomic<uint8_t> priority{0};
  std::atomic<uint8_t> vrid{0};
  std::atomic<uint32_t> master_addr{0};   // network order
  std::atomic<uint64_t> transitions{0};
  std::atomic<uint64_t> adverts_sent{0};
  std::atomic<uint64_t> adverts_received{0};
  std::atomic<uint64_t> dropped[12]{};    // by ha::DecodeError, [11] = other VRID / own packets
  std::atomic<int64_t> last_transition_ms{0};
};

struct VrrpStatusTable {
  static constexpr int kMax = 16;
  VrrpStatusEntry entries[kMax];
};

}  // namespace pillar::core::shm

// The RFC 5798 §6.4 state machine of one virtual router, with no I/O and no
// clock of its own: the caller feeds it events with the current time (ms)
// and carries out the actions it returns. Unit-tested with a fake clock.
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <vector>

namespace pillar::ha {

enum class VrrpState : uint8_t { Init, Backup, Master, Fault };
const char* to_string(VrrpState s);

struct VrrpParams {
  uint8_t vrid = 1;
  uint8_t priority = 100;           // 1..255; 255 = address owner (becomes master at once)
  uint16_t advert_interval_cs = 100;
  bool preempt = true;
  uint32_t preempt_delay_ms = 0;    // Preempt_Delay: a backup waits this long after start before preempting
  bool accept_mode = true;
  in_addr primary{};                // our own address on the interface (ties: higher address wins)
};

struct VrrpAction {
  enum class Kind : uint8_t {
    SendAdvert,      // with `priority` (0 on shutdown)
    AddAddresses,    // take the virtual addresses
    RemoveAddresses,
    GratuitousArp,   // for every virtual address
    Notify,          // state changed to `state` (run NotifyMaster/Backup/Fault)
  };
  Kind kind;
  uint8_t priority = 0;
  VrrpState state = VrrpState::Init;
};

class VrrpMachine {
 public:
  explicit VrrpMachine(const VrrpParams& p);

  // Each returns the actions to take now, in order.
  std::vector<VrrpAction> startup(uint64_t now_ms);
  std::vector<VrrpAction> shutdown(uint64_t now_ms);  // master: advert with priority 0, release addresses
  // A valid advertisement for our VRID from `src` (already checked by the codec).
  std::vector<VrrpAction> on_advert(uint64_t now_ms, in_addr src, uint8_t priority, uint16_t interval_cs);
  std::vector<VrrpAction> on_timer(uint64_t now_ms);  // call at (or after) next_deadline()
  // TrackHealth: faulty -> Fault (release addresses; a master first sends
  // priority 0 so the peer takes over at once); healthy again -> Backup.
  std::vector<VrrpAction> set_fault(uint64_t now_ms, bool faulty);

  VrrpState state() const { return state_; }
  uint64_t next_deadline() const;  // absolute ms; UINT64_MAX when no timer runs
  in_addr master_address() const { return master_addr_; }  // last known master (ours when Master)
  uint16_t master_adver_interval_cs() const { return master_adver_interval_cs_; }
  uint64_t transitions() const { return transitions_; }

  // RFC 5798 §6.1 derived values, in ms.
  uint64_t skew_time_ms() const;
  uint64_t master_down_interval_ms() const;

 private:
  void to_backup(uint64_t now_ms, std::vector<VrrpAction>& out);
  void to_master(uint64_t now_ms, std::vector<VrrpAction>& out);

  VrrpParams p_;
  VrrpState state_ = VrrpState::Init;
  uint16_t master_adver_interval_cs_;
  uint64_t adver_deadline_ = UINT64_MAX;
  uint64_t master_down_deadline_ = UINT64_MAX;
  uint64_t started_ms_ = 0;
  in_addr master_addr_{};
  uint64_t transitions_ = 0;
};

}  // namespace pillar::ha

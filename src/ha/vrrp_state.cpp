// RFC 5798 §6.4 state machine (see vrrp_state.h). No I/O, no clock: every
// entry point takes `now_ms` and returns the actions for the caller to run.
//
// Decisions where the RFC leaves room (or where we follow keepalived):
//  - Timers are kept in whole milliseconds. Skew_Time is
//    ((256 - Priority) * Master_Adver_Interval) / 256 centiseconds, i.e.
//    (256 - Priority) * interval_cs * 10 / 256 ms, rounded DOWN (integer
//    division, as keepalived does in its own timer unit). Priority 100,
//    interval 100 cs: 156 * 1000 / 256 = 609.375 -> 609 ms; Master_Down_Interval
//    = 3 * 1000 + 609 = 3609 ms.
//  - Preempt_Delay (keepalived's preempt_delay, not in RFC 5798) counts from
//    startup(), and again from leaving Fault (recovery is "like startup").
//    While it runs a Backup treats a lower-priority master as if preempt were
//    off: it accepts its adverts and keeps resetting Master_Down_Timer.
//  - A Master that hears a lower-priority advert (or equal priority from a
//    lower address) is hearing a second master, e.g. after a split brain
//    heals. RFC 5798 says to discard it; like keepalived we answer at once
//    with an advert (so the loser backs off now rather than at our next
//    Adver_Timer) and re-send gratuitous ARP, because while both were master
//    the loser's ARPs may have pointed neighbours' caches at its MAC. This
//    does not reset Adver_Timer (unlike the priority-0 case, where the RFC
//    says to).
//  - Adverts whose source is our own primary address (a looped-back copy of
//    our own multicast) are ignored in every state, so the answer above can
//    never feed on itself.
//  - Learning Master_Adver_Interval ignores an interval of 0 (the codec
//    rejects those anyway).
#include "ha/vrrp_state.h"

#include <arpa/inet.h>

namespace pillar::ha {

namespace {

using Kind = VrrpAction::Kind;

VrrpAction act(Kind k, uint8_t priority = 0, VrrpState st = VrrpState::Init) {
  VrrpAction a{k};
  a.priority = priority;
  a.state = st;
  return a;
}

VrrpAction notify(VrrpState st) { return act(Kind::Notify, 0, st); }

// RFC 5798 §6.4.3: "the primary IP address of the sender is greater than the
// local primary IP address" — compared as unsigned 32-bit host-order values.
bool addr_greater(in_addr a, in_addr b) { return ntohl(a.s_addr) > ntohl(b.s_addr); }

}  // namespace

const char* to_string(VrrpState s) {
  switch (s) {
    case VrrpState::Init:
      return "INIT";
    case VrrpState::Backup:
      return "BACKUP";
    case VrrpState::Master:
      return "MASTER";
    case VrrpState::Fault:
      return "FAULT";
  }
  return "?";
}

VrrpMachine::VrrpMachine(const VrrpParams& p) : p_(p), master_adver_interval_cs_(p.advert_interval_cs) {}

uint64_t VrrpMachine::skew_time_ms() const {
  return (256u - p_.priority) * uint64_t{master_adver_interval_cs_} * 10u / 256u;
}

uint64_t VrrpMachine::master_down_interval_ms() const {
  return 3u * uint64_t{master_adver_interval_cs_} * 10u + skew_time_ms();
}

uint64_t VrrpMachine::next_deadline() const {
  switch (state_) {
    case VrrpState::Master:
      return adver_deadline_;
    case VrrpState::Backup:
      return master_down_deadline_;
    default:
      return UINT64_MAX;
  }
}

// Enter Backup with Master_Adver_Interval already set by the caller.
void VrrpMachine::to_backup(uint64_t now_ms, std::vector<VrrpAction>& out) {
  if (state_ != VrrpState::Backup) ++transitions_;
  state_ = VrrpState::Backup;
  adver_deadline_ = UINT64_MAX;
  master_down_deadline_ = now_ms + master_down_interval_ms();
  out.push_back(notify(VrrpState::Backup));
}

void VrrpMachine::to_master(uint64_t now_ms, std::vector<VrrpAction>& out) {
  if (state_ != VrrpState::Master) ++transitions_;
  state_ = VrrpState::Master;
  master_adver_interval_cs_ = p_.advert_interval_cs;  // we are the master now
  master_addr_ = p_.primary;
  master_down_deadline_ = UINT64_MAX;
  adver_deadline_ = now_ms + uint64_t{p_.advert_interval_cs} * 10u;
  out.push_back(act(Kind::SendAdvert, p_.priority));
  out.push_back(act(Kind::AddAddresses));
  out.push_back(act(Kind::GratuitousArp));
  out.push_back(notify(VrrpState::Master));
}

std::vector<VrrpAction> VrrpMachine::startup(uint64_t now_ms) {
  std::vector<VrrpAction> out;
  if (state_ != VrrpState::Init) return out;
  started_ms_ = now_ms;
  master_adver_interval_cs_ = p_.advert_interval_cs;
  master_addr_ = in_addr{};
  if (p_.priority == 255) {
    to_master(now_ms, out);
  } else {
    to_backup(now_ms, out);
  }
  return out;
}

std::vector<VrrpAction> VrrpMachine::shutdown(uint64_t /*now_ms*/) {
  std::vector<VrrpAction> out;
  if (state_ == VrrpState::Init) return out;
  if (state_ == VrrpState::Master) {
    out.push_back(act(Kind::SendAdvert, 0));
    out.push_back(act(Kind::RemoveAddresses));
    master_addr_ = in_addr{};
  }
  state_ = VrrpState::Init;
  ++transitions_;
  adver_deadline_ = UINT64_MAX;
  master_down_deadline_ = UINT64_MAX;
  return out;
}

std::vector<VrrpAction> VrrpMachine::on_advert(uint64_t now_ms, in_addr src, uint8_t priority,
                                               uint16_t interval_cs) {
  std::vector<VrrpAction> out;
  if (p_.primary.s_addr != 0 && src.s_addr == p_.primary.s_addr) return out;  // our own, looped back

  if (state_ == VrrpState::Backup) {
    if (priority == 0) {  // the master is stepping down: take over after Skew_Time
      master_down_deadline_ = now_ms + skew_time_ms();
      return out;
    }
    const bool in_preempt_delay = now_ms < started_ms_ + p_.preempt_delay_ms;
    if (!p_.preempt || priority >= p_.priority || in_preempt_delay) {
      if (interval_cs != 0) master_adver_interval_cs_ = interval_cs;
      master_down_deadline_ = now_ms + master_down_interval_ms();
      master_addr_ = src;
    }
    // else: a lower-priority master and we preempt: let Master_Down_Timer run out.
    return out;
  }

  if (state_ == VrrpState::Master) {
    if (priority == 0) {
      // Another master stepped down (a healed split, see below): assert
      // ourselves at once, and re-announce the addresses it held, so
      // neighbours' ARP caches point at us again.
      out.push_back(act(Kind::SendAdvert, p_.priority));
      out.push_back(act(Kind::GratuitousArp));
      adver_deadline_ = now_ms + uint64_t{p_.advert_interval_cs} * 10u;
      return out;
    }
    if (priority > p_.priority || (priority == p_.priority && addr_greater(src, p_.primary))) {
      // We lose to a stronger master (a split healing, or a preemption). We
      // may have answered ARP for the addresses meanwhile: a priority-0
      // advert makes the winner re-send gratuitous ARP even when it never
      // heard us as master (keepalived's users report pairs left stale here).
      out.push_back(act(Kind::SendAdvert, 0));
      out.push_back(act(Kind::RemoveAddresses));
      if (interval_cs != 0) master_adver_interval_cs_ = interval_cs;
      master_addr_ = src;
      to_backup(now_ms, out);
      return out;
    }
    // A second, weaker master (split brain healing). The RFC discards this;
    // keepalived answers with an advert so the other backs off at once, and
    // re-sends gratuitous ARP so neighbours whose caches the other master
    // overwrote point at us again.
    out.push_back(act(Kind::SendAdvert, p_.priority));
    out.push_back(act(Kind::GratuitousArp));
    return out;
  }
  return out;  // Init, Fault: not participating
}

std::vector<VrrpAction> VrrpMachine::on_timer(uint64_t now_ms) {
  std::vector<VrrpAction> out;
  if (state_ == VrrpState::Backup && now_ms >= master_down_deadline_) {
    to_master(now_ms, out);
  } else if (state_ == VrrpState::Master && now_ms >= adver_deadline_) {
    out.push_back(act(Kind::SendAdvert, p_.priority));
    adver_deadline_ = now_ms + uint64_t{p_.advert_interval_cs} * 10u;
  }
  return out;
}

std::vector<VrrpAction> VrrpMachine::set_fault(uint64_t now_ms, bool faulty) {
  std::vector<VrrpAction> out;
  if (faulty) {
    if (state_ == VrrpState::Fault) return out;
    if (state_ == VrrpState::Master) {
      out.push_back(act(Kind::SendAdvert, 0));  // the peer takes over after its Skew_Time
      out.push_back(act(Kind::RemoveAddresses));
      master_addr_ = in_addr{};
    }
    state_ = VrrpState::Fault;
    ++transitions_;
    adver_deadline_ = UINT64_MAX;
    master_down_deadline_ = UINT64_MAX;
    out.push_back(notify(VrrpState::Fault));
    return out;
  }
  if (state_ != VrrpState::Fault) return out;
  // Healthy again: start over as at startup (Init -> Backup, or Master for the owner).
  state_ = VrrpState::Init;  // not counted: Fault -> Backup/Master is one transition
  return startup(now_ms);
}

}  // namespace pillar::ha

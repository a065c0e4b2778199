// RFC 5798 §6.4 state machine, driven by a fake clock (a plain uint64_t ms).
#include "ha/vrrp_state.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

using pillar::ha::VrrpAction;
using pillar::ha::VrrpMachine;
using pillar::ha::VrrpParams;
using pillar::ha::VrrpState;
using Kind = VrrpAction::Kind;

namespace {

in_addr ip(const char* s) {
  in_addr a{};
  inet_pton(AF_INET, s, &a);
  return a;
}

std::string ip_str(in_addr a) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

VrrpParams params(uint8_t priority, const char* primary = "10.0.0.1", uint16_t interval_cs = 100) {
  VrrpParams p;
  p.priority = priority;
  p.advert_interval_cs = interval_cs;
  p.primary = ip(primary);
  return p;
}

// "SendAdvert(100) AddAddresses GratuitousArp Notify(MASTER)": readable on failure.
std::string str(const std::vector<VrrpAction>& acts) {
  std::string s;
  for (const auto& a : acts) {
    if (!s.empty()) s += ' ';
    switch (a.kind) {
      case Kind::SendAdvert:
        s += "SendAdvert(" + std::to_string(a.priority) + ")";
        break;
      case Kind::AddAddresses:
        s += "AddAddresses";
        break;
      case Kind::RemoveAddresses:
        s += "RemoveAddresses";
        break;
      case Kind::GratuitousArp:
        s += "GratuitousArp";
        break;
      case Kind::Notify:
        s += std::string("Notify(") + pillar::ha::to_string(a.state) + ")";
        break;
    }
  }
  return s;
}

constexpr uint64_t kNever = UINT64_MAX;
constexpr uint64_t T0 = 1'000'000;  // an arbitrary non-zero start time

}  // namespace

// ---- derived timer values (§6.1) ------------------------------------------------

TEST(VrrpTimers, SkewAndDownIntervalPriority100Interval1s) {
  VrrpMachine m(params(100));
  // (256 - 100) * 1000 ms / 256 = 609.375 ms, rounded down.
  EXPECT_EQ(m.skew_time_ms(), 609u);
  EXPECT_EQ(m.master_down_interval_ms(), 3609u);
}

TEST(VrrpTimers, SkewRoundsDownForOtherPriorities) {
  EXPECT_EQ(VrrpMachine(params(254)).skew_time_ms(), 7u);    // 2 * 1000 / 256 = 7.8125
  EXPECT_EQ(VrrpMachine(params(255)).skew_time_ms(), 3u);    // 1 * 1000 / 256 = 3.90625
  EXPECT_EQ(VrrpMachine(params(50)).skew_time_ms(), 804u);   // 206 * 1000 / 256 = 804.6875
  EXPECT_EQ(VrrpMachine(params(1)).skew_time_ms(), 996u);    // 255 * 1000 / 256 = 996.09375
  EXPECT_EQ(VrrpMachine(params(1)).master_down_interval_ms(), 3996u);
  // Sub-second interval (v3): 255 * 10 ms / 256 = 9.96 -> 9; 3 * 10 + 9.
  EXPECT_EQ(VrrpMachine(params(1, "10.0.0.1", 1)).skew_time_ms(), 9u);
  EXPECT_EQ(VrrpMachine(params(1, "10.0.0.1", 1)).master_down_interval_ms(), 39u);
  // Largest v3 interval (4095 cs): 156 * 40950 / 256 = 24953.9 -> 24953.
  EXPECT_EQ(VrrpMachine(params(100, "10.0.0.1", 4095)).master_down_interval_ms(), 3u * 40950 + 24953);
}

TEST(VrrpTimers, MasterAdverIntervalStartsAsOurs) {
  VrrpMachine m(params(100, "10.0.0.1", 250));
  EXPECT_EQ(m.master_adver_interval_cs(), 250u);
  EXPECT_EQ(m.master_down_interval_ms(), 3u * 2500 + 156u * 2500 / 256);
}

TEST(VrrpTimers, BackupLearnsMasterAdverIntervalFromAdverts) {
  VrrpMachine m(params(100));
  m.startup(T0);
  m.on_advert(T0 + 10, ip("10.0.0.9"), 200, 200);
  EXPECT_EQ(m.master_adver_interval_cs(), 200u);
  // Skew uses the learned interval: 156 * 2000 / 256 = 1218.75 -> 1218.
  EXPECT_EQ(m.skew_time_ms(), 1218u);
  EXPECT_EQ(m.master_down_interval_ms(), 7218u);
  EXPECT_EQ(m.next_deadline(), T0 + 10 + 7218);
}

TEST(VrrpTimers, ToStringNames) {
  EXPECT_STREQ(pillar::ha::to_string(VrrpState::Init), "INIT");
  EXPECT_STREQ(pillar::ha::to_string(VrrpState::Backup), "BACKUP");
  EXPECT_STREQ(pillar::ha::to_string(VrrpState::Master), "MASTER");
  EXPECT_STREQ(pillar::ha::to_string(VrrpState::Fault), "FAULT");
}

// ---- startup (§6.4.1) -------------------------------------------------------------

TEST(VrrpStartup, OwnerWithPriority255StartsMaster) {
  VrrpMachine m(params(255));
  EXPECT_EQ(m.state(), VrrpState::Init);
  EXPECT_EQ(m.next_deadline(), kNever);
  EXPECT_EQ(str(m.startup(T0)), "SendAdvert(255) AddAddresses GratuitousArp Notify(MASTER)");
  EXPECT_EQ(m.state(), VrrpState::Master);
  EXPECT_EQ(m.next_deadline(), T0 + 1000);  // Adver_Timer = Advertisement_Interval
  EXPECT_EQ(ip_str(m.master_address()), "10.0.0.1");
  EXPECT_EQ(m.transitions(), 1u);
}

TEST(VrrpStartup, NonOwnerStartsBackupWithMasterDownTimer) {
  VrrpMachine m(params(100));
  EXPECT_EQ(str(m.startup(T0)), "Notify(BACKUP)");
  EXPECT_EQ(m.state(), VrrpState::Backup);
  EXPECT_EQ(m.next_deadline(), T0 + 3609);
  EXPECT_EQ(ip_str(m.master_address()), "0.0.0.0");  // no master known yet
  EXPECT_EQ(m.transitions(), 1u);
}

TEST(VrrpStartup, SecondStartupIsIgnored) {
  VrrpMachine m(params(100));
  m.startup(T0);
  EXPECT_TRUE(m.startup(T0 + 500).empty());
  EXPECT_EQ(m.next_deadline(), T0 + 3609);
  EXPECT_EQ(m.transitions(), 1u);
}

// ---- Backup (§6.4.2) ---------------------------------------------------------------

TEST(VrrpBackup, TakesOverAfterMasterDownIntervalButNotBefore) {
  VrrpMachine m(params(100));
  m.startup(T0);
  EXPECT_TRUE(m.on_timer(T0 + 1000).empty());
  EXPECT_TRUE(m.on_timer(T0 + 3608).empty());
  EXPECT_EQ(m.state(), VrrpState::Backup);
  EXPECT_EQ(str(m.on_timer(T0 + 3609)), "SendAdvert(100) AddAddresses GratuitousArp Notify(MASTER)");
  EXPECT_EQ(m.state(), VrrpState::Master);
  EXPECT_EQ(m.next_deadline(), T0 + 3609 + 1000);
  EXPECT_EQ(ip_str(m.master_address()), "10.0.0.1");
  EXPECT_EQ(m.transitions(), 2u);
}

TEST(VrrpBackup, LateTimerStillTakesOverAndArmsFromNow) {
  VrrpMachine m(params(100));
  m.startup(T0);
  EXPECT_EQ(str(m.on_timer(T0 + 5000)), "SendAdvert(100) AddAddresses GratuitousArp Notify(MASTER)");
  EXPECT_EQ(m.next_deadline(), T0 + 6000);
}

TEST(VrrpBackup, AdvertsKeepBackupDown) {
  VrrpMachine m(params(100));
  m.startup(T0);
  uint64_t t = T0;
  for (int i = 0; i < 30; ++i) {
    t += 1000;
    EXPECT_TRUE(m.on_advert(t, ip("10.0.0.2"), 150, 100).empty());
    EXPECT_EQ(m.next_deadline(), t + 3609);
    EXPECT_TRUE(m.on_timer(t + 999).empty());
  }
  EXPECT_EQ(m.state(), VrrpState::Backup);
  EXPECT_EQ(ip_str(m.master_address()), "10.0.0.2");
  EXPECT_EQ(m.transitions(), 1u);
  // The master goes silent: takeover exactly Master_Down_Interval after its last advert.
  EXPECT_TRUE(m.on_timer(t + 3608).empty());
  EXPECT_FALSE(m.on_timer(t + 3609).empty());
  EXPECT_EQ(m.state(), VrrpState::Master);
}

TEST(VrrpBackup, EqualPriorityAdvertKeepsBackupDown) {
  VrrpMachine m(params(100, "10.0.0.9"));  // even with a higher address than the master's
  m.startup(T0);
  m.on_advert(T0 + 3000, ip("10.0.0.2"), 100, 100);
  EXPECT_EQ(m.next_deadline(), T0 + 3000 + 3609);
  EXPECT_EQ(ip_str(m.master_address()), "10.0.0.2");
}

TEST(VrrpBackup, PreemptIgnoresLowerPriorityMaster) {
  VrrpMachine m(params(100));
  m.startup(T0);
  EXPECT_TRUE(m.on_advert(T0 + 1000, ip("10.0.0.2"), 50, 100).empty());
  EXPECT_TRUE(m.on_advert(T0 + 2000, ip("10.0.0.2"), 50, 300).empty());
  EXPECT_EQ(m.next_deadline(), T0 + 3609);           // not reset
  EXPECT_EQ(m.master_adver_interval_cs(), 100u);     // not learned
  EXPECT_EQ(ip_str(m.master_address()), "0.0.0.0");  // not remembered
  EXPECT_FALSE(m.on_timer(T0 + 3609).empty());
  EXPECT_EQ(m.state(), VrrpState::Master);
}

TEST(VrrpBackup, NoPreemptAcceptsLowerPriorityMaster) {
  VrrpParams p = params(100);
  p.preempt = false;
  VrrpMachine m(p);
  m.startup(T0);
  for (uint64_t t = T0 + 1000; t <= T0 + 20000; t += 1000) {
    m.on_advert(t, ip("10.0.0.2"), 50, 100);
    EXPECT_TRUE(m.on_timer(t).empty());
  }
  EXPECT_EQ(m.state(), VrrpState::Backup);
  EXPECT_EQ(m.next_deadline(), T0 + 20000 + 3609);
  EXPECT_EQ(ip_str(m.master_address()), "10.0.0.2");
}

TEST(VrrpBackup, PreemptDelayHoldsOffPreemptionThenPreempts) {
  VrrpParams p = params(100);
  p.preempt_delay_ms = 10'000;
  VrrpMachine m(p);
  m.startup(T0);
  uint64_t t = T0;
  // During the delay a lower-priority master's adverts keep us down.
  for (t = T0 + 1000; t < T0 + 10'000; t += 1000) {
    m.on_advert(t, ip("10.0.0.2"), 50, 100);
    EXPECT_EQ(m.next_deadline(), t + 3609);
    EXPECT_TRUE(m.on_timer(t).empty());
  }
  EXPECT_EQ(m.state(), VrrpState::Backup);
  const uint64_t last_accepted = t - 1000;  // T0 + 9000
  // From T0 + 10000 on they are ignored; Master_Down_Timer runs out.
  for (; t < last_accepted + 3609; t += 1000) {
    m.on_advert(t, ip("10.0.0.2"), 50, 100);
    EXPECT_EQ(m.next_deadline(), last_accepted + 3609);
    EXPECT_TRUE(m.on_timer(t).empty());
  }
  EXPECT_EQ(str(m.on_timer(last_accepted + 3609)), "SendAdvert(100) AddAddresses GratuitousArp Notify(MASTER)");
}

TEST(VrrpBackup, PreemptDelayDoesNotDelayTakeoverFromASilentMaster) {
  VrrpParams p = params(100);
  p.preempt_delay_ms = 60'000;
  VrrpMachine m(p);
  m.startup(T0);
  EXPECT_FALSE(m.on_timer(T0 + 3609).empty());
  EXPECT_EQ(m.state(), VrrpState::Master);
}

TEST(VrrpBackup, PreemptDelayDoesNotApplyToHigherPriorityMaster) {
  VrrpParams p = params(100);
  p.preempt_delay_ms = 10'000;
  VrrpMachine m(p);
  m.startup(T0);
  m.on_advert(T0 + 20'000, ip("10.0.0.2"), 50, 100);  // after the delay: ignored
  m.on_advert(T0 + 1000, ip("10.0.0.3"), 200, 100);   // higher priority: always accepted
  EXPECT_EQ(m.next_deadline(), T0 + 1000 + 3609);
}

TEST(VrrpBackup, PriorityZeroAdvertTakesOverAfterSkewTime) {
  VrrpMachine m(params(100));
  m.startup(T0);
  m.on_advert(T0 + 1000, ip("10.0.0.2"), 150, 100);
  EXPECT_TRUE(m.on_advert(T0 + 1500, ip("10.0.0.2"), 0, 100).empty());
  EXPECT_EQ(m.next_deadline(), T0 + 1500 + 609);  // Skew_Time, not Master_Down_Interval
  EXPECT_TRUE(m.on_timer(T0 + 1500 + 608).empty());
  EXPECT_EQ(str(m.on_timer(T0 + 1500 + 609)), "SendAdvert(100) AddAddresses GratuitousArp Notify(MASTER)");
}

TEST(VrrpBackup, PriorityZeroAdvertFromLowerPriorityMasterAlsoShortensTimer) {
  VrrpMachine m(params(100));
  m.startup(T0);
  m.on_advert(T0 + 100, ip("10.0.0.2"), 0, 100);
  EXPECT_EQ(m.next_deadline(), T0 + 100 + 609);
}

// ---- Master (§6.4.3) ---------------------------------------------------------------

namespace {
VrrpMachine master_at(const VrrpParams& p, uint64_t now) {
  VrrpMachine m(p);
  m.startup(now);
  if (m.state() == VrrpState::Backup) m.on_timer(m.next_deadline());
  return m;
}
}  // namespace

TEST(VrrpMaster, AdverTimerSendsAndRearms) {
  VrrpMachine m(params(255));
  m.startup(T0);
  EXPECT_TRUE(m.on_timer(T0 + 999).empty());
  EXPECT_EQ(str(m.on_timer(T0 + 1000)), "SendAdvert(255)");
  EXPECT_EQ(m.next_deadline(), T0 + 2000);
  EXPECT_EQ(str(m.on_timer(T0 + 2003)), "SendAdvert(255)");  // late: re-armed from now
  EXPECT_EQ(m.next_deadline(), T0 + 3003);
  EXPECT_EQ(m.state(), VrrpState::Master);
  EXPECT_EQ(m.transitions(), 1u);
}

TEST(VrrpMaster, AdvertisesWithItsOwnIntervalAndPriority) {
  VrrpMachine m = master_at(params(120, "10.0.0.1", 50), T0);
  const uint64_t t = m.next_deadline() - 500;
  EXPECT_EQ(str(m.on_timer(t + 500)), "SendAdvert(120)");
  EXPECT_EQ(m.next_deadline(), t + 1000);
}

TEST(VrrpMaster, PriorityZeroAdvertAnswersAtOnceAndRearms) {
  VrrpMachine m(params(255));
  m.startup(T0);
  EXPECT_EQ(str(m.on_advert(T0 + 400, ip("10.0.0.2"), 0, 100)), "SendAdvert(255) GratuitousArp");
  EXPECT_EQ(m.next_deadline(), T0 + 1400);
  EXPECT_EQ(m.state(), VrrpState::Master);
}

TEST(VrrpMaster, HigherPriorityAdvertMakesItBackup) {
  VrrpMachine m = master_at(params(100), T0);
  const uint64_t t = T0 + 10'000;
  EXPECT_EQ(str(m.on_advert(t, ip("10.0.0.2"), 200, 200)), "SendAdvert(0) RemoveAddresses Notify(BACKUP)");
  EXPECT_EQ(m.state(), VrrpState::Backup);
  EXPECT_EQ(m.master_adver_interval_cs(), 200u);  // learned
  EXPECT_EQ(m.next_deadline(), t + 7218);         // Master_Down_Interval from the learned interval
  EXPECT_EQ(ip_str(m.master_address()), "10.0.0.2");
  EXPECT_EQ(m.transitions(), 3u);  // Init->Backup->Master->Backup
  EXPECT_TRUE(m.on_timer(t + 7217).empty());
}

TEST(VrrpMaster, EqualPriorityHigherAddressWins) {
  VrrpMachine m = master_at(params(100, "10.0.0.5"), T0);
  EXPECT_EQ(str(m.on_advert(T0 + 5000, ip("10.0.0.6"), 100, 100)), "SendAdvert(0) RemoveAddresses Notify(BACKUP)");
  EXPECT_EQ(m.state(), VrrpState::Backup);
}

TEST(VrrpMaster, EqualPriorityLowerAddressKeepsMastership) {
  VrrpMachine m = master_at(params(100, "10.0.0.5"), T0);
  const uint64_t deadline = m.next_deadline();
  EXPECT_EQ(str(m.on_advert(T0 + 4000, ip("10.0.0.4"), 100, 100)), "SendAdvert(100) GratuitousArp");
  EXPECT_EQ(m.state(), VrrpState::Master);
  EXPECT_EQ(m.next_deadline(), deadline);  // regular cadence unchanged
}

TEST(VrrpMaster, AddressTieBreakComparesInHostOrder) {
  // 11.0.0.1 > 10.0.0.2 as numbers, but its last stored byte is smaller, so a
  // compare of the raw s_addr on a little-endian host would get it wrong.
  VrrpMachine a = master_at(params(100, "10.0.0.2"), T0);
  EXPECT_EQ(str(a.on_advert(T0 + 4000, ip("11.0.0.1"), 100, 100)), "SendAdvert(0) RemoveAddresses Notify(BACKUP)");
  VrrpMachine b = master_at(params(100, "11.0.0.1"), T0);
  EXPECT_EQ(str(b.on_advert(T0 + 4000, ip("10.0.0.2"), 100, 100)), "SendAdvert(100) GratuitousArp");
  VrrpMachine c = master_at(params(100, "192.168.1.10"), T0);
  EXPECT_EQ(str(c.on_advert(T0 + 4000, ip("192.168.2.1"), 100, 100)), "SendAdvert(0) RemoveAddresses Notify(BACKUP)");
}

TEST(VrrpMaster, LowerPriorityMasterGetsAnAdvertAndWeReArp) {
  VrrpMachine m(params(255));
  m.startup(T0);
  EXPECT_EQ(str(m.on_advert(T0 + 300, ip("10.0.0.2"), 100, 100)), "SendAdvert(255) GratuitousArp");
  EXPECT_EQ(m.state(), VrrpState::Master);
  EXPECT_EQ(ip_str(m.master_address()), "10.0.0.1");
  EXPECT_EQ(m.next_deadline(), T0 + 1000);
}

TEST(VrrpMaster, OwnLoopedBackAdvertIsIgnored) {
  VrrpMachine m = master_at(params(100), T0);
  EXPECT_TRUE(m.on_advert(T0 + 4000, ip("10.0.0.1"), 100, 100).empty());
  VrrpMachine b(params(100));
  b.startup(T0);
  b.on_advert(T0 + 1000, ip("10.0.0.1"), 100, 100);
  EXPECT_EQ(b.next_deadline(), T0 + 3609);
}

// ---- shutdown -------------------------------------------------------------------------

TEST(VrrpShutdown, MasterSendsPriorityZeroAndReleasesAddresses) {
  VrrpMachine m(params(255));
  m.startup(T0);
  EXPECT_EQ(str(m.shutdown(T0 + 500)), "SendAdvert(0) RemoveAddresses");
  EXPECT_EQ(m.state(), VrrpState::Init);
  EXPECT_EQ(m.next_deadline(), kNever);
  EXPECT_EQ(m.transitions(), 2u);
  EXPECT_TRUE(m.on_timer(T0 + 5000).empty());
}

TEST(VrrpShutdown, BackupJustStops) {
  VrrpMachine m(params(100));
  m.startup(T0);
  EXPECT_TRUE(m.shutdown(T0 + 500).empty());
  EXPECT_EQ(m.state(), VrrpState::Init);
  EXPECT_EQ(m.next_deadline(), kNever);
  EXPECT_TRUE(m.on_timer(T0 + 10'000).empty());
  EXPECT_EQ(m.state(), VrrpState::Init);
}

TEST(VrrpShutdown, InitIgnoresEverythingAndCanStartAgain) {
  VrrpMachine m(params(100));
  EXPECT_TRUE(m.shutdown(T0).empty());
  EXPECT_TRUE(m.on_advert(T0, ip("10.0.0.2"), 0, 100).empty());
  EXPECT_TRUE(m.on_advert(T0, ip("10.0.0.2"), 50, 100).empty());
  EXPECT_TRUE(m.on_timer(T0 + 100'000).empty());
  EXPECT_EQ(m.transitions(), 0u);
  EXPECT_EQ(str(m.startup(T0 + 1)), "Notify(BACKUP)");
  EXPECT_EQ(m.next_deadline(), T0 + 1 + 3609);
}

// ---- fault ----------------------------------------------------------------------------

TEST(VrrpFault, MasterSendsPriorityZeroReleasesAndGoesFault) {
  VrrpMachine m = master_at(params(100), T0);
  EXPECT_EQ(str(m.set_fault(T0 + 5000, true)), "SendAdvert(0) RemoveAddresses Notify(FAULT)");
  EXPECT_EQ(m.state(), VrrpState::Fault);
  EXPECT_EQ(m.next_deadline(), kNever);
  // No timers, no reaction to adverts while faulty.
  EXPECT_TRUE(m.on_timer(T0 + 100'000).empty());
  EXPECT_TRUE(m.on_advert(T0 + 6000, ip("10.0.0.2"), 0, 100).empty());
  EXPECT_TRUE(m.on_advert(T0 + 6000, ip("10.0.0.2"), 50, 100).empty());
  EXPECT_EQ(m.state(), VrrpState::Fault);
}

TEST(VrrpFault, BackupAndInitOnlyNotify) {
  VrrpMachine b(params(100));
  b.startup(T0);
  EXPECT_EQ(str(b.set_fault(T0 + 10, true)), "Notify(FAULT)");
  EXPECT_EQ(b.state(), VrrpState::Fault);
  EXPECT_EQ(b.next_deadline(), kNever);
  VrrpMachine i(params(100));
  EXPECT_EQ(str(i.set_fault(T0, true)), "Notify(FAULT)");
  EXPECT_EQ(i.state(), VrrpState::Fault);
}

TEST(VrrpFault, RepeatedReportsAreNoOps) {
  VrrpMachine m(params(100));
  m.startup(T0);
  EXPECT_TRUE(m.set_fault(T0 + 1, false).empty());  // healthy while healthy
  EXPECT_EQ(m.state(), VrrpState::Backup);
  EXPECT_EQ(m.next_deadline(), T0 + 3609);
  m.set_fault(T0 + 2, true);
  EXPECT_TRUE(m.set_fault(T0 + 3, true).empty());
  EXPECT_EQ(m.transitions(), 2u);
}

TEST(VrrpFault, RecoveryGoesBackup) {
  VrrpMachine m = master_at(params(100), T0);
  m.set_fault(T0 + 5000, true);
  EXPECT_EQ(str(m.set_fault(T0 + 9000, false)), "Notify(BACKUP)");
  EXPECT_EQ(m.state(), VrrpState::Backup);
  EXPECT_EQ(m.next_deadline(), T0 + 9000 + 3609);
  EXPECT_EQ(m.transitions(), 4u);  // Backup, Master, Fault, Backup
  EXPECT_FALSE(m.on_timer(T0 + 9000 + 3609).empty());
  EXPECT_EQ(m.state(), VrrpState::Master);
}

TEST(VrrpFault, OwnerRecoversStraightToMaster) {
  VrrpMachine m(params(255));
  m.startup(T0);
  m.set_fault(T0 + 100, true);
  EXPECT_EQ(str(m.set_fault(T0 + 200, false)), "SendAdvert(255) AddAddresses GratuitousArp Notify(MASTER)");
  EXPECT_EQ(m.state(), VrrpState::Master);
  EXPECT_EQ(m.next_deadline(), T0 + 1200);
  EXPECT_EQ(m.transitions(), 3u);
}

TEST(VrrpFault, RecoveryRestartsPreemptDelay) {
  VrrpParams p = params(100);
  p.preempt_delay_ms = 10'000;
  VrrpMachine m(p);
  m.startup(T0);
  m.set_fault(T0 + 1000, true);
  m.set_fault(T0 + 50'000, false);  // long after the first delay ran out
  m.on_advert(T0 + 51'000, ip("10.0.0.2"), 50, 100);
  EXPECT_EQ(m.next_deadline(), T0 + 51'000 + 3609);  // accepted: in the new delay
}

TEST(VrrpTransitions, CountsEveryStateChangeOnly) {
  VrrpMachine m(params(100));
  EXPECT_EQ(m.transitions(), 0u);
  m.startup(T0);                                       // Init -> Backup
  m.on_advert(T0 + 1000, ip("10.0.0.2"), 150, 100);   // stays
  m.on_timer(T0 + 1000 + 3609);                        // -> Master
  m.on_timer(T0 + 1000 + 3609 + 1000);                 // stays (advert)
  m.on_advert(T0 + 6000, ip("10.0.0.2"), 50, 100);    // stays
  m.on_advert(T0 + 7000, ip("10.0.0.2"), 150, 100);   // -> Backup
  m.shutdown(T0 + 8000);                               // -> Init
  EXPECT_EQ(m.transitions(), 4u);
}

// ---- two machines on a tiny simulated network -----------------------------------------

namespace {

struct Node {
  Node(const char* address, uint8_t prio, bool preempt = true)
      : addr(ip(address)), m([&] {
          VrrpParams p = params(prio, address);
          p.preempt = preempt;
          return p;
        }()) {}
  in_addr addr;
  VrrpMachine m;
  bool alive = true;
  std::vector<std::pair<uint64_t, VrrpAction>> log;  // every action, timestamped
  uint64_t last_heard = 0;                           // when an advert last reached us
  uint64_t became_master = 0;
};

// Multicast LAN with a fixed 1 ms latency. `partitioned` drops everything.
struct Net {
  struct Packet {
    uint64_t at;
    size_t from;
    uint8_t priority;
  };
  std::vector<Node*> nodes;
  std::deque<Packet> wire;
  uint64_t now = T0;
  bool partitioned = false;

  void apply(size_t i, const std::vector<VrrpAction>& acts) {
    for (const auto& a : acts) {
      nodes[i]->log.emplace_back(now, a);
      if (a.kind == Kind::Notify && a.state == VrrpState::Master) nodes[i]->became_master = now;
      if (a.kind == Kind::SendAdvert && !partitioned) wire.push_back({now + 1, i, a.priority});
    }
  }
  void start(size_t i) { apply(i, nodes[i]->m.startup(now)); }
  void crash(size_t i) { nodes[i]->alive = false; }  // no last words

  // Runs events in time order up to `until`.
  void run(uint64_t until) {
    for (;;) {
      uint64_t next = UINT64_MAX;
      for (const auto& p : wire) next = std::min(next, p.at);
      for (const auto* n : nodes)
        if (n->alive) next = std::min(next, n->m.next_deadline());
      if (next > until) break;
      now = next;
      std::deque<Packet> due;
      for (auto it = wire.begin(); it != wire.end();) {
        if (it->at <= now) {
          due.push_back(*it);
          it = wire.erase(it);
        } else {
          ++it;
        }
      }
      for (const auto& p : due) {
        const in_addr src = nodes[p.from]->addr;  // packets already on the wire arrive even if the sender died
        for (size_t j = 0; j < nodes.size(); ++j) {
          if (j == p.from || !nodes[j]->alive) continue;
          nodes[j]->last_heard = now;
          apply(j, nodes[j]->m.on_advert(now, src, p.priority, 100));
        }
      }
      for (size_t j = 0; j < nodes.size(); ++j)
        if (nodes[j]->alive && nodes[j]->m.next_deadline() <= now) apply(j, nodes[j]->m.on_timer(now));
    }
    now = until;
  }
  size_t add(Node& n) {
    nodes.push_back(&n);
    return nodes.size() - 1;
  }
  int masters() const {
    int c = 0;
    for (const auto* n : nodes)
      if (n->alive && n->m.state() == VrrpState::Master) ++c;
    return c;
  }
  // Whether node i took an action of kind k at or after `since`.
  bool did(size_t i, Kind k, uint64_t since) const {
    for (const auto& [t, a] : nodes[i]->log)
      if (t >= since && a.kind == k) return true;
    return false;
  }
};

}  // namespace

TEST(VrrpPair, ConvergesToOneMasterAndBackupTakesOverWhenItDies) {
  Node a("10.0.0.1", 100), b("10.0.0.2", 50);
  Net net;
  const size_t ia = net.add(a), ib = net.add(b);
  net.start(ia);
  net.start(ib);
  net.run(T0 + 3609);
  // a's skew is shorter (609 < 804 ms), so it wins the race and b hears it first.
  EXPECT_EQ(a.m.state(), VrrpState::Master);
  EXPECT_EQ(b.m.state(), VrrpState::Backup);
  for (uint64_t t = T0 + 4000; t < T0 + 60'000; t += 250) {
    net.run(t);
    ASSERT_EQ(net.masters(), 1) << "at " << t - T0;
    ASSERT_EQ(a.m.state(), VrrpState::Master);
  }
  EXPECT_EQ(ip_str(b.m.master_address()), "10.0.0.1");
  EXPECT_EQ(b.m.transitions(), 1u);

  const uint64_t killed = net.now;
  net.crash(ia);
  const uint64_t heard = b.last_heard;
  net.run(killed + 10'000);
  EXPECT_EQ(b.m.state(), VrrpState::Master);
  // Exactly Master_Down_Interval after the last advert it heard; so within that of the crash.
  EXPECT_EQ(b.became_master, heard + b.m.master_down_interval_ms());
  EXPECT_EQ(b.m.master_down_interval_ms(), 3804u);
  EXPECT_LE(b.became_master - killed, 3804u);
  EXPECT_GT(b.became_master - killed, 3804u - 1000u);
}

TEST(VrrpPair, GracefulShutdownHandsOverAfterSkewTime) {
  Node a("10.0.0.1", 200), b("10.0.0.2", 100);
  Net net;
  const size_t ia = net.add(a), ib = net.add(b);
  net.start(ia);
  net.start(ib);
  net.run(T0 + 20'000);
  ASSERT_EQ(a.m.state(), VrrpState::Master);
  net.apply(ia, a.m.shutdown(net.now));
  const uint64_t down = net.now;
  net.run(down + 5000);
  EXPECT_EQ(b.m.state(), VrrpState::Master);
  EXPECT_EQ(b.became_master, down + 1 + 609);  // 1 ms on the wire + Skew_Time
}

TEST(VrrpPair, FaultOnMasterHandsOverAfterSkewTimeAndRecoveryPreemptsBack) {
  Node a("10.0.0.1", 200), b("10.0.0.2", 100);
  Net net;
  const size_t ia = net.add(a), ib = net.add(b);
  net.start(ia);
  net.start(ib);
  net.run(T0 + 20'000);
  net.apply(ia, a.m.set_fault(net.now, true));
  const uint64_t fault = net.now;
  net.run(fault + 5000);
  EXPECT_EQ(b.m.state(), VrrpState::Master);
  EXPECT_EQ(b.became_master, fault + 1 + 609);
  EXPECT_EQ(a.m.state(), VrrpState::Fault);
  // Healthy again: a (higher priority, preempt) ignores b's adverts and takes back over.
  net.apply(ia, a.m.set_fault(net.now, false));
  net.run(net.now + 10'000);
  EXPECT_EQ(a.m.state(), VrrpState::Master);
  EXPECT_EQ(b.m.state(), VrrpState::Backup);
  EXPECT_EQ(net.masters(), 1);
}

TEST(VrrpPair, EqualPrioritiesElectTheHigherAddress) {
  Node a("10.0.0.1", 100), b("10.0.0.2", 100);
  Net net;
  const size_t ia = net.add(a), ib = net.add(b);
  // Both come up as master at the same instant (same skew, same start).
  net.start(ia);
  net.start(ib);
  net.run(T0 + 30'000);
  EXPECT_EQ(net.masters(), 1);
  EXPECT_EQ(b.m.state(), VrrpState::Master);
  EXPECT_EQ(a.m.state(), VrrpState::Backup);
  EXPECT_EQ(ip_str(a.m.master_address()), "10.0.0.2");
}

namespace {
// Two masters, a (150) and b (100), each alone behind a partition for 20 s.
// a advertises at T0 + 3414 + k s, b at T0 + 3609 + k s.
struct SplitBrain : ::testing::Test {
  Node a{"10.0.0.1", 150}, b{"10.0.0.2", 100};
  Net net;
  size_t ia = net.add(a), ib = net.add(b);
  void SetUp() override {
    net.partitioned = true;
    net.start(ia);
    net.start(ib);
    net.run(T0 + 20'000);
    ASSERT_EQ(net.masters(), 2);  // each thinks it is alone
  }
  void expect_settled(uint64_t healed) {
    net.run(healed + 5000);
    EXPECT_EQ(net.masters(), 1);
    EXPECT_EQ(a.m.state(), VrrpState::Master);
    EXPECT_EQ(b.m.state(), VrrpState::Backup);
    EXPECT_TRUE(net.did(ib, Kind::RemoveAddresses, healed));
    for (uint64_t t = healed + 5000; t < healed + 60'000; t += 500) {
      net.run(t);
      ASSERT_EQ(net.masters(), 1);
    }
  }
};
}  // namespace

TEST_F(SplitBrain, LoserSpeaksFirstWinnerAnswersAndReArps) {
  net.run(a.m.next_deadline());  // a's advert is still lost; b's comes next
  ASSERT_LT(b.m.next_deadline(), a.m.next_deadline());
  const uint64_t healed = net.now;
  net.partitioned = false;
  net.run(b.m.next_deadline() + 2);  // b's advert reaches a at +1, a's answer reaches b at +2
  // a heard b's lower advert: answered at once and re-sent gratuitous ARP
  // (to fix neighbours whose caches b's ARPs pointed at itself); b backed off.
  EXPECT_TRUE(net.did(ia, Kind::GratuitousArp, healed));
  EXPECT_EQ(b.m.state(), VrrpState::Backup);
  expect_settled(healed);
}

TEST_F(SplitBrain, WinnerSpeaksFirstLoserBacksOffQuietly) {
  ASSERT_LT(a.m.next_deadline(), b.m.next_deadline());
  const uint64_t healed = net.now;
  net.partitioned = false;
  net.run(a.m.next_deadline() + 1);  // a's advert reaches b at +1
  EXPECT_EQ(b.m.state(), VrrpState::Backup);
  // b never advertised after the heal, so a has nothing to answer (as in
  // keepalived): no gratuitous ARP beyond a's original takeover.
  EXPECT_FALSE(net.did(ia, Kind::GratuitousArp, healed));
  expect_settled(healed);
}

TEST(VrrpPair, HigherPriorityLateJoinerPreempts) {
  Node a("10.0.0.1", 200), b("10.0.0.2", 100);
  Net net;
  const size_t ia = net.add(a), ib = net.add(b);
  net.start(ib);
  net.run(T0 + 10'000);
  ASSERT_EQ(b.m.state(), VrrpState::Master);
  const uint64_t joined = net.now;
  net.start(ia);
  net.run(joined + 10'000);
  EXPECT_EQ(a.m.state(), VrrpState::Master);
  EXPECT_EQ(b.m.state(), VrrpState::Backup);
  EXPECT_EQ(a.became_master, joined + a.m.master_down_interval_ms());
}

TEST(VrrpPair, HigherPriorityLateJoinerWithoutPreemptStaysBackup) {
  Node a("10.0.0.1", 200, /*preempt=*/false), b("10.0.0.2", 100);
  Net net;
  const size_t ia = net.add(a), ib = net.add(b);
  net.start(ib);
  net.run(T0 + 10'000);
  net.start(ia);
  net.run(net.now + 60'000);
  EXPECT_EQ(a.m.state(), VrrpState::Backup);
  EXPECT_EQ(b.m.state(), VrrpState::Master);
  EXPECT_EQ(net.masters(), 1);
}

#include "proxy/balancer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace pillar::proxy;

namespace {

// Members named m0, m1, ... with routes r0, r1, ... and the given factors.
std::vector<MemberState> make(const std::vector<uint32_t>& factors) {
  std::vector<MemberState> v(factors.size());
  for (size_t i = 0; i < factors.size(); ++i)
    init_member(v[i], "http://m" + std::to_string(i), "r" + std::to_string(i), factors[i]);
  return v;
}

void set_flags(MemberState& m, uint32_t f) { m.status_flags.store(f); }

std::vector<int> run(LbMethod method, std::vector<MemberState>& v, size_t n, const PickContext& ctx = {}) {
  std::vector<int> out;
  for (size_t i = 0; i < n; ++i) out.push_back(pick(method, v, ctx));
  return out;
}

std::vector<size_t> counts(const std::vector<int>& picks, size_t members, size_t from = 0, size_t len = SIZE_MAX) {
  std::vector<size_t> c(members);
  for (size_t i = from; i < picks.size() && i - from < len; ++i)
    if (picks[i] >= 0) ++c[static_cast<size_t>(picks[i])];
  return c;
}

std::array<uint8_t, 4> v4(uint32_t x) {
  return {uint8_t(x >> 24), uint8_t(x >> 16), uint8_t(x >> 8), uint8_t(x)};
}

// The context views `key`: keep the string alive while the context is used.
PickContext key_ctx(const std::string& key) {
  PickContext c;
  c.hash_key = key;
  return c;
}

TEST(StatusFlagsText, LettersAndWordsInOneOrder) {
  EXPECT_EQ(status_flags_text(0, FlagStyle::Letters), "Ok");
  EXPECT_EQ(status_flags_text(0, FlagStyle::Words), "Ok");
  EXPECT_EQ(status_flags_text(kStatusDrain | kStatusDisabled, FlagStyle::Letters), "DN");
  EXPECT_EQ(status_flags_text(kStatusDrain | kStatusDisabled, FlagStyle::Words), "Dis Drn");
  EXPECT_EQ(status_flags_text(kStatusError | kStatusIgnoreErrors | kStatusStopped | kStatusHotStandby, FlagStyle::Letters),
            "SHEI");
}

}  // namespace

// ---- layout -----------------------------------------------------------------

TEST(BalancerLayout, MemberStateFitsSharedMemory) {
  EXPECT_TRUE(std::is_standard_layout_v<MemberState>);
  EXPECT_TRUE(std::is_trivially_destructible_v<MemberState>);
  EXPECT_TRUE(std::is_trivially_copyable_v<MemberMask>);
  EXPECT_TRUE(std::is_trivially_copyable_v<PickContext>);
}

TEST(BalancerLayout, InitMemberClampsAndTruncates) {
  MemberState m;
  init_member(m, "http://a", std::string(100, 'x'), 500);
  EXPECT_EQ(m.lbfactor, 100u);
  EXPECT_EQ(member_route(m), std::string(kRouteMax - 1, 'x'));
  init_member(m, "http://a", "n1", 0);
  EXPECT_EQ(m.lbfactor, 1u);
  EXPECT_EQ(member_route(m), "n1");
  EXPECT_EQ(member_redirect(m), "");
  set_member_redirect(m, "n2");
  EXPECT_EQ(member_redirect(m), "n2");
}

// ---- byrequests -------------------------------------------------------------

TEST(ByRequests, ThreeToOneIsSmoothSequence) {
  auto v = make({3, 1});
  EXPECT_EQ(run(LbMethod::ByRequests, v, 8), (std::vector<int>{0, 0, 1, 0, 0, 0, 1, 0}));
}

TEST(ByRequests, ThreeToOneExactInEveryWindow) {
  auto v = make({3, 1});
  auto p = run(LbMethod::ByRequests, v, 4000);
  for (size_t start = 0; start + 400 <= p.size(); start += 7) {
    auto c = counts(p, 2, start, 400);
    EXPECT_EQ(c[0], 300u) << "window at " << start;
    EXPECT_EQ(c[1], 100u) << "window at " << start;
  }
}

TEST(ByRequests, ExactRatiosForSeveralFactorSets) {
  const std::vector<std::vector<uint32_t>> sets = {
      {1, 1, 1}, {5, 3, 2}, {100, 1}, {25, 25, 25, 25}, {7, 11, 13}, {1, 2, 3, 4, 5, 6, 7, 8}, {100, 100, 1, 50}};
  for (const auto& f : sets) {
    auto v = make(f);
    uint64_t total = 0;
    for (auto x : f) total += x;
    auto p = run(LbMethod::ByRequests, v, total * 6);
    // every consecutive block of `total` picks has the exact shares
    for (size_t block = 0; block < 6; ++block) {
      auto c = counts(p, f.size(), block * total, total);
      for (size_t i = 0; i < f.size(); ++i) EXPECT_EQ(c[i], f[i]) << "set size " << f.size() << " member " << i;
    }
  }
}

TEST(ByRequests, LbstatusSumStaysZero) {
  auto v = make({5, 3, 2, 9});
  for (int i = 0; i < 1000; ++i) {
    pick(LbMethod::ByRequests, v, {});
    int64_t sum = 0;
    for (auto& m : v) sum += m.lbstatus.load();
    ASSERT_EQ(sum, 0);
  }
}

TEST(ByRequests, ApacheDocExampleWithDisabledMember) {
  // Apache manual: a,b,c,d with lbfactor 25 each, b disabled -> a, c, d, a, c, d ...
  auto v = make({25, 25, 25, 25});
  set_flags(v[1], kStatusDisabled);
  EXPECT_EQ(run(LbMethod::ByRequests, v, 6), (std::vector<int>{0, 2, 3, 0, 2, 3}));
}

TEST(ByRequests, UnusableStatesAreSkipped) {
  for (uint32_t flag : {kStatusDisabled, kStatusStopped, kStatusError, kStatusDrain}) {
    auto v = make({1, 1, 1});
    set_flags(v[1], flag);
    auto c = counts(run(LbMethod::ByRequests, v, 300), 3);
    EXPECT_EQ(c[1], 0u) << "flag " << flag;
    EXPECT_EQ(c[0], 150u);
    EXPECT_EQ(c[2], 150u);
  }
}

TEST(ByRequests, IgnoreErrorsKeepsMemberInErrorUsable) {
  auto v = make({1, 1});
  set_flags(v[1], kStatusError | kStatusIgnoreErrors);
  auto c = counts(run(LbMethod::ByRequests, v, 100), 2);
  EXPECT_EQ(c[1], 50u);
  set_flags(v[1], kStatusDisabled | kStatusIgnoreErrors);  // I does not override D
  c = counts(run(LbMethod::ByRequests, v, 100), 2);
  EXPECT_EQ(c[1], 0u);
}

TEST(ByRequests, NothingUsableGivesMinusOne) {
  auto v = make({1, 1});
  set_flags(v[0], kStatusError);
  set_flags(v[1], kStatusStopped);
  EXPECT_EQ(pick(LbMethod::ByRequests, v, {}), -1);
  std::vector<MemberState> none;
  for (auto m : {LbMethod::ByRequests, LbMethod::ByTraffic, LbMethod::ByBusyness, LbMethod::SourceHash,
                 LbMethod::ConsistentHash})
    EXPECT_EQ(pick(m, none, {}), -1);
}

TEST(ByRequests, HotStandbyOnlyWhenNothingElseUsable) {
  auto v = make({1, 1, 1});
  set_flags(v[2], kStatusHotStandby);
  EXPECT_EQ(counts(run(LbMethod::ByRequests, v, 100), 3)[2], 0u);
  set_flags(v[0], kStatusError);
  EXPECT_EQ(counts(run(LbMethod::ByRequests, v, 100), 3)[2], 0u);  // member 1 still usable
  set_flags(v[1], kStatusDisabled);
  auto c = counts(run(LbMethod::ByRequests, v, 100), 3);
  EXPECT_EQ(c[2], 100u);
  set_flags(v[0], 0);  // recovered: standby goes idle again
  c = counts(run(LbMethod::ByRequests, v, 100), 3);
  EXPECT_EQ(c[0], 100u);
  EXPECT_EQ(c[2], 0u);
}

TEST(ByRequests, StandbyInErrorIsNotUsedEither) {
  auto v = make({1, 1});
  set_flags(v[0], kStatusError);
  set_flags(v[1], kStatusHotStandby | kStatusError);
  EXPECT_EQ(pick(LbMethod::ByRequests, v, {}), -1);
}

TEST(ByRequests, LowerLbsetFirst) {
  auto v = make({1, 1, 1, 1});
  v[2].lbset = 1;
  v[3].lbset = 1;
  auto c = counts(run(LbMethod::ByRequests, v, 100), 4);
  EXPECT_EQ(c[0] + c[1], 100u);
  set_flags(v[0], kStatusError);
  set_flags(v[1], kStatusDrain);
  c = counts(run(LbMethod::ByRequests, v, 100), 4);
  EXPECT_EQ(c[2], 50u);
  EXPECT_EQ(c[3], 50u);
}

TEST(ByRequests, StandbyOfLowerLbsetBeatsHigherLbset) {
  // Apache: inside each lbset, non-standby then standby, before the next lbset.
  auto v = make({1, 1, 1});
  set_flags(v[1], kStatusHotStandby);
  v[2].lbset = 1;
  set_flags(v[0], kStatusError);
  EXPECT_EQ(pick(LbMethod::ByRequests, v, {}), 1);
}

TEST(ByRequests, ExcludeMaskForRetries) {
  auto v = make({1, 1, 1});
  PickContext ctx;
  int first = pick(LbMethod::ByRequests, v, ctx);
  ASSERT_GE(first, 0);
  ctx.exclude.set(static_cast<size_t>(first));
  int second = pick(LbMethod::ByRequests, v, ctx);
  ASSERT_GE(second, 0);
  EXPECT_NE(second, first);
  ctx.exclude.set(static_cast<size_t>(second));
  int third = pick(LbMethod::ByRequests, v, ctx);
  EXPECT_NE(third, first);
  EXPECT_NE(third, second);
  ctx.exclude.set(static_cast<size_t>(third));
  EXPECT_EQ(pick(LbMethod::ByRequests, v, ctx), -1);
}

TEST(ByRequests, ExcludeMaskWorksForEveryMethodAndHighIndexes) {
  std::vector<uint32_t> f(200, 1);
  auto v = make(f);
  for (auto m : {LbMethod::ByRequests, LbMethod::ByTraffic, LbMethod::ByBusyness, LbMethod::SourceHash,
                 LbMethod::ConsistentHash}) {
    PickContext ctx;
    auto a = v4(0x0a000001);
    ctx.client_addr = a;
    ctx.hash_key = "/some/url";
    for (size_t i = 0; i < 200; ++i)
      if (i != 150) ctx.exclude.set(i);
    EXPECT_EQ(pick(m, v, ctx), 150);
  }
}

TEST(ByRequests, ExcludedMemberDoesNotDisturbOthersShares) {
  auto v = make({2, 1, 1});
  PickContext ctx;
  ctx.exclude.set(0);
  auto c = counts(run(LbMethod::ByRequests, v, 100, ctx), 3);
  EXPECT_EQ(c[1], 50u);
  EXPECT_EQ(c[2], 50u);
  c = counts(run(LbMethod::ByRequests, v, 400), 3);  // then the normal 2:1:1
  EXPECT_EQ(c[0], 200u);
  EXPECT_EQ(c[1], 100u);
}

TEST(ByRequests, ConcurrentPicksKeepApproximateShares) {
  auto v = make({3, 1});
  std::atomic<uint64_t> c0{0}, c1{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) (pick(LbMethod::ByRequests, v, {}) == 0 ? c0 : c1).fetch_add(1);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c0 + c1, 80000u);
  EXPECT_NEAR(static_cast<double>(c0) / 80000.0, 0.75, 0.02);
  EXPECT_EQ(v[0].lbstatus.load() + v[1].lbstatus.load(), 0);
}

// ---- max connections / accounting ---------------------------------------------

TEST(MaxConnections, FullMemberIsSkippedAndAcquireRefuses) {
  auto v = make({1, 1});
  v[0].max_connections = 2;
  ASSERT_TRUE(acquire(v[0]));
  ASSERT_TRUE(acquire(v[0]));
  EXPECT_FALSE(acquire(v[0]));
  EXPECT_EQ(v[0].elected.load(), 2u);
  auto c = counts(run(LbMethod::ByRequests, v, 10), 2);
  EXPECT_EQ(c[0], 0u);
  EXPECT_EQ(c[1], 10u);
  EXPECT_FALSE(member_usable(v[0], false));
  release(v[0]);
  EXPECT_TRUE(member_usable(v[0], false));
  EXPECT_TRUE(acquire(v[0]));
}

TEST(MaxConnections, UnlimitedAndReleaseNeverUnderflows) {
  MemberState m;
  init_member(m, "x", "x", 1);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(acquire(m));
  EXPECT_EQ(m.busy.load(), 1000u);
  for (int i = 0; i < 1005; ++i) release(m);
  EXPECT_EQ(m.busy.load(), 0u);
}

TEST(RecordedBusy, RecordFirstThenCountAndReleaseExactlyOnce) {
  MemberState m;
  init_member(m, "x", "x", 1, 0, 1);
  std::atomic<uint32_t> records[2]{};
  std::atomic<uint32_t>* r = acquire_recorded(m, records, 7);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->load(), 7u);
  EXPECT_EQ(m.busy.load(), 1u);
  // Full: nothing taken, nothing left recorded.
  EXPECT_EQ(acquire_recorded(m, records, 7), nullptr);
  EXPECT_EQ(records[0].load() + records[1].load(), 7u);
  EXPECT_EQ(m.busy.load(), 1u);
  // Whoever takes the record first releases; the other one does nothing.
  uint32_t reaped = r->exchange(0);  // the master, for a dead holder
  EXPECT_EQ(reaped, 7u);
  release(m);
  EXPECT_FALSE(release_recorded(m, *r, 7));  // the holder, too late
  EXPECT_EQ(m.busy.load(), 0u);
  ASSERT_TRUE(acquire(m));
  EXPECT_FALSE(release_recorded(m, *r, 7)) << "a record released once never releases another holder's count";
  EXPECT_EQ(m.busy.load(), 1u);
}

TEST(RecordedBusy, EachHolderHasItsOwnEntryAndNoFreeEntryTakesNothing) {
  MemberState m;
  init_member(m, "x", "x", 1);
  std::atomic<uint32_t> records[2]{};
  auto* a = acquire_recorded(m, records, 1);
  auto* b = acquire_recorded(m, records, 2);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a, b);
  EXPECT_EQ(acquire_recorded(m, records, 3), nullptr);
  EXPECT_EQ(m.busy.load(), 2u);
  EXPECT_TRUE(release_recorded(m, *a, 1));
  EXPECT_TRUE(release_recorded(m, *b, 2));
  EXPECT_EQ(m.busy.load(), 0u);
}

TEST(MaxConnections, AllFullGivesMinusOne) {
  auto v = make({1, 1});
  for (auto& m : v) {
    m.max_connections = 1;
    ASSERT_TRUE(acquire(m));
  }
  EXPECT_EQ(pick(LbMethod::ByBusyness, v, {}), -1);
}

// ---- bytraffic ------------------------------------------------------------------

TEST(ByTraffic, PicksLeastTrafficPerFactor) {
  auto v = make({1, 1, 1});
  add_traffic(v[0], 1000);
  add_traffic(v[1], 500);
  add_traffic(v[2], 700);
  EXPECT_EQ(pick(LbMethod::ByTraffic, v, {}), 1);
  auto w = make({1, 4});
  add_traffic(w[0], 1000);
  add_traffic(w[1], 3000);  // 3000/4 = 750 < 1000
  EXPECT_EQ(pick(LbMethod::ByTraffic, w, {}), 1);
  add_traffic(w[1], 1000);  // 4000/4 == 1000/1: first wins
  EXPECT_EQ(pick(LbMethod::ByTraffic, w, {}), 0);
}

TEST(ByTraffic, ExactComparisonWhereIntegerDivisionWouldTie) {
  auto v = make({3, 3});
  add_traffic(v[0], 5);  // 5/3 and 4/3 both 1 in integer division
  add_traffic(v[1], 4);
  EXPECT_EQ(pick(LbMethod::ByTraffic, v, {}), 1);
}

TEST(ByTraffic, EqualRequestsShareBytesByFactor) {
  auto v = make({1, 2, 3});
  for (int i = 0; i < 6000; ++i) {
    int p = pick(LbMethod::ByTraffic, v, {});
    ASSERT_GE(p, 0);
    add_traffic(v[p], 100);
  }
  EXPECT_NEAR(v[0].transferred.load(), 100000.0, 200);
  EXPECT_NEAR(v[1].transferred.load(), 200000.0, 200);
  EXPECT_NEAR(v[2].transferred.load(), 300000.0, 200);
}

// ---- bybusyness -------------------------------------------------------------------

TEST(ByBusyness, PicksLeastBusy) {
  auto v = make({1, 1, 1});
  v[0].busy = 5;
  v[1].busy = 2;
  v[2].busy = 7;
  EXPECT_EQ(pick(LbMethod::ByBusyness, v, {}), 1);
}

TEST(ByBusyness, TiesBrokenByLbstatusInFactorProportion) {
  auto v = make({2, 1});  // both idle: behaves as byrequests 2:1
  auto c = counts(run(LbMethod::ByBusyness, v, 300), 2);
  EXPECT_EQ(c[0], 200u);
  EXPECT_EQ(c[1], 100u);
}

TEST(ByBusyness, BusyWinsOverFactor) {
  auto v = make({100, 1});
  v[0].busy = 1;
  EXPECT_EQ(counts(run(LbMethod::ByBusyness, v, 20), 2)[1], 20u);
}

TEST(ByBusyness, SimulatedLoadStaysBalanced) {
  auto v = make({1, 1, 1, 1});
  for (int i = 0; i < 1000; ++i) {
    int p = pick(LbMethod::ByBusyness, v, {});
    ASSERT_GE(p, 0);
    acquire(v[p]);
    if (i % 2) release(v[(i / 2) % 4]);  // finish some requests
  }
  uint64_t lo = UINT64_MAX, hi = 0;
  for (auto& m : v) {
    lo = std::min<uint64_t>(lo, m.busy);
    hi = std::max<uint64_t>(hi, m.busy);
  }
  EXPECT_LE(hi - lo, 1u);
}

// ---- source hash ----------------------------------------------------------------------

TEST(SourceHash, StableForSameClient) {
  auto v = make({1, 1, 1, 1});
  for (uint32_t ip = 0x0a000000; ip < 0x0a000000 + 200; ++ip) {
    auto a = v4(ip);
    PickContext ctx;
    ctx.client_addr = a;
    int first = pick(LbMethod::SourceHash, v, ctx);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(pick(LbMethod::SourceHash, v, ctx), first);
  }
}

TEST(SourceHash, SpreadsClientsByFactor) {
  auto v = make({1, 1, 2});
  std::vector<size_t> c(3);
  for (uint32_t ip = 0xc0a80000; ip < 0xc0a80000 + 40000; ++ip) {
    auto a = v4(ip);
    PickContext ctx;
    ctx.client_addr = a;
    ++c[static_cast<size_t>(pick(LbMethod::SourceHash, v, ctx))];
  }
  EXPECT_NEAR(c[0], 10000.0, 600);
  EXPECT_NEAR(c[1], 10000.0, 600);
  EXPECT_NEAR(c[2], 20000.0, 600);
}

TEST(SourceHash, SkipsUnusableAndMapsV4MappedLikeV4) {
  auto v = make({1, 1, 1});
  set_flags(v[1], kStatusDisabled);
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
  for (uint32_t ip = 0x0a010000; ip < 0x0a010000 + 500; ++ip) {
    auto a = v4(ip);
    mapped[12] = a[0], mapped[13] = a[1], mapped[14] = a[2], mapped[15] = a[3];
    PickContext c4, c6;
    c4.client_addr = a;
    c6.client_addr = mapped;
    int p = pick(LbMethod::SourceHash, v, c4);
    ASSERT_NE(p, 1);
    ASSERT_NE(p, -1);
    ASSERT_EQ(pick(LbMethod::SourceHash, v, c6), p);
  }
}

// ---- consistent hash (rendezvous) ------------------------------------------------------

TEST(ConsistentHash, StableAndSpreadByFactor) {
  auto v = make({1, 1, 1, 2});
  std::vector<size_t> c(4);
  for (int i = 0; i < 50000; ++i) {
    std::string key = "/item/" + std::to_string(i);
    auto ctx = key_ctx(key);
    int p = pick(LbMethod::ConsistentHash, v, ctx);
    ASSERT_EQ(pick(LbMethod::ConsistentHash, v, ctx), p);
    ++c[static_cast<size_t>(p)];
  }
  EXPECT_NEAR(c[0], 10000.0, 700);
  EXPECT_NEAR(c[1], 10000.0, 700);
  EXPECT_NEAR(c[2], 10000.0, 700);
  EXPECT_NEAR(c[3], 20000.0, 700);
}

TEST(ConsistentHash, RemovingOneOfFiveMovesOnlyItsKeys) {
  auto v = make({1, 1, 1, 1, 1});
  const int n = 20000;
  std::vector<int> before(n);
  for (int i = 0; i < n; ++i) before[i] = pick(LbMethod::ConsistentHash, v, key_ctx("k" + std::to_string(i)));
  // removed by state...
  set_flags(v[2], kStatusError);
  int moved = 0, owned = 0;
  for (int i = 0; i < n; ++i) {
    int after = pick(LbMethod::ConsistentHash, v, key_ctx("k" + std::to_string(i)));
    if (before[i] == 2) {
      ++owned;
      EXPECT_NE(after, 2);
    } else {
      EXPECT_EQ(after, before[i]);
    }
    moved += after != before[i];
  }
  EXPECT_EQ(moved, owned);
  EXPECT_NEAR(owned, n / 5.0, n * 0.02);
  // ...and by removal from the array (other members change index, keys keep their member name)
  auto w = make({1, 1, 1, 1, 1});
  std::vector<MemberState> four(4);
  for (int i = 0, j = 0; i < 5; ++i)
    if (i != 2) init_member(four[j++], "http://m" + std::to_string(i), "r" + std::to_string(i), 1);
  for (int i = 0; i < n; ++i) {
    std::string key = "k" + std::to_string(i);
    auto ctx = key_ctx(key);
    int b = pick(LbMethod::ConsistentHash, w, ctx);
    int a = pick(LbMethod::ConsistentHash, four, ctx);
    if (b != 2) {
      ASSERT_EQ(member_route(four[a]), member_route(w[b]));
    }
  }
}

TEST(ConsistentHash, AddingAMemberMovesAboutOneInNPlusOneAllToIt) {
  const int n = 30000;
  auto five = make({1, 1, 1, 1, 1});
  auto six = make({1, 1, 1, 1, 1, 1});
  int moved = 0;
  for (int i = 0; i < n; ++i) {
    std::string key = "/obj/" + std::to_string(i);
    auto ctx = key_ctx(key);
    int b = pick(LbMethod::ConsistentHash, five, ctx);
    int a = pick(LbMethod::ConsistentHash, six, ctx);
    if (a != b) {
      ++moved;
      EXPECT_EQ(a, 5);
    }
  }
  EXPECT_NEAR(moved, n / 6.0, n * 0.015);
}

TEST(ConsistentHash, UsesClientAddressWithoutKeyAndHonoursStandby) {
  auto v = make({1, 1, 1});
  set_flags(v[2], kStatusHotStandby);
  std::map<int, int> seen;
  for (uint32_t ip = 1; ip < 3000; ++ip) {
    auto a = v4(ip);
    PickContext ctx;
    ctx.client_addr = a;
    int p = pick(LbMethod::ConsistentHash, v, ctx);
    ASSERT_EQ(pick(LbMethod::ConsistentHash, v, ctx), p);
    ++seen[p];
  }
  EXPECT_EQ(seen.count(2), 0u);
  EXPECT_GT(seen[0], 1200);
  EXPECT_GT(seen[1], 1200);
}

// pillarctl shows the method as ProxySet spells it, not its number.
TEST(LbMethodName, IsTheProxySetName) {
  EXPECT_EQ(lb_method_name(LbMethod::ByRequests), "byrequests");
  EXPECT_EQ(lb_method_name(LbMethod::ByTraffic), "bytraffic");
  EXPECT_EQ(lb_method_name(LbMethod::ByBusyness), "bybusyness");
  EXPECT_EQ(lb_method_name(LbMethod::SourceHash), "sourcehash");
  EXPECT_EQ(lb_method_name(LbMethod::ConsistentHash), "hash");
}

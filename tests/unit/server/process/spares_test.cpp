// Unit tests for src/server/process/spares.cpp: how many workers the master
// starts or retires (plan_spares) and which draining generations a reload
// hurries for scoreboard rows (plan_make_room).
#include "server/process/spares.h"

#include <gtest/gtest.h>

#include <vector>

namespace pillar::server {
namespace {

// 25 slots per worker, StartServers 2, spares 25..75, at most 6 workers.
struct Node {
  std::vector<ServingWorker> workers;
  SpareInputs in() const {
    SpareInputs s;
    s.workers = workers;
    s.threads_per_child = 25;
    s.max_request_workers = 150;
    s.start_servers = 2;
    s.min_spare_threads = 25;
    s.max_spare_threads = 75;
    s.max_workers = 6;
    for (const auto& w : workers) s.conns_in_use += w.active;
    return s;
  }
};

std::vector<ServingWorker> running(std::vector<uint32_t> active) {
  std::vector<ServingWorker> out;
  for (uint32_t a : active) out.push_back({a, true});
  return out;
}

TEST(PlanSpares, StartsUpToStartServers) {
  Node n;
  auto p = plan_spares(n.in());
  EXPECT_EQ(p.start, 2u);
  EXPECT_EQ(p.retire, -1);
  n.workers = running({0});
  EXPECT_EQ(plan_spares(n.in()).start, 1u);
}

TEST(PlanSpares, SteadyWithinTheSpareBand) {
  Node n{running({10, 10})};  // 30 idle: between 25 and 75
  auto p = plan_spares(n.in());
  EXPECT_EQ(p.start, 0u);
  EXPECT_EQ(p.retire, -1);
  EXPECT_EQ(p.idle, 30u);
  EXPECT_EQ(p.spawn_rate, 1u);
}

TEST(PlanSpares, ShortOfSparesDoublesTheRateWhileItLasts) {
  Node n{running({20, 20})};  // 10 idle < 25
  auto in = n.in();
  uint32_t expected[] = {1, 2, 4, 8, 8};
  for (uint32_t want : expected) {
    auto p = plan_spares(in);
    EXPECT_EQ(p.start, std::min(want, 4u)) << "rate " << in.spawn_rate;  // 2 live of 6: at most 4 more
    in.spawn_rate = p.spawn_rate;
  }
  EXPECT_EQ(in.spawn_rate, kMaxSpawnPerTick);
  n.workers = running({10, 10});  // the shortage is over: back to 1
  auto back = n.in();
  back.spawn_rate = in.spawn_rate;
  EXPECT_EQ(plan_spares(back).spawn_rate, 1u);
}

TEST(PlanSpares, NoSpareStartAtTheCapOrWithoutNodeRoom) {
  Node n{running({20, 20, 20, 20, 20, 20})};  // 6 of 6 workers
  EXPECT_EQ(plan_spares(n.in()).start, 0u);
  Node full{running({20, 20})};
  auto in = full.in();
  in.conns_in_use = 150;  // MaxRequestWorkers reached elsewhere: no idle slot can be used
  auto p = plan_spares(in);
  EXPECT_EQ(p.idle, 0u);
  EXPECT_EQ(p.start, 0u);
}

TEST(PlanSpares, CrashedWorkersAreReplacedEvenAtTheCap) {
  Node n{running({20, 20, 20, 20, 20, 20})};
  auto in = n.in();
  in.owed = 2;
  auto p = plan_spares(in);
  EXPECT_EQ(p.start, 2u);
  EXPECT_EQ(p.owed, 0u);
  in.owed = 11;  // more than one tick may start
  p = plan_spares(in);
  EXPECT_EQ(p.start, kMaxSpawnPerTick);
  EXPECT_EQ(p.owed, 11 - kMaxSpawnPerTick);
}

TEST(PlanSpares, RetiresTheLeastBusyRunningWorkerAboveMaxSpare) {
  Node n{running({5, 1, 3, 1})};  // 90 idle > 75, 4 > StartServers
  n.workers[1].running = false;   // still starting: not a candidate
  auto p = plan_spares(n.in());
  EXPECT_EQ(p.start, 0u);
  EXPECT_EQ(p.retire, 3) << "the first running one with the fewest connections";
}

TEST(PlanSpares, NeverRetiresBelowStartServers) {
  Node n{running({0, 0})};  // 50 idle, but MaxSpare 40 here
  auto in = n.in();
  in.max_spare_threads = 40;
  EXPECT_EQ(plan_spares(in).retire, -1);
  n.workers = running({0, 0, 0});  // one above StartServers: that one may go
  in = n.in();
  in.max_spare_threads = 40;
  EXPECT_EQ(plan_spares(in).retire, 0);
}

std::vector<RowHolder> holders(std::vector<RowHolder> v) { return v; }

TEST(PlanMakeRoom, NothingWhenRowsAreFree) {
  auto c = holders({{1, true, false}, {2, false, false}});
  auto p = plan_make_room(c, 8, 4, 2);
  EXPECT_TRUE(p.hurry.empty());
  EXPECT_TRUE(p.generations.empty());
}

TEST(PlanMakeRoom, HurriesWholeGenerationsOldestFirst) {
  // 6 rows: gen 1 (2 draining), gen 2 (2 draining), gen 3 serving 2. Gen 4 wants 3.
  auto c = holders({{2, true, false}, {1, true, false}, {3, true, false}, {1, true, false}, {2, true, false},
                    {3, true, false}});
  auto p = plan_make_room(c, 6, 3, 4);
  EXPECT_EQ(p.generations, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(p.hurry, (std::vector<size_t>{1, 3, 0, 4}));
}

TEST(PlanMakeRoom, SkipsServingAndAlreadyHurriedWorkers) {
  auto c = holders({{1, true, true}, {2, false, false}, {2, true, false}, {3, false, false}});
  auto p = plan_make_room(c, 4, 2, 3);
  // Gen 1 is hurried already; gen 2's retiring one goes; the rest is not retiring or serving.
  EXPECT_EQ(p.hurry, (std::vector<size_t>{2}));
  EXPECT_EQ(p.generations, (std::vector<uint32_t>{2}));
}

}  // namespace
}  // namespace pillar::server

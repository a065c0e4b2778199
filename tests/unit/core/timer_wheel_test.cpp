#include "core/timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

using pillar::core::TimerNode;
using pillar::core::TimerWheel;

namespace {

struct Recorder final : TimerNode {
  std::vector<uint64_t>* fired;
  uint64_t id;
  uint64_t fired_at = 0;
  Recorder(std::vector<uint64_t>* f, uint64_t i) : fired(f), id(i) {}
  void on_timer() override { fired->push_back(id); }
};

}  // namespace

TEST(TimerWheel, FiresAtOrAfterDeadlineNeverEarly) {
  std::vector<uint64_t> fired;
  TimerWheel w(1000);
  Recorder a(&fired, 1), b(&fired, 2);
  w.arm(a, 1120);
  w.arm(b, 1500);
  w.advance(1100);
  EXPECT_TRUE(fired.empty());
  w.advance(1150);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], 1u);
  EXPECT_FALSE(a.armed());
  w.advance(1499);
  EXPECT_EQ(fired.size(), 1u);
  w.advance(1550);
  EXPECT_EQ(fired.size(), 2u);
}

TEST(TimerWheel, RearmMovesAndCancelRemoves) {
  std::vector<uint64_t> fired;
  TimerWheel w(0);
  Recorder a(&fired, 1), b(&fired, 2);
  w.arm(a, 100);
  w.arm(a, 5000);  // re-arm later
  w.arm(b, 100);
  TimerWheel::cancel(b);
  w.advance(1000);
  EXPECT_TRUE(fired.empty());
  w.advance(5050);
  EXPECT_EQ(fired, std::vector<uint64_t>{1});
}

TEST(TimerWheel, TimersBeyondOneTurnWaitForTheirTime) {
  std::vector<uint64_t> fired;
  TimerWheel w(0);
  Recorder a(&fired, 7);
  uint64_t turn = TimerWheel::kTickMs * TimerWheel::kSlots;
  w.arm(a, turn + 200);
  for (uint64_t t = 0; t <= turn + 100; t += 50) w.advance(t);
  EXPECT_TRUE(fired.empty());
  w.advance(turn + 250);
  EXPECT_EQ(fired.size(), 1u);
}

TEST(TimerWheel, CallbackMayRearmItself) {
  struct Repeater final : TimerNode {
    TimerWheel* w;
    int count = 0;
    uint64_t now = 0;
    void on_timer() override {
      if (++count < 3) w->arm(*this, now + 100);
    }
  } r;
  TimerWheel w(0);
  r.w = &w;
  w.arm(r, 100);
  for (uint64_t t = 0; t <= 1000; t += 50) {
    r.now = t;
    w.advance(t);
  }
  EXPECT_EQ(r.count, 3);
}

TEST(TimerWheel, DestroyedNodeUnlinksItself) {
  std::vector<uint64_t> fired;
  TimerWheel w(0);
  {
    Recorder a(&fired, 1);
    w.arm(a, 100);
  }
  w.advance(500);
  EXPECT_TRUE(fired.empty());
}

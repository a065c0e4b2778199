// core/clock.h: the monotonic clocks agree with each other and never step
// back; the wall clock is the epoch time time() reports.
#include "core/clock.h"

#include <gtest/gtest.h>

#include <ctime>

namespace pillar::core {
namespace {

TEST(Clock, MonotonicUnitsAgree) {
  uint64_t ms = mono_ms();
  uint64_t us = mono_us();
  int64_t s = mono_s();
  uint64_t ms_after = mono_ms();
  EXPECT_LE(ms, us / 1000);
  EXPECT_LE(us / 1000, ms_after);
  EXPECT_LE(static_cast<uint64_t>(s), ms_after / 1000);
  EXPECT_GE(static_cast<uint64_t>(s) + 1, ms / 1000);
}

TEST(Clock, CoarseIsTheSameClockAtLowerResolution) {
  // CLOCK_MONOTONIC_COARSE lags the precise clock by a tick (a few ms, one
  // jiffy) and never leads it; a different clock would be off by far more.
  uint64_t coarse = mono_coarse_ms();
  uint64_t precise = mono_ms();
  EXPECT_LE(coarse, precise);
  EXPECT_LT(precise - coarse, 1000u);  // generous: a loaded machine may preempt between the reads
}

TEST(Clock, MonotonicNeverStepsBack) {
  uint64_t last = mono_ms();
  for (int i = 0; i < 1000; ++i) {
    uint64_t now = mono_ms();
    ASSERT_GE(now, last);
    last = now;
  }
}

TEST(Clock, WallIsEpochTime) {
  time_t before = time(nullptr);
  int64_t ms = wall_ms();
  time_t coarse = wall_coarse_s();
  time_t after = time(nullptr);
  EXPECT_GE(ms / 1000, static_cast<int64_t>(before) - 1);
  EXPECT_LE(ms / 1000, static_cast<int64_t>(after) + 1);  // time() may lag by a tick
  EXPECT_GE(coarse, before - 1);
  EXPECT_LE(coarse, after + 1);
  EXPECT_GT(ms, int64_t{1600000000} * 1000);  // a 2020s date, not a monotonic reading
}

}  // namespace
}  // namespace pillar::core

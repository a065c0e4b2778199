// Unit tests for the age calculation (RFC 9111 §4.2.3, §5.1, §1.2.2;
// corrected_initial_age() and current_age() in src/cache/policy.cpp): the
// value of the Age field on every response served from the store.
#include <gtest/gtest.h>

#include <cstdint>

#include "cache/policy.h"
#include "heads.h"

using pillar::cache::corrected_initial_age;
using pillar::cache::current_age;
using namespace cache_test;

namespace {

// apparent_age = max(0, response_time - date_value): the origin's Date says
// the response left it 10 s before it arrived.
TEST(CorrectedInitialAge, ApparentAgeFromDate) {
  Resp r("Date: @{-10}\r\n");
  EXPECT_EQ(corrected_initial_age(r.head, T - 2, T), 10);
}

// corrected_age_value = age_value + response_delay: an upstream cache said
// 100 s, and the request took 3 s.
TEST(CorrectedInitialAge, AgeValuePlusResponseDelay) {
  Resp r("Date: @{+0}\r\nAge: 100\r\n");
  EXPECT_EQ(corrected_initial_age(r.head, T - 3, T), 103);
}

TEST(CorrectedInitialAge, TheLargerOfTheTwo) {
  Resp r("Date: @{-50}\r\nAge: 20\r\n");
  EXPECT_EQ(corrected_initial_age(r.head, T - 1, T), 50);
}

// §5.1: an invalid Age is ignored, never read as 0 on top of a larger apparent age.
TEST(CorrectedInitialAge, InvalidAgeIsIgnored) {
  for (const char* age : {"old", "-5", "1.5", "5;x=y", ""}) {
    Resp r(std::string("Date: @{-7}\r\nAge: ") + age + "\r\n");
    EXPECT_EQ(corrected_initial_age(r.head, T, T), 7) << age;
  }
}

// A slow fill: no Date or Age from the origin, 4 s between request and head.
TEST(CorrectedInitialAge, SlowOriginWithoutDateCountsTheDelay) {
  Resp r("");
  EXPECT_EQ(corrected_initial_age(r.head, T - 4, T), 4);
}

TEST(CorrectedInitialAge, ClocksAheadOrBackwardsNeverGiveANegativeAge) {
  Resp ahead("Date: @{+3600}\r\n");  // origin clock ahead
  EXPECT_EQ(corrected_initial_age(ahead.head, T, T), 0);
  Resp plain("Date: @{+0}\r\n");
  EXPECT_EQ(corrected_initial_age(plain.head, T + 5, T), 0);  // request "after" the response
}

constexpr int64_t kMs = 1000;

TEST(CurrentAge, InitialAgePlusResidentTime) {
  EXPECT_EQ(current_age(10, T * kMs, T * kMs), 10);
  EXPECT_EQ(current_age(10, T * kMs, (T + 5) * kMs), 15);
  // Whole seconds elapsed, not second boundaries crossed.
  EXPECT_EQ(current_age(0, T * kMs + 900, (T + 1) * kMs), 0);
  EXPECT_EQ(current_age(0, T * kMs + 900, (T + 1) * kMs + 900), 1);
}

TEST(CurrentAge, NeverNegativeNorAbove2To31) {
  EXPECT_EQ(current_age(10, T * kMs, (T - 100) * kMs), 10);  // the clock stepped back
  EXPECT_EQ(current_age(int64_t{1} << 31, 0, 1000 * kMs), int64_t{1} << 31);
  EXPECT_EQ(current_age(-3, 0, 0), 0);
}

// The first response served after a slow fill already carries its delay.
TEST(CurrentAge, FirstHitAfterASlowFill) {
  Resp r("");
  const int64_t initial = corrected_initial_age(r.head, T - 4, T);
  EXPECT_EQ(current_age(initial, T * kMs, T * kMs + 200), 4);
}

}  // namespace

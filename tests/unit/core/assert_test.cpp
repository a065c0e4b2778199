// PILLAR_ASSERT stops the process in every build, release included.
#include "core/assert.h"

#include <gtest/gtest.h>

namespace {

int checked(int v) {
  PILLAR_ASSERT(v > 0);
  return v;
}

TEST(PillarAssertDeathTest, AbortsWithTheExpressionAndPlace) {
  EXPECT_EQ(checked(3), 3);
  EXPECT_DEATH(checked(-1), "invariant failed: v > 0 \\(.*assert_test.cpp:[0-9]+");
}

}  // namespace

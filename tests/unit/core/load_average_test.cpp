// core::parse_load_milli: /proc/loadavg's first figure in thousandths, and
// text that is not a load average refused rather than read as 0.
#include "core/load_average.h"

#include <gtest/gtest.h>

namespace {

uint32_t parse(std::string_view s, bool expect_ok = true) {
  bool ok = false;
  uint32_t v = pillar::core::parse_load_milli(s, ok);
  EXPECT_EQ(ok, expect_ok) << s;
  return v;
}

TEST(LoadAverage, FirstFigureInThousandths) {
  EXPECT_EQ(parse("0.52 0.58 0.59 1/123 4567\n"), 520u);
  EXPECT_EQ(parse("12.05 3.00 1.00 2/300 99"), 12050u);
  EXPECT_EQ(parse("7 1 1 1/1 1"), 7000u);
  EXPECT_EQ(parse("1.2345 0 0"), 1234u) << "beyond thousandths is dropped";
  EXPECT_EQ(parse("3.5\n"), 3500u);
}

TEST(LoadAverage, NotALoadAverage) {
  parse("", false);
  parse("abc 1 1", false);
  parse("-1.00 0 0", false);
  parse("1,50 0 0", false);
}

}  // namespace

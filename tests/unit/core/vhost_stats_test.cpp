#include <gtest/gtest.h>

#include <string>

#include "core/shm/shared_memory.h"
#include "core/shm/vhost_stats.h"

namespace pillar::core::shm {
namespace {

struct Table {
  SharedMemory mem;
  VhostStats stats;
  explicit Table(uint32_t rows, uint32_t capacity = VhostStats::kMinVhosts) {
    std::string err;
    EXPECT_TRUE(mem.create(VhostStats::bytes_needed(rows, capacity), err)) << err;
    EXPECT_TRUE(stats.create(mem, rows, capacity));
  }
};

TEST(VhostStats, IdsAreStableByName) {
  Table t(2);
  uint32_t a = t.stats.id_for("a.example");
  uint32_t b = t.stats.id_for("b.example");
  EXPECT_NE(a, b);
  EXPECT_NE(a, 0u);  // 0 is the shared "(other)" entry
  EXPECT_EQ(t.stats.id_for("a.example"), a);
  EXPECT_EQ(t.stats.name(b), "b.example");
}

TEST(VhostStats, FullTableFallsBackToOther) {
  Table t(1);
  for (uint32_t i = 0; i < VhostStats::kMinVhosts + 5; ++i) t.stats.id_for("h" + std::to_string(i));
  EXPECT_EQ(t.stats.count(), VhostStats::kMinVhosts);
  EXPECT_EQ(t.stats.id_for("one-too-many"), 0u);
}

TEST(VhostStats, SizedFromTheConfigurationBeyond512) {
  uint32_t cap = VhostStats::capacity_for(10000);
  EXPECT_GE(cap, 20000u);
  EXPECT_EQ(VhostStats::capacity_for(3), VhostStats::kMinVhosts);
  Table t(3, cap);
  uint32_t last = 0;
  for (uint32_t i = 0; i < 10000; ++i) last = t.stats.id_for("site" + std::to_string(i) + ".example");
  EXPECT_EQ(last, 10000u);  // (other) is 0
  EXPECT_EQ(t.stats.name(last), "site9999.example");
  t.stats.at(2, last).record(200, 10, 5);
  t.stats.retire_row(2);
  EXPECT_EQ(t.stats.at(3, last).requests.load(), 1u);  // folded into the retired stripe
  EXPECT_EQ(t.stats.at(2, last).requests.load(), 0u);
}

TEST(VhostCounters, RecordsClassesAndBuckets) {
  Table t(1);
  VhostCounters& c = t.stats.at(0, t.stats.id_for("x"));
  c.record(200, 100, 500);        // <= 1 ms
  c.record(404, 10, 7000);        // <= 10 ms
  c.record(503, 0, 60000000);     // beyond the last bound: +Inf
  c.record(99, 0, 1000);          // odd status: "other", exactly 1 ms
  EXPECT_EQ(c.requests.load(), 4u);
  EXPECT_EQ(c.bytes.load(), 110u);
  EXPECT_EQ(c.status_class[2].load(), 1u);
  EXPECT_EQ(c.status_class[4].load(), 1u);
  EXPECT_EQ(c.status_class[5].load(), 1u);
  EXPECT_EQ(c.status_class[0].load(), 1u);
  EXPECT_EQ(c.latency[0].load(), 2u);
  EXPECT_EQ(c.latency[2].load(), 1u);
  EXPECT_EQ(c.latency[kLatencyBuckets - 1].load(), 1u);
}

TEST(VhostStats, RetiredRowTotalsAreKept) {
  Table t(2);
  uint32_t id = t.stats.id_for("x");
  t.stats.at(1, id).record(200, 5, 10);
  t.stats.retire_row(1);
  EXPECT_EQ(t.stats.at(1, id).requests.load(), 0u);
  EXPECT_EQ(t.stats.at(2, id).requests.load(), 1u);  // row `rows()` holds exited workers' totals
}

}  // namespace
}  // namespace pillar::core::shm

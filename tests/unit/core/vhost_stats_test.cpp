#include <gtest/gtest.h>

#include <string>

#include "core/shm/shared_memory.h"
#include "core/shm/vhost_stats.h"

namespace pillar::core::shm {
namespace {

struct Table {
  SharedMemory mem;
  VhostStats stats;
  explicit Table(uint32_t rows) {
    std::string err;
    EXPECT_TRUE(mem.create(sizeof(VhostCounters) * VhostStats::kMaxVhosts * (rows + 1) + 64 * 1024, err)) << err;
    EXPECT_TRUE(stats.create(mem, rows));
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
  for (uint32_t i = 0; i < VhostStats::kMaxVhosts + 5; ++i) t.stats.id_for("h" + std::to_string(i));
  EXPECT_EQ(t.stats.count(), VhostStats::kMaxVhosts);
  EXPECT_EQ(t.stats.id_for("one-too-many"), 0u);
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

// core::shm::RateTable: nginx's limit_req arithmetic (burst, the rate
// draining it, Retry-After), keys and zones apart, a full probe window
// reusing the idlest bucket, one count for several processes sharing the
// table, and processes SIGKILLed at random instants while they count,
// after which every bucket is still one the algorithm can hold.
#include "core/shm/rate_table.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <vector>

using pillar::core::shm::RateBucket;
using pillar::core::shm::RateTable;

namespace {

// Buckets in an anonymous shared mapping, as the master's segment.
struct SharedBuckets {
  explicit SharedBuckets(size_t n) : n(n) {
    void* p = ::mmap(nullptr, sizeof(RateBucket) * n + sizeof(std::atomic<uint64_t>) * 4, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    b = new (p) RateBucket[n];
    counters = new (b + n) std::atomic<uint64_t>[4]{};
  }
  ~SharedBuckets() { ::munmap(b, sizeof(RateBucket) * n + sizeof(std::atomic<uint64_t>) * 4); }
  size_t n;
  RateBucket* b;
  std::atomic<uint64_t>* counters;
};

constexpr uint64_t kEpoch = 1'000'000;

TEST(RateTable, BurstThenTheRate) {
  SharedBuckets mem(64);
  RateTable t;
  t.attach(mem.b, mem.n, kEpoch);
  const uint64_t k = RateTable::hash_key("zone", "10.0.0.1");
  const uint64_t now = kEpoch + 5000;
  // 1 r/s, burst 2: the first request and two more at once, then refused.
  EXPECT_TRUE(t.take(k, 1000, 2, now).allowed);
  EXPECT_TRUE(t.take(k, 1000, 2, now).allowed);
  EXPECT_TRUE(t.take(k, 1000, 2, now).allowed);
  auto no = t.take(k, 1000, 2, now);
  EXPECT_FALSE(no.allowed);
  EXPECT_EQ(no.retry_after_s, 1u);
  EXPECT_FALSE(t.take(k, 1000, 2, now + 999).allowed) << "a refusal leaves the bucket as it was";
  EXPECT_TRUE(t.take(k, 1000, 2, now + 1000).allowed) << "one request a second drains";
  EXPECT_FALSE(t.take(k, 1000, 2, now + 1000).allowed);
  // Idle long enough, the whole burst is back.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(t.take(k, 1000, 2, now + 60'000).allowed) << i;
  EXPECT_FALSE(t.take(k, 1000, 2, now + 60'000).allowed);
}

TEST(RateTable, NoBurstIsOneRequestPerInterval) {
  SharedBuckets mem(64);
  RateTable t;
  t.attach(mem.b, mem.n, kEpoch);
  const uint64_t k = RateTable::hash_key("z", "client");
  const uint64_t now = kEpoch + 10;
  EXPECT_TRUE(t.take(k, 2000, 0, now).allowed);  // 2 r/s
  auto r = t.take(k, 2000, 0, now + 100);
  EXPECT_FALSE(r.allowed);
  EXPECT_EQ(r.retry_after_s, 1u);
  EXPECT_TRUE(t.take(k, 2000, 0, now + 500).allowed);
  // 6 r/min: Retry-After in whole seconds, rounded up.
  const uint64_t slow = RateTable::hash_key("z", "slow");
  EXPECT_TRUE(t.take(slow, 100, 0, now).allowed);
  EXPECT_EQ(t.take(slow, 100, 0, now).retry_after_s, 10u);
}

TEST(RateTable, KeysAndZonesCountApart) {
  SharedBuckets mem(64);
  RateTable t;
  t.attach(mem.b, mem.n, kEpoch);
  const uint64_t now = kEpoch + 1;
  const uint64_t a = RateTable::hash_key("one", "k"), b = RateTable::hash_key("two", "k"),
                 c = RateTable::hash_key("one", "other");
  EXPECT_NE(a, b);
  EXPECT_NE(RateTable::hash_key("ab", "c"), RateTable::hash_key("a", "bc"));
  EXPECT_TRUE(t.take(a, 1000, 0, now).allowed);
  EXPECT_FALSE(t.take(a, 1000, 0, now).allowed);
  EXPECT_TRUE(t.take(b, 1000, 0, now).allowed);
  EXPECT_TRUE(t.take(c, 1000, 0, now).allowed);
}

TEST(RateTable, AFullWindowReusesTheIdlestBucket) {
  SharedBuckets mem(RateTable::kProbe);  // one window: every key probes the same buckets
  RateTable t;
  t.attach(mem.b, mem.n, kEpoch);
  std::vector<uint64_t> keys;
  for (int i = 0; i < 9; ++i) keys.push_back(RateTable::hash_key("z", std::to_string(i)));
  for (size_t i = 0; i < 8; ++i) ASSERT_TRUE(t.take(keys[i], 1000, 0, kEpoch + 100 + i).allowed);
  EXPECT_TRUE(t.take(keys[8], 1000, 0, kEpoch + 200).allowed) << "a new key is never refused for room";
  EXPECT_FALSE(t.take(keys[7], 1000, 0, kEpoch + 200).allowed) << "the recent keys keep their buckets";
  EXPECT_TRUE(t.take(keys[0], 1000, 0, kEpoch + 200).allowed) << "the idlest (keys[0]) was forgotten";
}

// Four processes at the same instant share one burst: exactly burst + 1 pass.
TEST(RateTable, ProcessesShareOneCount) {
  SharedBuckets mem(1024);
  const uint64_t k = RateTable::hash_key("node", "one client");
  constexpr int kChildren = 4, kTries = 100;
  constexpr uint32_t kBurst = 150;
  std::vector<pid_t> kids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      RateTable t;
      t.attach(mem.b, mem.n, kEpoch);
      uint64_t allowed = 0;
      for (int i = 0; i < kTries; ++i) allowed += t.take(k, 1, kBurst, kEpoch + 7).allowed;
      mem.counters[0].fetch_add(allowed);
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t p : kids) {
    int st = 0;
    ASSERT_EQ(::waitpid(p, &st, 0), p);
    ASSERT_TRUE(WIFEXITED(st));
  }
  EXPECT_EQ(mem.counters[0].load(), kBurst + 1u);
}

// Processes counting into the table are SIGKILLed at random instants,
// twenty times over. No lock is held anywhere, so nothing is left half
// done: every bucket's excess stays within what the algorithm stores
// (at most the burst), and a key counts exactly as before afterwards.
TEST(RateTable, ProcessesKilledMidCountLeaveEveryBucketUsable) {
  SharedBuckets mem(256);
  constexpr uint32_t kBurst = 20;
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    mem.counters[1].store(0);
    std::vector<pid_t> kids;
    for (int c = 0; c < 3; ++c) {
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        RateTable t;
        t.attach(mem.b, mem.n, kEpoch);
        for (uint64_t i = 0;; ++i) {
          const uint64_t k = RateTable::hash_key("z", std::to_string(i % 300));  // more keys than buckets
          (void)t.take(k, 50'000, kBurst, kEpoch + 1000 + i / 7);
          mem.counters[1].fetch_add(1, std::memory_order_relaxed);
        }
      }
      kids.push_back(pid);
    }
    // Kill once they have counted a random amount (no sleep: their own progress).
    const uint64_t target = 1000 + rng() % 20000;
    while (mem.counters[1].load() < target) {
    }
    for (pid_t p : kids) ::kill(p, SIGKILL);
    for (pid_t p : kids) ::waitpid(p, nullptr, 0);
  }
  for (size_t i = 0; i < mem.n; ++i) {
    const uint64_t s = mem.b[i].state.load();
    EXPECT_LE(s >> RateTable::kTimeBits, uint64_t{kBurst} * 1000) << "bucket " << i;
  }
  RateTable t;
  t.attach(mem.b, mem.n, kEpoch);
  const uint64_t later = kEpoch + 10'000'000;  // long after: every bucket drained
  const uint64_t k = RateTable::hash_key("z", "7");
  for (uint32_t i = 0; i <= kBurst; ++i) EXPECT_TRUE(t.take(k, 1000, kBurst, later).allowed) << i;
  EXPECT_FALSE(t.take(k, 1000, kBurst, later).allowed);
}

}  // namespace

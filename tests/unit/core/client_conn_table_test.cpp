// core::shm::ClientConnTable: a limit per key, keys apart, a give-back
// that frees the slot for the next connection, a full probe window that
// leaves a connection uncounted rather than refused, one count for several
// processes, and processes SIGKILLed at random instants while they take and
// give back, after which giving back their records (as the master does
// from a dead worker's slots) leaves no count behind.
#include "core/shm/client_conn_table.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <string>
#include <vector>

using pillar::core::shm::ClientConnTable;

namespace {

using Take = ClientConnTable::Take;

// Buckets, records (the slots' words) and counters in one anonymous shared
// mapping, as the master's segment and the scoreboard.
struct Shared {
  Shared(size_t n, size_t records) : n(n), nrec(records) {
    bytes = sizeof(std::atomic<uint64_t>) * (n + records + 4);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    b = new (p) std::atomic<uint64_t>[n + records + 4]{};
    rec = b + n;
    counters = rec + records;
  }
  ~Shared() { ::munmap(b, bytes); }
  size_t n, nrec, bytes;
  std::atomic<uint64_t>* b;
  std::atomic<uint64_t>* rec;
  std::atomic<uint64_t>* counters;
};

uint64_t key(const std::string& ip) { return ClientConnTable::hash_address(ip); }

TEST(ClientConnTable, LimitPerKeyAndGiveBack) {
  Shared m(64, 8);
  ClientConnTable t;
  t.attach(m.b, m.n);
  const uint64_t a = key("10.0.0.1"), b = key("10.0.0.2");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.take(a, 3, m.rec[i]), Take::Taken) << i;
  EXPECT_EQ(t.take(a, 3, m.rec[3]), Take::Over);
  EXPECT_EQ(m.rec[3].load(), 0u) << "a refusal records nothing";
  EXPECT_EQ(t.count(a), 3u);
  EXPECT_EQ(t.take(b, 3, m.rec[4]), Take::Taken) << "another address has its own count";
  t.give_back(m.rec[1]);
  EXPECT_EQ(m.rec[1].load(), 0u);
  t.give_back(m.rec[1]);  // twice: nothing more
  EXPECT_EQ(t.count(a), 2u);
  EXPECT_EQ(t.take(a, 3, m.rec[3]), Take::Taken);
  EXPECT_EQ(t.take(a, 3, m.rec[1]), Take::Over);
  for (int i : {0, 2, 3, 4}) t.give_back(m.rec[i]);
  EXPECT_EQ(t.count(a), 0u);
  EXPECT_EQ(t.count(b), 0u);
}

TEST(ClientConnTable, AFullWindowLeavesTheConnectionUncounted) {
  Shared m(8, 16);  // one probe window
  ClientConnTable t;
  t.attach(m.b, m.n);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(t.take(key("192.0.2." + std::to_string(i)), 1, m.rec[i]), Take::Taken) << i;
  const uint64_t late = key("198.51.100.1");
  EXPECT_EQ(t.take(late, 1, m.rec[8]), Take::Untracked);
  EXPECT_EQ(m.rec[8].load(), 0u);
  t.give_back(m.rec[5]);  // a bucket whose count is 0 is free for any key
  EXPECT_EQ(t.take(late, 1, m.rec[8]), Take::Taken);
  EXPECT_EQ(t.take(late, 1, m.rec[9]), Take::Over);
}

TEST(ClientConnTable, ProcessesShareOneCount) {
  constexpr int kKids = 4, kEach = 50, kLimit = 37;
  Shared m(64, kKids * kEach);
  std::vector<pid_t> kids;
  for (int c = 0; c < kKids; ++c) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ClientConnTable t;
      t.attach(m.b, m.n);
      m.counters[0].fetch_add(1);
      while (m.counters[0].load() < kKids) {
      }  // all start together
      for (int i = 0; i < kEach; ++i)
        if (t.take(key("203.0.113.9"), kLimit, m.rec[c * kEach + i]) == Take::Taken) m.counters[1].fetch_add(1);
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t p : kids) ::waitpid(p, nullptr, 0);
  EXPECT_EQ(m.counters[1].load(), static_cast<uint64_t>(kLimit)) << "exactly the limit, across processes";
  ClientConnTable t;
  t.attach(m.b, m.n);
  EXPECT_EQ(t.count(key("203.0.113.9")), static_cast<uint32_t>(kLimit));
}

TEST(ClientConnTable, ProcessesKilledMidCountLeaveNothingBehindOnceGivenBack) {
  constexpr size_t kRecords = 64;  // per process, as a worker's slots
  constexpr int kKids = 3;
  Shared m(256, kRecords * kKids);
  std::mt19937 rng(4242);
  for (int round = 0; round < 20; ++round) {
    m.counters[1].store(0);
    std::vector<pid_t> kids;
    for (int c = 0; c < kKids; ++c) {
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        ClientConnTable t;
        t.attach(m.b, m.n);
        std::mt19937 r(static_cast<unsigned>(c * 7919 + round));
        std::atomic<uint64_t>* mine = m.rec + c * kRecords;
        for (;;) {
          const size_t s = r() % kRecords;
          if (mine[s].load()) t.give_back(mine[s]);
          else (void)t.take(key("10.1." + std::to_string(r() % 40)), 5, mine[s]);
          m.counters[1].fetch_add(1, std::memory_order_relaxed);
        }
      }
      kids.push_back(pid);
    }
    const uint64_t target = 1000 + rng() % 30000;  // their own progress, no sleep
    while (m.counters[1].load() < target) {
    }
    for (pid_t p : kids) ::kill(p, SIGKILL);
    for (pid_t p : kids) ::waitpid(p, nullptr, 0);
    // The master's part: every record of the dead processes is given back.
    ClientConnTable t;
    t.attach(m.b, m.n);
    for (size_t i = 0; i < m.nrec; ++i) t.give_back(m.rec[i]);
    for (size_t i = 0; i < m.n; ++i)
      ASSERT_EQ(m.b[i].load() & ClientConnTable::kCountMax, 0u) << "round " << round << ": bucket " << i << " leaked";
  }
  ClientConnTable t;
  t.attach(m.b, m.n);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(t.take(key("10.1.7"), 5, m.rec[i]), Take::Taken) << i;
  EXPECT_EQ(t.take(key("10.1.7"), 5, m.rec[5]), Take::Over);
}

}  // namespace

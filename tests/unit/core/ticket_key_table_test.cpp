// The session-ticket key table: a writer stopped or killed before any of its
// stores leaves readers the previous whole key set, the next writer
// recovers, and readers racing rotations never see a torn set.
#include "core/shm/ticket_key_table.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

using pillar::core::shm::TicketKeySet;
using pillar::core::shm::TicketKeyTable;

namespace {

// A set whose every key byte is derived from `g`, so a mix of two sets shows.
TicketKeySet set_of(uint64_t g) {
  TicketKeySet s;
  s.count = 2;
  s.generation = g;
  s.lifetime_ms = g * 1000;
  for (auto& k : s.keys) {
    std::memset(k.name, static_cast<int>(g * 7 + 1), sizeof k.name);
    std::memset(k.aes, static_cast<int>(g * 7 + 2), sizeof k.aes);
    std::memset(k.hmac, static_cast<int>(g * 7 + 3), sizeof k.hmac);
    k.created_ms = g * 11;
  }
  return s;
}

bool same(const TicketKeySet& a, const TicketKeySet& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Consistent: every field is what set_of(generation) gives.
bool whole(const TicketKeySet& s) { return same(s, set_of(s.generation)); }

// The table in memory shared with forked children, as the master's is.
struct SharedTable {
  void* mem = mmap(nullptr, sizeof(TicketKeyTable), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  TicketKeyTable* t = new (mem) TicketKeyTable();
  ~SharedTable() { munmap(mem, sizeof(TicketKeyTable)); }
};

TEST(TicketKeyTable, EmptyUntilPublishedThenReadsTheSet) {
  TicketKeyTable t;
  TicketKeySet s;
  EXPECT_FALSE(t.read(s));
  ASSERT_TRUE(t.publish(set_of(1)));
  ASSERT_TRUE(t.read(s));
  EXPECT_TRUE(same(s, set_of(1)));
  ASSERT_TRUE(t.publish(set_of(2)));
  ASSERT_TRUE(t.publish(set_of(3)));
  ASSERT_TRUE(t.read(s));
  EXPECT_TRUE(same(s, set_of(3)));
}

// The writer stops before each of its stores in turn (as a master stopped
// or killed there): readers still get the previous whole set, and the next
// writer publishes over whatever was left half-written.
TEST(TicketKeyTable, AWriterStoppedAtAnyStepLeavesThePreviousWholeSet) {
  for (size_t stop = 0; stop < TicketKeyTable::kSteps; ++stop) {
    for (int rotations_before = 1; rotations_before <= 2; ++rotations_before) {  // either slot active
      TicketKeyTable t;
      for (int g = 1; g <= rotations_before; ++g) ASSERT_TRUE(t.publish(set_of(g)));
      size_t steps = 0;
      EXPECT_FALSE(t.publish(set_of(50), [&](size_t i) {
        steps = i;
        return i < stop;
      })) << "stopped before step " << stop;
      EXPECT_EQ(steps, stop);
      TicketKeySet s;
      ASSERT_TRUE(t.read(s));
      EXPECT_TRUE(same(s, set_of(rotations_before))) << "stopped before step " << stop << ": generation " << s.generation;
      // A second stopped writer on the same half-written slot changes nothing either.
      EXPECT_FALSE(t.publish(set_of(51), [&](size_t i) { return i < stop; }));
      ASSERT_TRUE(t.read(s));
      EXPECT_TRUE(same(s, set_of(rotations_before)));
      // The next writer recovers.
      ASSERT_TRUE(t.publish(set_of(60)));
      ASSERT_TRUE(t.read(s));
      EXPECT_TRUE(same(s, set_of(60))) << "after stopping before step " << stop;
    }
  }
  // The unstopped writer takes exactly kSteps steps.
  TicketKeyTable t;
  size_t n = 0;
  EXPECT_TRUE(t.publish(set_of(1), [&](size_t) { return ++n, true; }));
  EXPECT_EQ(n, TicketKeyTable::kSteps);
}

// The same with a real process: a child writing the shared table is killed
// (SIGKILL) before each store; the parent reads the previous set, then writes.
TEST(TicketKeyTable, AWriterKilledMidRotationLeavesReadersAWholeSet) {
  for (size_t kill_at = 0; kill_at < TicketKeyTable::kSteps; ++kill_at) {
    SharedTable st;
    ASSERT_TRUE(st.t->publish(set_of(1)));
    ASSERT_TRUE(st.t->publish(set_of(2)));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      st.t->publish(set_of(3), [&](size_t i) {
        if (i == kill_at) raise(SIGKILL);
        return true;
      });
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "killed before step " << kill_at;
    TicketKeySet s;
    ASSERT_TRUE(st.t->read(s));
    EXPECT_TRUE(same(s, set_of(2))) << "killed before step " << kill_at << ": generation " << s.generation;
    ASSERT_TRUE(st.t->publish(set_of(4)));
    ASSERT_TRUE(st.t->read(s));
    EXPECT_TRUE(same(s, set_of(4)));
  }
}

// Readers in other threads during back-to-back rotations: every set they
// read is whole (one generation's bytes), and generations never go back.
TEST(TicketKeyTable, ReadersRacingRotationsNeverSeeATornSet) {
  TicketKeyTable t;
  ASSERT_TRUE(t.publish(set_of(1)));
  std::atomic<bool> done{false};
  std::atomic<uint64_t> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      uint64_t last = 0;
      while (!done.load(std::memory_order_relaxed)) {
        TicketKeySet s;
        if (!t.read(s) || !whole(s) || s.generation < last) torn.fetch_add(1);
        last = s.generation;
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (uint64_t g = 2; g < 200000; ++g) ASSERT_TRUE(t.publish(set_of(g)));
  done = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(torn.load(), 0u) << "of " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace

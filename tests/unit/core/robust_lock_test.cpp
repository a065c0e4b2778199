#include "core/shm/robust_lock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <new>

using pillar::core::shm::RobustGuard;
using pillar::core::shm::RobustLock;
using Clock = std::chrono::steady_clock;

namespace {

// A lock in memory shared with forked children, as the node's tables are.
struct SharedLock {
  void* mem = mmap(nullptr, sizeof(RobustLock), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  RobustLock* lock = new (mem) RobustLock();
  SharedLock() { lock->init(); }
  ~SharedLock() { munmap(mem, sizeof(RobustLock)); }
};

// A child that takes the lock, tells the parent through a pipe, then does `then`.
template <typename Then>
pid_t child_holding(RobustLock& l, Then then) {
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    if (!l.lock()) _exit(2);
    char c = 1;
    if (write(p[1], &c, 1) != 1) _exit(2);
    then();
    _exit(0);
  }
  close(p[1]);
  char c = 0;
  EXPECT_EQ(read(p[0], &c, 1), 1);
  close(p[0]);
  return pid;
}

}  // namespace

TEST(RobustLock, DeadHolderIsTakenOver) {
  SharedLock s;
  pid_t pid = child_holding(*s.lock, [] { _exit(0); });  // exits holding it
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  {
    RobustGuard g(*s.lock);
    EXPECT_TRUE(g.locked());
  }
  EXPECT_EQ(s.lock->recoveries.load(), 1u);
  RobustGuard again(*s.lock);
  EXPECT_TRUE(again.locked()) << "consistent again: an ordinary lock from now on";
}

TEST(RobustLock, StalledHolderCostsOneBoundedWaitThenTriesOnly) {
  SharedLock s;
  pid_t pid = child_holding(*s.lock, [&] {
    raise(SIGSTOP);
    s.lock->unlock();
  });
  auto t0 = Clock::now();
  EXPECT_FALSE(s.lock->lock(20'000));
  auto waited = Clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(19));
  EXPECT_LT(waited, std::chrono::milliseconds(1000));
  t0 = Clock::now();
  EXPECT_FALSE(s.lock->lock(2'000'000)) << "after a timeout, lockers only try";
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(100));
  EXPECT_EQ(s.lock->timeouts.load(), 2u);
  // The holder goes on and lets go: the lock is an ordinary one again.
  kill(pid, SIGCONT);
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  ASSERT_TRUE(s.lock->lock());
  EXPECT_EQ(s.lock->stalled.load(), 0u);
  s.lock->unlock();
}

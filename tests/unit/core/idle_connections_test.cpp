// IdleConnections: the warmest connection is taken first, one the peer
// closed or wrote to while idle is dropped, a peer keeps at most its
// maximum (the oldest goes), peers do not share, idle_ms closes what waited
// too long (the loop's timer), and close_all keeps nothing more.
#include "core/idle_connections.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <gtest/gtest.h>

namespace pillar::core {
namespace {

// A connected pair: the pooled transport's end and its peer's.
struct Pair {
  std::unique_ptr<Transport> ours;
  Fd theirs;
  int fd = -1;  // ours, to recognise it when taken
};

Pair make_pair() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  Pair p;
  p.fd = sv[0];
  p.ours = std::make_unique<PlainTransport>(Fd(sv[0]));
  p.theirs = Fd(sv[1]);
  return p;
}

const int kPeer = 0;

TEST(IdleConnections, TheMostRecentlyGivenIsTakenFirst) {
  EventLoop loop;
  IdleConnections pool(loop, 4, 0);
  Pair a = make_pair(), b = make_pair();
  pool.give(&kPeer, 1, std::move(a.ours));
  pool.give(&kPeer, 1, std::move(b.ours));
  EXPECT_EQ(pool.idle(), 2u);
  auto t = pool.take(&kPeer, 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fd(), b.fd);
  t = pool.take(&kPeer, 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fd(), a.fd);
  EXPECT_FALSE(pool.take(&kPeer, 1));
}

TEST(IdleConnections, OneThePeerClosedOrWroteToIsDropped) {
  EventLoop loop;
  IdleConnections pool(loop, 4, 0);
  Pair quiet = make_pair(), closed = make_pair(), chatty = make_pair();
  pool.give(&kPeer, 0, std::move(quiet.ours));
  pool.give(&kPeer, 0, std::move(closed.ours));
  pool.give(&kPeer, 0, std::move(chatty.ours));
  closed.theirs.reset();
  ASSERT_EQ(::write(chatty.theirs.get(), "x", 1), 1);
  auto t = pool.take(&kPeer, 0);  // chatty and closed are skipped
  ASSERT_TRUE(t);
  EXPECT_EQ(t->fd(), quiet.fd);
  EXPECT_EQ(pool.idle(), 0u);
}

TEST(IdleConnections, APeerKeepsItsMaximumAndPeersDoNotShare) {
  EventLoop loop;
  IdleConnections pool(loop, 2, 0);
  Pair a = make_pair(), b = make_pair(), c = make_pair(), other = make_pair();
  pool.give(&kPeer, 0, std::move(a.ours));
  pool.give(&kPeer, 0, std::move(b.ours));
  pool.give(&kPeer, 0, std::move(c.ours));  // a (the oldest) goes
  pool.give(&kPeer, 1, std::move(other.ours));
  EXPECT_EQ(pool.idle(), 3u);
  char ch;
  EXPECT_EQ(::read(a.theirs.get(), &ch, 1), 0) << "the evicted connection is closed";
  EXPECT_EQ(pool.take(&kPeer, 0)->fd(), c.fd);
  EXPECT_EQ(pool.take(&kPeer, 0)->fd(), b.fd);
  EXPECT_FALSE(pool.take(&kPeer, 0));
  EXPECT_EQ(pool.take(&kPeer, 1)->fd(), other.fd);
}

TEST(IdleConnections, IdleTooLongIsClosedByTheTimer) {
  EventLoop loop;
  IdleConnections pool(loop, 4, 30);
  Pair a = make_pair();
  pool.give(&kPeer, 0, std::move(a.ours));
  // The loop runs until the peer sees the close (bounded by a stop timer).
  struct Stop final : TimerNode {
    EventLoop& l;
    explicit Stop(EventLoop& l) : l(l) {}
    void on_timer() override { l.stop(); }
  } stop(loop);
  struct Watch final : IoWatcher {
    EventLoop& l;
    bool closed = false;
    explicit Watch(EventLoop& l) : l(l) {}
    void on_io(uint32_t) override {
      closed = true;
      l.stop();
    }
  } watch(loop);
  loop.add(a.theirs.get(), EPOLLRDHUP | EPOLLIN, &watch);
  loop.timers().arm(stop, loop.now_ms() + 5000);
  auto start = std::chrono::steady_clock::now();
  loop.run();
  loop.remove(a.theirs.get());
  TimerWheel::cancel(stop);
  EXPECT_TRUE(watch.closed);
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(25));
}

TEST(IdleConnections, CloseAllKeepsNothingMore) {
  EventLoop loop;
  IdleConnections pool(loop, 4, 0);
  Pair a = make_pair(), b = make_pair();
  pool.give(&kPeer, 0, std::move(a.ours));
  pool.close_all();
  EXPECT_EQ(pool.idle(), 0u);
  pool.give(&kPeer, 0, std::move(b.ours));
  EXPECT_EQ(pool.idle(), 0u);
  char ch;
  EXPECT_EQ(::read(b.theirs.get(), &ch, 1), 0);
}

}  // namespace
}  // namespace pillar::core

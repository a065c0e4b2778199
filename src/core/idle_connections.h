// Idle upstream connections of one event loop, per peer (keep-alive to a
// balancer member, FCGI_KEEP_CONN to a FastCGI application): the next
// request to the same peer reuses one instead of connecting (and, over TLS,
// handshaking) again. The most recently used is taken first (the warmest,
// and the one least likely to have been closed by the peer's own timeout).
//
// At most `max_per_peer` per peer (the oldest goes to make room) and, with
// `idle_ms`, none kept longer than that unused. One the peer closed while it
// was idle, or one with bytes nobody asked for, is dropped when taken: a
// non-blocking read through its transport must answer Again (over TLS that
// read also consumes a session ticket that arrived meanwhile, which is not
// application data).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "core/transport.h"

namespace pillar::core {

class IdleConnections final : public TimerNode {
 public:
  IdleConnections(EventLoop& loop, size_t max_per_peer, uint64_t idle_ms)
      : loop_(loop), max_per_peer_(max_per_peer), idle_ms_(idle_ms) {}
  ~IdleConnections() override;
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;

  // A peer is named by its owner's address and an index within it (the
  // balancer and the member's slot; the application and 0).
  std::unique_ptr<Transport> take(const void* peer, int index = 0);
  void give(const void* peer, int index, std::unique_ptr<Transport> t);
  size_t idle() const;
  // Closes every idle connection and keeps no more (the loop is stopping).
  void close_all();
  void on_timer() override;  // closes what has been idle for idle_ms

 private:
  struct Idle {
    std::unique_ptr<Transport> t;
    uint64_t since_ms;
  };
  using Peer = std::pair<const void*, int>;
  void arm();
  EventLoop& loop_;
  const size_t max_per_peer_;
  const uint64_t idle_ms_;  // 0: kept until taken, made room for, or closed by the peer
  bool closed_ = false;
  std::map<Peer, std::vector<Idle>> idle_;  // per peer, oldest first
};

}  // namespace pillar::core

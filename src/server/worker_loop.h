// One event-loop thread: accepts on the shared listeners (EPOLLEXCLUSIVE),
// owns its connections, their buffers and timers. Nothing here is touched by
// another thread except stop(), which goes through the loop's post queue.
#pragma once
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <map>
#include <unordered_set>
#include <vector>

#include "core/event_loop.h"
#include "core/fd.h"
#include "core/idle_connections.h"
#include "core/shm/scoreboard.h"
#include "http/exchange.h"
#include "server/request/request.h"
#include "server/site.h"

namespace pillar::server {

class Connection;
class CacheExchange;
class CacheNotifier;

struct ListenerSocket {
  int fd = -1;
  config::ListenAddress addr;
  sockaddr_storage bound{};  // actual address (ephemeral port resolved)
};

// Per-loop counters, summed on read (never shared-written).
struct LoopStats {
  uint64_t connections = 0;
  uint64_t requests = 0;
  uint64_t bytes_out = 0;
  uint64_t accept_errors = 0;
};

// The scoreboard slots one loop owns: [first, first + count) of its
// worker's row. A connection holds one from accept to close.
struct LoopSlots {
  core::shm::Scoreboard board;
  uint32_t row = 0;
  uint32_t first = 0;
  uint32_t count = 0;
  uint32_t loop_index = 0;  // within the worker (names its cache notifier)
  int32_t master_pid = 0;
};

class WorkerLoop {
 public:
  static constexpr size_t kBufferSize = 16 * 1024;
  static constexpr size_t kMaxIdleUpstream = 512;  // per member, per loop (as many as clients keep busy)
  static constexpr size_t kMaxIdleFastcgi = 2;     // per application, per loop
  static constexpr uint64_t kFastcgiIdleMs = 3000;
  static constexpr size_t kBufferPoolMax = 64;     // pooled read buffers per loop (1 MiB)

  WorkerLoop(const Runtime& rt, const std::vector<ListenerSocket>& listeners, const LoopSlots& slots);
  ~WorkerLoop();

  void run();   // on the loop's own thread; returns after stop() once drained
  // Thread-safe: stop accepting, let connections finish, then exit. Graceful
  // leaves idle keep-alive connections open until their next request (which
  // is answered with Connection: close) or their idle timeout, so a client
  // is never cut off while it may be sending.
  void stop(bool graceful = false);
  // Thread-safe: while draining, close every connection waiting for a
  // request, keep-alive or new (the master needs the rows back).
  void close_idle_now();

  core::EventLoop& loop() { return loop_; }
  const Runtime& runtime() const { return rt_; }
  LoopStats& stats() { return stats_; }
  bool stopping() const { return stopping_; }
  bool extended_status() const { return rt_.config().process.extended_status; }
  bool exited() const { return exited_.load(std::memory_order_acquire); }

  // Read buffers are pooled so idle keep-alive connections hold none.
  std::unique_ptr<char[]> take_buffer();
  void give_buffer(std::unique_ptr<char[]> buf);

  void link(Connection* c);
  void unlink(Connection* c);  // the connection is deleted after the current event batch
  void force_close_all();      // shutdown deadline passed

  // Node-wide and per-loop slot accounting (see LoopSlots). reserve_slot()
  // may close this loop's oldest idle keep-alive connection to make room.
  // When `evict` is false it never closes anything (the caller does not yet
  // know that a connection is waiting).
  core::shm::ConnSlot* reserve_slot(uint32_t& index, bool evict);
  bool has_idle() const;
  bool node_full() const {
    const auto& h = slots_.board.header();
    return h.conns_in_use.load(std::memory_order_relaxed) >= h.max_conns.load(std::memory_order_relaxed);
  }
  uint64_t next_idle_seq() { return ++idle_seq_; }

  // Idle keep-alive connections to balancer members (per balancer and
  // member slot) and to FastCGI applications (FCGI_KEEP_CONN).
  core::IdleConnections& member_connections() { return member_idle_; }
  core::IdleConnections& fastcgi_connections() { return fastcgi_idle_; }
  // A finished or aborted exchange is deleted after the current event batch
  // (it may be inside one of its own callbacks).
  void retire(std::unique_ptr<http::Exchange> x);
  // A request the server makes of itself (a background cache refresh): a
  // connection of this loop over a socketpair carries `request` (a whole
  // head, no body) for `client`, and its answer is read and dropped.
  // `make_seed` gets the connection's slot before it starts. False when no
  // slot or socket is free.
  bool start_internal(std::string_view request, const sockaddr_storage& client, const sockaddr_storage& local,
                      const std::function<std::unique_ptr<RequestSeed>(core::shm::ConnSlot&)>& make_seed);
  void release_slot(uint32_t index);
  core::shm::ProcessRow& row() const { return slots_.board.row(slots_.row); }
  const core::shm::ScoreboardHeader& board_header() const { return slots_.board.header(); }  // Header's %i %b
  core::shm::ScoreboardHeader& node_counters() { return slots_.board.header(); }  // what every worker adds to
  // PillarMaxConnectionsPerClient: counts the connection in `slot` for its
  // client; false when the client already holds the limit (its requests
  // are then refused). Given back by release_slot.
  bool admit_client(core::shm::ConnSlot& slot, const sockaddr_storage& peer);
  // Connections waiting on a cache object another request is fetching.
  CacheNotifier* cache_notifier() const { return cache_notifier_.get(); }
  std::unordered_set<CacheExchange*>& cache_waiters() { return cache_waiters_; }
  void wake_cache_waiters();
  uint32_t row_index() const { return slots_.row; }

 private:
  class Acceptor;
  class MemoryTrim;
  void begin_stop();
  void maybe_exit();
  void reap();

  bool close_oldest_idle();

  const Runtime& rt_;
  LoopSlots slots_;
  std::vector<uint32_t> free_slots_;
  core::EventLoop loop_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::unique_ptr<MemoryTrim> trim_;
  // After loop_: closed before the loop goes. FastCGI's are kept few and
  // briefly: PHP-FPM's children serve one connection at a time, so an idle
  // pooled connection holds a child another loop or worker may need
  // (mod_proxy_fcgi's enablereuse caveat).
  core::IdleConnections member_idle_{loop_, kMaxIdleUpstream, 0};
  core::IdleConnections fastcgi_idle_{loop_, kMaxIdleFastcgi, kFastcgiIdleMs};
  std::vector<std::unique_ptr<char[]>> buffer_pool_;
  Connection* conns_ = nullptr;  // intrusive list of live connections
  size_t conn_count_ = 0;
  std::vector<Connection*> graveyard_;
  std::vector<std::unique_ptr<http::Exchange>> dead_exchanges_;
  std::unique_ptr<CacheNotifier> cache_notifier_;
  std::unordered_set<CacheExchange*> cache_waiters_;
  bool stopping_ = false;
  bool graceful_ = false;
  uint64_t idle_seq_ = 0;
  std::atomic<bool> exited_{false};
  LoopStats stats_;
  friend class Connection;
};

}  // namespace pillar::server

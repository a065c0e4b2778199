#include "server/worker_loop.h"

#include "server/cache_exchange.h"
#include "server/tls_front.h"

#include <malloc.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/fd_reserve.h"
#include "core/log.h"
#include "server/connection.h"
#include "server/proxy_exchange.h"

namespace pillar::server {

// Accepts from one shared listening socket. Level-triggered with
// EPOLLEXCLUSIVE so one idle loop is woken per connection burst. It stops
// accepting while descriptors run into the reserve (core/fd_reserve.h), and
// on EMFILE, stepping back from the socket for a moment instead of spinning:
// the connections wait in the backlog.
class WorkerLoop::Acceptor final : public core::IoWatcher, public core::TimerNode {
 public:
  static constexpr uint64_t kFullRetryMs = 20;
  Acceptor(WorkerLoop& w, const ListenerSocket& l) : w_(w), l_(l) {}
  void enable() { w_.loop().add(l_.fd, EPOLLIN | EPOLLEXCLUSIVE, this); }
  void disable() { w_.loop().remove(l_.fd); }
  void on_timer() override {
    if (!w_.stopping_) enable();
  }
  void on_io(uint32_t) override {
    const uint64_t fd_limit = core::fd_limit();  // once per wake-up: it may change at run time
    if (fd_short_) {
      // Accept again only once the lowest free descriptor is out of the reserve.
      core::Fd probe(::fcntl(l_.fd, F_DUPFD_CLOEXEC, 0));
      bool still = !probe || core::fd_in_reserve(probe.get(), fd_limit);
      if (still) return pause_for_fds();
      fd_short_ = false;
    }
    for (int i = 0; i < 64 && !w_.stopping_; ++i) {
      uint32_t slot_index = 0;
      core::shm::ConnSlot* slot = w_.reserve_slot(slot_index, false);
      if (!slot && !(w_.node_full() && w_.has_idle())) {
        // This loop's slots are all in use while the node has room (another
        // loop or a worker the master starts takes the connection), or
        // MaxRequestWorkers is reached with nothing idle to give up: the
        // connection waits in the listen backlog, as in Apache. Look again shortly.
        disable();
        w_.loop().timers().arm(*this, w_.loop().now_ms() + kFullRetryMs);
        return;
      }
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      core::Fd accepted(::accept4(l_.fd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (accepted && !slot) {
        // Full, but a connection is really waiting: the oldest idle
        // keep-alive connection of this loop makes room for it.
        slot = w_.reserve_slot(slot_index, true);
        if (!slot) return;  // the idle connection went away meanwhile: impossible within one callback
      }
      if (!accepted) {
        if (slot) w_.release_slot(slot_index);
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        if (errno == ECONNABORTED || errno == EPROTO) continue;
        ++w_.stats_.accept_errors;
        if (errno == EMFILE || errno == ENFILE) {
          core::report_fd_shortage("accept failed, new connections wait in the listen backlog", fd_limit);
          pause_for_fds();
        } else if (errno == ENOBUFS || errno == ENOMEM) {
          core::log(core::LogLevel::Error, "core", "accept on {}: {}; pausing accepts for 100 ms", l_.addr.text,
                    strerror(errno));
          disable();
          w_.loop().timers().arm(*this, w_.loop().now_ms() + 100);
        }
        return;
      }
      const int fd = accepted.get();
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_storage local = l_.bound;
      if (l_.addr.any_address) {
        socklen_t llen = sizeof local;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
      }
      ++w_.stats_.connections;
      w_.row().connections.fetch_add(1, std::memory_order_relaxed);
      std::unique_ptr<core::Transport> tls;
      if (l_.addr.https) {
        tls = make_tls_transport(w_.runtime(), std::move(accepted), local, &w_.slots_.board.header().tls);
        if (!tls) {  // no context serves the address (refused at load): nothing to speak
          w_.release_slot(slot_index);
          continue;
        }
      }
      auto* c = new Connection(w_, tls ? tls->fd() : accepted.release(), peer, local, slot, slot_index, std::move(tls));
      c->start();
      if (core::fd_in_reserve(fd, fd_limit)) {
        // This one is served from the reserve; the next wait in the backlog.
        core::report_fd_shortage("new connections wait in the listen backlog", fd_limit);
        pause_for_fds();
        return;
      }
    }
  }

 private:
  static constexpr uint64_t kFdRetryMs = 100;
  void pause_for_fds() {
    fd_short_ = true;
    disable();
    w_.loop().timers().arm(*this, w_.loop().now_ms() + kFdRetryMs);
  }
  WorkerLoop& w_;
  const ListenerSocket& l_;
  bool fd_short_ = false;  // descriptors ran into the reserve: probe before accepting
};

// Gives memory back to the system after a flood. Buffers go back to malloc
// when a connection closes (the pools are small), but glibc keeps freed
// pages in its arenas; once a loop has shed most of the connections it held
// at its peak, malloc_trim returns them (it walks every arena, so one loop's
// trim also serves the others). Checked once a second, so a steady load
// never pays for it.
class WorkerLoop::MemoryTrim final : public core::TimerNode {
 public:
  static constexpr uint64_t kEveryMs = 1000;
  static constexpr size_t kMinDrop = 64;  // connections shed since the peak before trimming is worth it
  explicit MemoryTrim(WorkerLoop& w) : w_(w) { arm(); }
  void on_timer() override {
    size_t now = w_.conn_count_;
    peak_ = std::max(peak_, seen_max_);
    if (peak_ >= now + kMinDrop && now <= peak_ / 2) {
      w_.buffer_pool_.clear();
      w_.buffer_pool_.shrink_to_fit();
      ProxyExchange::release_spare_buffers();
      ::malloc_trim(0);
      peak_ = now;
    }
    seen_max_ = now;
    arm();
  }
  void note(size_t conns) { seen_max_ = std::max(seen_max_, conns); }

 private:
  void arm() { w_.loop().timers().arm(*this, w_.loop().now_ms() + kEveryMs); }
  WorkerLoop& w_;
  size_t peak_ = 0, seen_max_ = 0;
};

WorkerLoop::WorkerLoop(const Runtime& rt, const std::vector<ListenerSocket>& listeners, const LoopSlots& slots)
    : rt_(rt), slots_(slots) {
  free_slots_.reserve(slots.count);
  for (uint32_t i = slots.count; i > 0; --i) free_slots_.push_back(slots.first + i - 1);
  for (const auto& l : listeners) acceptors_.push_back(std::make_unique<Acceptor>(*this, l));
  loop_.set_after_batch([this] { reap(); });
  trim_ = std::make_unique<MemoryTrim>(*this);
  if (rt.cache() && slots.master_pid > 0)
    cache_notifier_ = std::make_unique<CacheNotifier>(*this, slots.master_pid, slots.row, slots.loop_index, slots.board.rows());
}

void WorkerLoop::wake_cache_waiters() {
  std::vector<CacheExchange*> waiting(cache_waiters_.begin(), cache_waiters_.end());
  for (CacheExchange* x : waiting)
    if (cache_waiters_.count(x)) x->store_progress();
}

WorkerLoop::~WorkerLoop() {
  force_close_all();
  reap();
  member_idle_.close_all();
  fastcgi_idle_.close_all();
}

void WorkerLoop::run() {
  for (auto& a : acceptors_) a->enable();
  loop_.run();
  exited_.store(true, std::memory_order_release);
}

void WorkerLoop::stop(bool graceful) {
  loop_.post([this, graceful] {
    graceful_ = graceful;
    begin_stop();
  });
}

void WorkerLoop::close_idle_now() {
  loop_.post([this] {
    for (Connection* c = conns_; c;) {
      Connection* next = c->next_;
      c->close_if_idle();
      c = next;
    }
    maybe_exit();
  });
}

void WorkerLoop::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  member_idle_.close_all();  // no connection to a member or an application is kept from here
  fastcgi_idle_.close_all();
  for (auto& a : acceptors_) {
    a->disable();
    core::TimerWheel::cancel(*a);
  }
  for (Connection* c = conns_; c;) {
    Connection* next = c->next_;
    c->drain(graceful_);
    c = next;
  }
  maybe_exit();
}

void WorkerLoop::maybe_exit() {
  if (stopping_ && conn_count_ == 0) loop_.stop();
}

void WorkerLoop::force_close_all() {
  for (Connection* c = conns_; c;) {
    Connection* next = c->next_;
    c->close_now_external();
    c = next;
  }
}

bool WorkerLoop::has_idle() const {
  for (Connection* c = conns_; c; c = c->next_) {
    if (c->idle_keep_alive()) return true;
  }
  return false;
}

core::shm::ConnSlot* WorkerLoop::reserve_slot(uint32_t& index, bool evict) {
  auto& hdr = slots_.board.header();
  auto take = [&]() -> core::shm::ConnSlot* {
    index = free_slots_.back();
    free_slots_.pop_back();
    row().active.fetch_add(1, std::memory_order_relaxed);
    core::shm::ConnSlot& s = slots_.board.slot(slots_.row, index);
    s.state.store(static_cast<char>(core::shm::SlotState::Reading), std::memory_order_relaxed);
    return &s;
  };
  if (!free_slots_.empty()) {
    uint32_t cur = hdr.conns_in_use.load(std::memory_order_relaxed);
    while (cur < hdr.max_conns.load(std::memory_order_relaxed)) {
      if (hdr.conns_in_use.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) return take();
    }
  }
  // Full (node-wide or this loop): only for a connection known to be waiting,
  // the oldest idle keep-alive connection of this loop gives up its slot.
  if (!evict || !close_oldest_idle()) return nullptr;
  // The reservation just released is this connection's; if another worker
  // raced for it, the limit is exceeded by one for a moment rather than a
  // waiting client being refused.
  hdr.conns_in_use.fetch_add(1, std::memory_order_acq_rel);
  return take();
}

bool WorkerLoop::admit_client(core::shm::ConnSlot& slot, const sockaddr_storage& peer) {
  const uint32_t limit = runtime().config().max_conns_per_client;
  core::shm::ClientConnTable* table = runtime().builtin().client_conns;
  if (limit == 0 || !table) return true;
  // The address alone (no port); an IPv4-mapped IPv6 address counts as its IPv4 one.
  std::string_view bytes;
  if (peer.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(peer).sin_addr;
    bytes = {reinterpret_cast<const char*>(&a), 4};
  } else if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    bytes = {reinterpret_cast<const char*>(&a), 16};
    if (IN6_IS_ADDR_V4MAPPED(&a)) bytes.remove_prefix(12);
  } else {
    return true;  // a unix socket: not a client address
  }
  using Take = core::shm::ClientConnTable::Take;
  return table->take(core::shm::ClientConnTable::hash_address(bytes), limit, slot.client_conn) != Take::Over;
}

void WorkerLoop::release_slot(uint32_t index) {
  core::shm::ConnSlot& s = slots_.board.slot(slots_.row, index);
  if (auto* table = runtime().builtin().client_conns) table->give_back(s.client_conn);
  s.state.store(static_cast<char>(core::shm::SlotState::Ready), std::memory_order_relaxed);
  s.conn_requests.store(0, std::memory_order_relaxed);
  s.conn_bytes.store(0, std::memory_order_relaxed);
  free_slots_.push_back(index);
  row().active.fetch_sub(1, std::memory_order_relaxed);
  slots_.board.header().conns_in_use.fetch_sub(1, std::memory_order_acq_rel);
}

bool WorkerLoop::close_oldest_idle() {
  Connection* oldest = nullptr;
  for (Connection* c = conns_; c; c = c->next_) {
    if (c->idle_keep_alive() && (!oldest || c->idle_seq() < oldest->idle_seq())) oldest = c;
  }
  if (!oldest) return false;
  oldest->close_now_external();
  return true;
}

std::unique_ptr<char[]> WorkerLoop::take_buffer() {
  if (buffer_pool_.empty()) return std::make_unique<char[]>(kBufferSize);
  auto b = std::move(buffer_pool_.back());
  buffer_pool_.pop_back();
  return b;
}

void WorkerLoop::give_buffer(std::unique_ptr<char[]> buf) {
  if (buffer_pool_.size() < kBufferPoolMax) buffer_pool_.push_back(std::move(buf));
}

void WorkerLoop::link(Connection* c) {
  c->prev_ = nullptr;
  c->next_ = conns_;
  if (conns_) conns_->prev_ = c;
  conns_ = c;
  ++conn_count_;
  trim_->note(conn_count_);
}

void WorkerLoop::unlink(Connection* c) {
  if (c->prev_) c->prev_->next_ = c->next_;
  else conns_ = c->next_;
  if (c->next_) c->next_->prev_ = c->prev_;
  c->prev_ = c->next_ = nullptr;
  --conn_count_;
  release_slot(c->slot_index());
  // Deleted after the current batch: the caller may still be inside c's methods.
  graveyard_.push_back(c);
}

void WorkerLoop::retire(std::unique_ptr<http::Exchange> x) { dead_exchanges_.push_back(std::move(x)); }

namespace {

// The client end of an internal request: reads and drops the answer, and
// goes when the connection closes.
class InternalClient final : public core::IoWatcher {
 public:
  InternalClient(core::EventLoop& loop, core::Fd fd) : loop_(loop), fd_(std::move(fd)) {
    loop_.add(fd_.get(), EPOLLIN | EPOLLRDHUP, this);
  }
  void on_io(uint32_t) override {
    char buf[16384];
    for (;;) {
      core::Io r = core::Io::from(::read(fd_.get(), buf, sizeof buf));
      if (r.ok()) continue;
      if (r.again()) return;
      break;
    }
    loop_.remove(fd_.get());
    fd_.reset();
    loop_.post([this] { delete this; });
  }

 private:
  core::EventLoop& loop_;
  core::Fd fd_;
};

}  // namespace

bool WorkerLoop::start_internal(std::string_view request, const sockaddr_storage& client, const sockaddr_storage& local,
                                const std::function<std::unique_ptr<RequestSeed>(core::shm::ConnSlot&)>& make_seed) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return false;
  core::Fd server_end(sv[0]), client_end(sv[1]);
  // The whole request fits the socket's buffer, so it is written at once.
  if (request.size() > 60000 ||
      ::write(client_end.get(), request.data(), request.size()) != static_cast<ssize_t>(request.size()))
    return false;
  uint32_t index = 0;
  core::shm::ConnSlot* slot = reserve_slot(index, false);
  if (!slot) return false;
  new InternalClient(loop_, std::move(client_end));
  auto* c = new Connection(*this, server_end.release(), client, local, slot, index, nullptr, make_seed(*slot));
  c->start();
  return true;
}

void WorkerLoop::reap() {
  for (Connection* c : graveyard_) delete c;
  graveyard_.clear();
  // An exchange's destructor may retire another (the proxy inside a cache exchange).
  while (!dead_exchanges_.empty()) {
    auto dead = std::move(dead_exchanges_);
    dead_exchanges_.clear();
  }
  maybe_exit();
}

}  // namespace pillar::server

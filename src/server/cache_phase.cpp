#include "server/cache_phase.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "core/clock.h"
#include "core/fault_point.h"
#include "core/log.h"
#include "http/field_rules.h"
#include "http/response.h"
#include "server/connection.h"
#include "server/proxy_exchange.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

constexpr int kMaxAttempts = 3;  // lookups per request (a failed fetch sends waiters back)

core::shm::VhostCounters* counters(WorkerLoop& w, const Site* site) {
  const auto* vs = w.runtime().builtin().vhost_stats;
  return vs && site ? &vs->at(w.row_index(), site->stats_id) : nullptr;
}

}  // namespace

cache::Settings cache_settings(const config::CacheConfig& c) {
  cache::Settings s;
  s.default_ttl = c.default_expire;
  s.max_ttl = c.max_expire;
  s.min_ttl = c.min_expire;
  s.heuristic = c.heuristic;
  s.lm_factor = c.lm_factor;
  s.store_cookies = c.store_cookies;
  s.ignore_no_cache = c.ignore_cache_control;
  s.grace = c.grace;
  s.stale_if_error = c.stale_if_error;
  s.max_object_size = c.max_object_size;
  return s;
}

cache::Freshness freshness_of(const cache::ObjectMeta& m, int64_t now_ms) {
  return cache::freshness(m.stored_at + (now_ms - m.stored_ms) / 1000, m.stored_at, m.initial_age, m.ttl, m.grace,
                          m.stale_if_error);
}

int64_t current_age(const cache::ObjectMeta& m, int64_t now_ms) {
  return cache::current_age(m.initial_age, m.stored_ms, now_ms);
}

// A request's pins are recorded in its scoreboard slot by the store, in the
// critical section that takes them (lookup, pin); cache_pins_ mirrors them
// for this loop. Giving one back empties the cell first (release_cell), so
// of this worker and the master reaping it exactly one releases it.
void Connection::drop_cache_pin(int which) {
  cache_pins_[which] = {};
  if (cache::Store* store = w_.runtime().cache()) store->release_cell(slot_->cache_pins[which]);
}

void Connection::end_cache_request() {
  if (cache_waiting_) {
    w_.cache_waiters().erase(this);
    cache_waiting_ = false;
  }
  cache_.reset();
  if (proxy_ && phase_ != Phase::Proxy) w_.retire(std::move(proxy_));  // a fetch that carried on for the store
  if (cache::Store* store = w_.runtime().cache()) {
    if (refresh_busy_) {  // a background refresh that never got to its fetch (its pins are in the slot)
      store->abandon(refresh_busy_);
      refresh_busy_ = refresh_stale_ = {};
    }
    for (int i = 0; i < 2; ++i) drop_cache_pin(i);
  }
  req_.route = nullptr;
  cache_attempts_ = 0;
}

// PURGE /path: every variant of the URL on this vhost's host. Loopback
// clients only, unless CachePurgeRequire says otherwise.
void Connection::answer_purge() {
  static const config::AccessPolicy loopback_only = [] {
    config::AccessPolicy p;
    p.require.push_back({config::RequireRule::Kind::Local, {}});
    return p;
  }();
  const auto& policy = req_.site->cfg->cache.purge;
  bool allowed = (policy.empty() ? loopback_only : policy).allows(req_.client);
  req_.resp.clear();
  if (!allowed) {
    req_.resp.error(403);
  } else {
    std::string target(req_.head.path);
    if (!req_.head.query.empty()) target.append("?").append(req_.head.query);
    bool busy = false;
    uint32_t n = w_.runtime().cache()->purge(cache::primary_key(req_.host, target), &busy);
    req_.resp.status = busy ? 503 : n ? 200 : 404;
    req_.resp.add_header("Content-Type", "text/plain");
    if (busy) req_.resp.add_header("Retry-After", "1");
    req_.resp.add_text(busy ? "Cache store busy; try again\n" : n ? "Purged\n" : "Not in cache\n");
    core::log(core::LogLevel::Info, "cache", "[client {}] PURGE {}{}: {}", req_.client_ip, req_.host, target,
              busy ? std::string("store busy, not purged") : std::to_string(n) + " object(s)");
  }
  queue_response();
}

bool Connection::begin_cache(const LocationRoute& route) {
  cache::Store* store = w_.runtime().cache();
  const auto& cc = req_.site->cfg->cache;
  if (!store || !cc.enabled_for(req_.path)) return false;
  std::string target(req_.head.path);
  if (!req_.head.query.empty()) target.append("?").append(req_.head.query);
  // Other methods, extension ones included, go to the member uncached; an
  // unsafe one invalidates once the member's response head is in
  // (ProxyExchange::invalidate, RFC 9111 §4.4: not for a failed request).
  if (req_.head.method != http::Method::Get && req_.head.method != http::Method::Head) return false;
  if (req_.head.chunked || req_.head.content_length > 0 || req_.head.upgrade) return false;
  req_.route = &route;
  cache_key_ = cache::primary_key(req_.host, target);
  cache_attempts_ = 0;
  if (refresh_busy_) {  // a background refresh: the fetch was decided by the request that spawned it
    cache_pins_[0] = refresh_stale_;  // spawn_refresh recorded both in this slot
    cache_pins_[1] = refresh_busy_;
    cache::Handle busy = refresh_busy_, stale = refresh_stale_;
    refresh_busy_ = refresh_stale_ = {};
    start_fill(busy, stale);
    return true;
  }
  cache_step();
  return true;
}

// One lookup: serve, wait, fetch or pass.
void Connection::cache_step() {
  cache::Store& store = *w_.runtime().cache();
  const auto& cc = req_.site->cfg->cache;
  const auto& cfg = w_.runtime().config();
  auto* stats = counters(w_, req_.site);
  const int64_t now_ms = core::wall_ms();
  auto req_cc = cache::request_cache_control(req_.head);
  const bool auth = req_.head.has("Authorization");
  const bool range = req_.head.has("Range");
  const bool force = !cc.ignore_cache_control && (req_cc.no_cache || req_cc.max_age == 0);
  const bool only_if_cached = !cc.ignore_cache_control && req_cc.only_if_cached;
  const bool may_fetch = req_.head.method == http::Method::Get && !auth && !range && !req_cc.no_store && !only_if_cached &&
                         ++cache_attempts_ <= kMaxAttempts;
  for (int i = 0; i < 2; ++i) drop_cache_pin(i);  // a retry after a failed fetch starts afresh
  const http::RequestHead& head = req_.head;
  auto r = store.lookup(
      cache_key_, [&head](std::string_view names, std::string_view key) { return cache::vary_matches(names, key, head); },
      now_ms, force, may_fetch, static_cast<int32_t>(::getpid()), cfg.cache_lock ? cfg.cache_lock_max_waiters : 0,
      w_.cache_notifier() ? w_.cache_notifier()->bit() : 0, cfg.cache_lock_max_age.count(), slot_->cache_pins);
  PILLAR_FAULT_POINT("cache.after_lookup");  // tests: a worker dies holding the pins it just took
  cache_pins_[0] = r.ready;
  cache_pins_[1] = r.busy;
  cache::Snapshot ready;
  if (r.ready) ready = store.snapshot(r.ready);
  auto fresh = freshness_of(ready.meta, now_ms);
  auto pass = [&] {
    if (stats) stats->cache_passes.fetch_add(1, std::memory_order_relaxed);
    const LocationRoute* route = req_.route;
    end_cache_request();
    start_proxy(*route, nullptr, "PASS");
  };
  // The client accepts a stale copy (Cache-Control: max-stale[=N]) unless the
  // response forbade it (must-revalidate, proxy-revalidate, s-maxage).
  if (r.kind != cache::Store::Lookup::Hit && r.ready && ready.state == cache::ObjState::Ready && !force &&
      !cc.ignore_cache_control && req_cc.max_stale >= 0 && !ready.meta.must_revalidate &&
      !ready.meta.revalidate_always && (!auth || ready.meta.auth_ok) && fresh.age - ready.meta.ttl <= req_cc.max_stale) {
    if (r.kind == cache::Store::Lookup::Fetch) store.abandon(r.busy);  // nobody fetches for this one
    if (stats) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
    return deliver_from_cache(r.ready, "STALE");
  }
  // Cache-Control: only-if-cached: what the store has, or 504 (RFC 9111 §5.2.1.7).
  if (only_if_cached && r.kind != cache::Store::Lookup::Hit) {
    end_cache_request();
    req_.resp.error(504);
    apply_error_page(req_.site, nullptr);
    queue_response();
    return;
  }
  switch (r.kind) {
    case cache::Store::Lookup::Hit:
      if ((auth && !ready.meta.auth_ok) || (!cc.ignore_cache_control &&
                                            cache::request_needs_revalidation(req_cc, fresh.age, ready.meta.ttl, cache_settings(cc))))
        return pass();
      if (stats) stats->cache_hits.fetch_add(1, std::memory_order_relaxed);
      return deliver_from_cache(r.ready, "HIT");
    case cache::Store::Lookup::Busy:
      if (auth) return pass();  // what is being fetched may not be for it (RFC 9111 §3.5)
      if (r.ready && fresh.within_grace && !force) {
        if (stats) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
        return deliver_from_cache(r.ready, "STALE");
      }
      if (stats) stats->cache_coalesced.fetch_add(1, std::memory_order_relaxed);
      cache_waiting_ = true;
      w_.cache_waiters().insert(this);
      start_delivery(r.busy, "HIT", w_.loop().now_ms() + static_cast<uint64_t>(cfg.cache_lock_max_age.count()));
      return;
    case cache::Store::Lookup::Fetch:
      // Stale within grace: this client gets the stale copy now and one
      // background request refreshes it (stale-while-revalidate).
      if (r.ready && fresh.within_grace && !force && spawn_refresh(r.busy, r.ready)) {
        if (stats) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
        return deliver_from_cache(r.ready, "STALE");
      }
      // A conditional request with nothing stored: the client's validators
      // go to the member, which may answer 304, and that answer, about the
      // client's copy, fills nothing (a fill asks for the whole
      // representation with the store's own validators). It is passed.
      if (!r.ready && (head.has("If-None-Match") || head.has("If-Modified-Since"))) {
        store.abandon(r.busy);
        return pass();
      }
      if (stats) stats->cache_misses.fetch_add(1, std::memory_order_relaxed);
      return start_fill(r.busy, r.ready);
    case cache::Store::Lookup::Pass:
    case cache::Store::Lookup::Crowded:
    case cache::Store::Lookup::Miss:
    case cache::Store::Lookup::Unavailable:  // a stalled holder of the store's lock: uncached (counted by the store)
      return pass();
  }
}

// This request fetches for the store; a stale copy with validators is
// revalidated rather than fetched again.
void Connection::start_fill(cache::Handle busy, cache::Handle stale) {
  cache::Store& store = *w_.runtime().cache();
  auto fill = std::make_unique<CacheFill>();
  fill->w = &w_;
  fill->store = &store;
  fill->cfg = &req_.site->cfg->cache;
  fill->req = &req_.head;
  fill->busy = busy;
  fill->vhost = static_cast<uint16_t>(req_.site->stats_id);
  fill->request_ms = core::wall_ms();
  cache::Snapshot ready = stale ? store.snapshot(stale) : cache::Snapshot{};
  fill->stale_on_error = ready.state == cache::ObjState::Ready && freshness_of(ready.meta, core::wall_ms()).within_stale_if_error;
  if (ready.state == cache::ObjState::Ready && ready.meta.status == 200) {
    std::string lines = store.read_string(stale, uint64_t{ready.key_len} + ready.names_len + ready.vary_len, ready.head_len);
    std::string_view etag = http::find_header_line(lines, "ETag"), lm = http::find_header_line(lines, "Last-Modified");
    if (!etag.empty()) fill->validators.append("If-None-Match: ").append(etag).append("\r\n");
    if (!lm.empty()) fill->validators.append("If-Modified-Since: ").append(lm).append("\r\n");
    if (!fill->validators.empty()) fill->stale = stale;
  }
  start_proxy(*req_.route, std::move(fill), "MISS");
}

namespace {

// The client end of a background refresh: reads and drops the response,
// closes when the refresh connection does.
class RefreshSink final : public core::IoWatcher {
 public:
  RefreshSink(WorkerLoop& w, int fd) : w_(w), fd_(fd) { w_.loop().add(fd_, EPOLLIN | EPOLLRDHUP, this); }
  void on_io(uint32_t) override {
    char buf[16384];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) continue;
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      break;
    }
    w_.loop().remove(fd_);
    ::close(fd_);
    w_.loop().post([this] { delete this; });
  }

 private:
  WorkerLoop& w_;
  int fd_;
};

}  // namespace

// A connection of this loop over a socketpair, carrying a copy of this
// request (conditionals and Range left out), that fills `busy` the way a
// client's miss would: same vhost, route, logs and limits. It takes over the
// pin on `busy`; false when no connection slot or socket is free.
bool Connection::spawn_refresh(cache::Handle busy, cache::Handle stale) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return false;
  std::string req = "GET ";
  req.append(req_.head.target).append(" HTTP/1.1\r\nHost: ").append(req_.head.authority).append("\r\n");
  for (const auto& f : req_.head.headers) {
    // The refresh asks for the whole object, unconditionally, on its own
    // connection (hop-by-hop and framing are its own), and not past the store.
    if (http::hop_by_hop(f.name) || http::framing_field(f.name) || http::conditional_or_range(f.name) ||
        http::named_by_connection(req_.head.headers, f.name) || http::iequals(f.name, "Host") ||
        http::iequals(f.name, "Cache-Control") || http::iequals(f.name, "Pragma"))
      continue;
    req.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  req.append("Connection: close\r\n\r\n");
  uint32_t index = 0;
  core::shm::ConnSlot* slot = nullptr;
  if (req.size() > 60000 || ::write(sv[1], req.data(), req.size()) != static_cast<ssize_t>(req.size()) ||
      !(slot = w_.reserve_slot(index, false))) {
    ::close(sv[0]);
    ::close(sv[1]);
    return false;
  }
  new RefreshSink(w_, sv[1]);
  auto* rc = new Connection(w_, sv[0], req_.client, local_, slot, index);
  rc->proxy_header_pending_ = false;  // the request comes from us, not through a PROXY-protocol listener
  // The fetch's pin moves to the refresh's slot (taken out of this one
  // first: a death in between leaks it rather than releasing it twice);
  // the stale copy gets a pin of its own, recorded there as it is taken.
  slot->cache_pins[1].store(slot_->cache_pins[1].exchange(0));
  cache_pins_[1] = {};
  rc->refresh_busy_ = busy;
  rc->refresh_stale_ = w_.runtime().cache()->pin(stale, &slot->cache_pins[0]) ? stale : cache::Handle{};
  core::log(core::LogLevel::Debug, "cache", "background refresh of {}", cache_key_);
  rc->start();
  return true;
}

// The proxy exchange filling the store for this client found it slower than
// the member: the fetch goes on at the member's pace for the store and the
// waiters, and this client is served from the store like a waiter.
void Connection::continue_from_cache(uint64_t offset, uint64_t body_end, int status) {
  cache::Store& store = *w_.runtime().cache();
  cache::Handle h = cache_pins_[1];
  phase_ = Phase::Cache;
  cache_ = std::make_unique<CacheDelivery>(sink_, w_.loop(), req_, store, h, "MISS", UINT64_MAX);
  cache_->resume(offset, body_end, status);
  cache_seen_bytes_ = output_.written();
  cache_progress_ms_ = w_.loop().now_ms();
  if (w_.cache_notifier()) store.watch(h, w_.cache_notifier()->bit());
  cache_waiting_ = true;
  w_.cache_waiters().insert(this);
  w_.loop().timers().arm(*this, w_.loop().now_ms() + core::TimerWheel::kTickMs);
}

void Connection::deliver_from_cache(cache::Handle h, const char* x_cache) {
  // The other pin is not needed for a copy that is already whole.
  for (int i = 0; i < 2; ++i) {
    if (cache_pins_[i] && !(cache_pins_[i].idx == h.idx && cache_pins_[i].gen == h.gen)) drop_cache_pin(i);
  }
  start_delivery(h, x_cache, UINT64_MAX);
}

void Connection::start_delivery(cache::Handle h, const char* x_cache, uint64_t deadline_ms) {
  phase_ = Phase::Cache;
  mark(core::shm::SlotState::Writing);
  req_.body_bytes = 0;
  cache_seen_bytes_ = output_.written();
  cache_progress_ms_ = w_.loop().now_ms();
  cache_ = std::make_unique<CacheDelivery>(sink_, w_.loop(), req_, *w_.runtime().cache(), h, x_cache, deadline_ms);
  // The timer polls (wake-ups are datagrams; one lost costs a tick) and times out.
  w_.loop().timers().arm(*this, w_.loop().now_ms() + core::TimerWheel::kTickMs);
}

// A stale copy is still pinned and its stale-if-error window is open: the
// origin failed, the client gets the stale copy.
bool Connection::serve_stale(bool for_error) {
  if (!cache_pins_[0]) return false;
  cache::Store& store = *w_.runtime().cache();
  cache::Snapshot s = store.snapshot(cache_pins_[0]);
  if (s.state != cache::ObjState::Ready) return false;
  auto f = freshness_of(s.meta, core::wall_ms());
  if (!(for_error ? f.within_stale_if_error : f.within_grace)) return false;
  if (auto* stats = counters(w_, req_.site)) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
  core::log(core::LogLevel::Info, "cache", "[client {}] origin failed; serving a stale copy ({} s old)", req_.client_ip, f.age);
  deliver_from_cache(cache_pins_[0], "STALE");
  return true;
}

// The object a waiter waited on failed or took too long (`origin_failed`),
// or turned out not to be for it.
void Connection::cache_fallback(bool origin_failed) {
  cache_.reset();
  if (cache_waiting_) {
    w_.cache_waiters().erase(this);
    cache_waiting_ = false;
  }
  if (origin_failed && serve_stale(true)) return;
  if (cache_attempts_ >= kMaxAttempts || w_.loop().now_ms() >= req_.start_ms +
                                             static_cast<uint64_t>(w_.runtime().config().cache_lock_max_age.count())) {
    if (auto* stats = counters(w_, req_.site)) stats->cache_passes.fetch_add(1, std::memory_order_relaxed);
    const LocationRoute* route = req_.route;
    end_cache_request();
    start_proxy(*route, nullptr, "PASS");
    return;
  }
  cache_step();
}

}  // namespace pillar::server

#include "server/cache_exchange.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "core/assert.h"
#include "core/clock.h"
#include "core/fault_point.h"
#include "core/log.h"
#include "http/field_rules.h"
#include "http/response.h"
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

// A background refresh's fetch, decided by the request that spawned it: the
// pins are recorded in the refresh connection's slot; given back unless its
// CacheExchange takes them.
struct RefreshSeed final : RequestSeed {
  cache::Store* store = nullptr;
  core::shm::ConnSlot* slot = nullptr;
  cache::Handle busy, stale;
  ~RefreshSeed() override {
    if (!busy) return;
    store->abandon(busy);
    for (auto& cell : slot->cache_pins) store->release_cell(cell);
  }
};

// PURGE /path: every variant of the URL on this vhost's host. Loopback
// clients only, unless CachePurgeRequire says otherwise.
bool answer_purge(Request& req, cache::Store* store) {
  if (req.head.method != http::Method::Purge || req.path_error || !store || req.site->cfg->cache.rules.empty())
    return false;
  static const config::AccessPolicy loopback_only = [] {
    config::AccessPolicy p;
    p.require.push_back({config::RequireRule::Kind::Local, {}});
    return p;
  }();
  const auto& policy = req.site->cfg->cache.purge;
  bool allowed = (policy.empty() ? loopback_only : policy).allows(req.client);
  req.resp.clear();
  if (!allowed) {
    req.resp.error(403);
    return true;
  }
  std::string target(req.head.path);
  if (!req.head.query.empty()) target.append("?").append(req.head.query);
  bool busy = false;
  uint32_t n = store->purge(cache::primary_key(req.host, target), &busy);
  req.resp.status = busy ? 503 : n ? 200 : 404;
  req.resp.add_header("Content-Type", "text/plain");
  if (busy) req.resp.add_header("Retry-After", "1");
  req.resp.add_text(busy ? "Cache store busy; try again\n" : n ? "Purged\n" : "Not in cache\n");
  core::log(core::LogLevel::Info, "cache", "[client {}] PURGE {}{}: {}", req.client_ip, req.host, target,
            busy ? std::string("store busy, not purged") : std::to_string(n) + " object(s)");
  return true;
}

std::unique_ptr<CacheExchange> CacheExchange::begin(http::ExchangeHost& host, WorkerLoop& w, Request& req,
                                                    const LocationRoute& route, const sockaddr_storage& local,
                                                    core::shm::ConnSlot& slot) {
  cache::Store* store = w.runtime().cache();
  if (!store || !req.site->cfg->cache.enabled_for(req.path)) return nullptr;
  // Other methods, extension ones included, go to the member uncached; an
  // unsafe one invalidates once the member's response head is in
  // (ProxyExchange::invalidate, RFC 9111 §4.4: not for a failed request).
  if (req.head.method != http::Method::Get && req.head.method != http::Method::Head) return nullptr;
  if (req.head.chunked || req.head.content_length > 0 || req.head.upgrade) return nullptr;
  auto x = std::make_unique<CacheExchange>(host, w, req, route, local, slot);
  if (auto* seed = dynamic_cast<RefreshSeed*>(req.seed.get()); seed && seed->busy) {
    // A background refresh: the fetch was decided by the request that spawned it.
    x->pins_[0] = seed->stale;  // recorded in this slot by spawn_refresh
    x->pins_[1] = seed->busy;
    seed->busy = seed->stale = {};
    x->start_fill(x->pins_[1], x->pins_[0]);
  } else {
    x->step();
  }
  return x;
}

CacheExchange::CacheExchange(http::ExchangeHost& host, WorkerLoop& w, Request& req, const LocationRoute& route,
                             const sockaddr_storage& local, core::shm::ConnSlot& slot)
    : host_(host), w_(w), req_(req), route_(route), local_(local), slot_(slot), store_(*w.runtime().cache()) {
  std::string target(req.head.path);
  if (!req.head.query.empty()) target.append("?").append(req.head.query);
  key_ = cache::primary_key(req.host, target);
}

CacheExchange::~CacheExchange() { release(); }

// A request's pins are recorded in its scoreboard slot by the store, in the
// critical section that takes them (lookup, pin); pins_ mirrors them for
// this loop. Giving one back empties the cell first (release_cell), so of
// this worker and the master reaping it exactly one releases it.
void CacheExchange::drop_pin(int which) {
  pins_[which] = {};
  store_.release_cell(slot_.cache_pins[which]);
}

void CacheExchange::wait_on_store(bool on) {
  if (on == waiting_) return;
  waiting_ = on;
  if (on) w_.cache_waiters().insert(this);
  else w_.cache_waiters().erase(this);
}

void CacheExchange::release() {
  wait_on_store(false);
  core::TimerWheel::cancel(*this);
  delivery_.reset();
  if (proxy_) w_.retire(std::move(proxy_));  // may be inside its own callback
  for (int i = 0; i < 2; ++i) drop_pin(i);
}

void CacheExchange::finish(Outcome o) {
  outcome_ = o;
  done_ = true;
  release();
}

http::Exchange::Step CacheExchange::proceed() {
  for (int round = 0; !done_; ++round) {
    // Lookups are bounded by kMaxAttempts for a GET; whatever else keeps
    // sending this request back to the store goes to the proxy.
    if (round == 16 && delivery_) pass();
    if (delivery_) {
      if (proxy_) proxy_->on_client_io();  // a fetch going on for the store
      auto st = delivery_->pump();
      switch (st) {
        case CacheDelivery::Step::Wait:
          return Step::Again;
        case CacheDelivery::Step::Queued:  // the whole response is queued: the host's writer sends it
        case CacheDelivery::Step::Done:    // streamed: nothing left to write
          finish({Outcome::Kind::Answered, delivery_->status(), delivery_->body_bytes()});
          break;
        case CacheDelivery::Step::Fallback:
        case CacheDelivery::Step::Retry:
          fallback(st == CacheDelivery::Step::Fallback);
          break;
        case CacheDelivery::Step::Abort:
          host_.client_gone();  // aborts this exchange: a fetch for the store goes on alone
          return Step::Again;
      }
      continue;
    }
    PILLAR_ASSERT(proxy_);
    proxy_->on_client_io();
    if (delivery_) continue;  // the client was handed over to the store
    if (!proxy_->finished()) return Step::Again;
    proxy_done();
  }
  return Step::Done;
}

// The proxy exchange ended: a 304 refreshed the stored copy, which answers;
// a failed origin may be answered by a stale copy; else its outcome is ours.
void CacheExchange::proxy_done() {
  if (detached_) return finish({Outcome::Kind::Cut, proxy_->status(), proxy_->body_bytes()});
  if (const CacheFill* fill = proxy_->fill(); fill && fill->revalidated) {
    cache::Handle h = fill->busy;
    w_.retire(std::move(proxy_));
    return deliver(h, "REVALIDATED");
  }
  Outcome o = proxy_->outcome();
  if (o.kind == Outcome::Kind::Failed && pins_[0]) {
    w_.retire(std::move(proxy_));
    if (serve_stale(true)) return;  // stale-if-error
  }
  finish(o);
}

bool CacheExchange::reading_body() const { return proxy_ && !delivery_ && proxy_->reading_body(); }

void CacheExchange::body_timeout() {
  if (proxy_) proxy_->body_timeout();
}

bool CacheExchange::abort(bool may_go_on) {
  if (done_) return false;
  if (may_go_on && proxy_ && proxy_->filling_for_store()) {
    // The client left while the fetch it started fills the store for
    // others: the fetch (bounded by its own timeout) goes on without it.
    detached_ = true;
    delivery_.reset();
    wait_on_store(false);
    core::TimerWheel::cancel(*this);
    return true;
  }
  release();
  return false;
}

void CacheExchange::on_timer() {
  if (done_ || !delivery_) return;
  // Waiting for a fetch, or streaming one as it arrives: poll, give up
  // waiting at CacheLockMaxAge (the delivery's deadline), and cut a client
  // that takes nothing for Timeout.
  const auto& cfg = w_.runtime().config();
  uint64_t now = w_.loop().now_ms();
  if (host_.sink().written() != seen_bytes_) {
    seen_bytes_ = host_.sink().written();
    progress_ms_ = now;
  } else if (delivery_->head_sent() && now >= progress_ms_ + static_cast<uint64_t>(cfg.timeout.count())) {
    core::log(core::LogLevel::Info, "core", "[client {}] send timeout ({} ms)", req_.client_ip, cfg.timeout.count());
    host_.client_gone();  // as a client that left: a fetch for the store goes on alone
    return;
  }
  w_.loop().timers().arm(*this, now + core::TimerWheel::kTickMs);
  host_.wake();
}

void CacheExchange::store_progress() {
  if (delivery_) host_.wake();
}

void CacheExchange::pass() {
  if (auto* stats = counters(w_, req_.site)) stats->cache_passes.fetch_add(1, std::memory_order_relaxed);
  delivery_.reset();
  wait_on_store(false);
  core::TimerWheel::cancel(*this);
  for (int i = 0; i < 2; ++i) drop_pin(i);
  start_proxy(nullptr, "PASS");
}

void CacheExchange::step() {
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
                         ++attempts_ <= kMaxAttempts;
  for (int i = 0; i < 2; ++i) drop_pin(i);  // a retry after a failed fetch starts afresh
  const http::RequestHead& head = req_.head;
  auto r = store_.lookup(
      key_, [&head](std::string_view names, std::string_view key) { return cache::vary_matches(names, key, head); },
      now_ms, force, may_fetch, static_cast<int32_t>(::getpid()), cfg.cache_lock ? cfg.cache_lock_max_waiters : 0,
      w_.cache_notifier() ? w_.cache_notifier()->bit() : 0, cfg.cache_lock_max_age.count(), slot_.cache_pins);
  PILLAR_FAULT_POINT("cache.after_lookup");  // tests: a worker dies holding the pins it just took
  pins_[0] = r.ready;
  pins_[1] = r.busy;
  cache::Snapshot ready;
  if (r.ready) ready = store_.snapshot(r.ready);
  auto fresh = freshness_of(ready.meta, now_ms);
  // The client accepts a stale copy (Cache-Control: max-stale[=N]) unless the
  // response forbade it (must-revalidate, proxy-revalidate, s-maxage).
  if (r.kind != cache::Store::Lookup::Hit && r.ready && ready.state == cache::ObjState::Ready && !force &&
      !cc.ignore_cache_control && req_cc.max_stale >= 0 && !ready.meta.must_revalidate &&
      !ready.meta.revalidate_always && (!auth || ready.meta.auth_ok) && fresh.age - ready.meta.ttl <= req_cc.max_stale) {
    if (r.kind == cache::Store::Lookup::Fetch) store_.abandon(r.busy);  // nobody fetches for this one
    if (stats) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
    return deliver(r.ready, "STALE");
  }
  // Cache-Control: only-if-cached: what the store has, or 504 (RFC 9111 §5.2.1.7).
  if (only_if_cached && r.kind != cache::Store::Lookup::Hit) return finish({Outcome::Kind::Failed, 504, 0, true});
  switch (r.kind) {
    case cache::Store::Lookup::Hit:
      if ((auth && !ready.meta.auth_ok) || (!cc.ignore_cache_control &&
                                            cache::request_needs_revalidation(req_cc, fresh.age, ready.meta.ttl, cache_settings(cc))))
        return pass();
      if (stats) stats->cache_hits.fetch_add(1, std::memory_order_relaxed);
      return deliver(r.ready, "HIT");
    case cache::Store::Lookup::Busy:
      if (auth) return pass();  // what is being fetched may not be for it (RFC 9111 §3.5)
      if (r.ready && fresh.within_grace && !force) {
        if (stats) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
        return deliver(r.ready, "STALE");
      }
      if (stats) stats->cache_coalesced.fetch_add(1, std::memory_order_relaxed);
      wait_on_store(true);
      start_delivery(r.busy, "HIT", w_.loop().now_ms() + static_cast<uint64_t>(cfg.cache_lock_max_age.count()));
      return;
    case cache::Store::Lookup::Fetch:
      // Stale within grace: this client gets the stale copy now and one
      // background request refreshes it (stale-while-revalidate).
      if (r.ready && fresh.within_grace && !force && spawn_refresh(r.busy, r.ready)) {
        if (stats) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
        return deliver(r.ready, "STALE");
      }
      // A conditional request with nothing stored: the client's validators
      // go to the member, which may answer 304, and that answer, about the
      // client's copy, fills nothing (a fill asks for the whole
      // representation with the store's own validators). It is passed.
      if (!r.ready && (head.has("If-None-Match") || head.has("If-Modified-Since"))) {
        store_.abandon(r.busy);
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

void CacheExchange::start_proxy(std::unique_ptr<CacheFill> fill, const char* x_cache) {
  proxy_ = std::make_unique<ProxyExchange>(host_, w_, *route_.balancer, req_, local_, slot_,
                                           ProxyExchange::target_for(route_, req_));
  if (req_.site->cfg->cache.header) proxy_->set_x_cache(x_cache);
  if (fill) {
    proxy_->set_fill(std::move(fill));
    proxy_->set_handover(
        [this](uint64_t offset, uint64_t body_end, int status) { continue_from_store(offset, body_end, status); });
  }
  proxy_->start();
}

// This request fetches for the store; a stale copy with validators is
// revalidated rather than fetched again.
void CacheExchange::start_fill(cache::Handle busy, cache::Handle stale) {
  auto fill = std::make_unique<CacheFill>();
  fill->w = &w_;
  fill->store = &store_;
  fill->cfg = &req_.site->cfg->cache;
  fill->req = &req_.head;
  fill->busy = busy;
  fill->vhost = static_cast<uint16_t>(req_.site->stats_id);
  fill->request_ms = core::wall_ms();
  cache::Snapshot ready = stale ? store_.snapshot(stale) : cache::Snapshot{};
  fill->stale_on_error = ready.state == cache::ObjState::Ready && freshness_of(ready.meta, core::wall_ms()).within_stale_if_error;
  if (ready.state == cache::ObjState::Ready && ready.meta.status == 200) {
    std::string lines = store_.read_string(stale, uint64_t{ready.key_len} + ready.names_len + ready.vary_len, ready.head_len);
    std::string_view etag = http::find_header_line(lines, "ETag"), lm = http::find_header_line(lines, "Last-Modified");
    if (!etag.empty()) fill->validators.append("If-None-Match: ").append(etag).append("\r\n");
    if (!lm.empty()) fill->validators.append("If-Modified-Since: ").append(lm).append("\r\n");
    if (!fill->validators.empty()) fill->stale = stale;
  }
  start_proxy(std::move(fill), "MISS");
}

// A request of this loop, carrying a copy of this one (conditionals and
// Range left out), that fills `busy` the way a client's miss would: same
// vhost, route, logs and limits. It takes over the pin on `busy`; false when
// no connection slot or socket is free.
bool CacheExchange::spawn_refresh(cache::Handle busy, cache::Handle stale) {
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
  bool started = w_.start_internal(req, req_.client, local_, [&](core::shm::ConnSlot& slot) {
    auto seed = std::make_unique<RefreshSeed>();
    seed->store = &store_;
    seed->slot = &slot;
    // The fetch's pin moves to the refresh's slot (taken out of this one
    // first: a death in between leaks it rather than releasing it twice);
    // the stale copy gets a pin of its own, recorded there as it is taken.
    slot.cache_pins[1].store(slot_.cache_pins[1].exchange(0));
    pins_[1] = {};
    seed->busy = busy;
    seed->stale = store_.pin(stale, &slot.cache_pins[0]) ? stale : cache::Handle{};
    return seed;
  });
  if (started) core::log(core::LogLevel::Debug, "cache", "background refresh of {}", key_);
  return started;
}

// The proxy exchange filling the store for this client found it slower than
// the member: the fetch goes on at the member's pace for the store and the
// waiters, and this client is served from the store like a waiter.
void CacheExchange::continue_from_store(uint64_t offset, uint64_t body_end, int status) {
  cache::Handle h = pins_[1];
  delivery_ = std::make_unique<CacheDelivery>(host_.sink(), w_.loop(), req_, store_, h, "MISS", UINT64_MAX);
  delivery_->resume(offset, body_end, status);
  seen_bytes_ = host_.sink().written();
  progress_ms_ = w_.loop().now_ms();
  if (w_.cache_notifier()) store_.watch(h, w_.cache_notifier()->bit());
  wait_on_store(true);
  w_.loop().timers().arm(*this, w_.loop().now_ms() + core::TimerWheel::kTickMs);
}

void CacheExchange::deliver(cache::Handle h, const char* x_cache) {
  // The other pin is not needed for a copy that is already whole.
  for (int i = 0; i < 2; ++i) {
    if (pins_[i] && !(pins_[i].idx == h.idx && pins_[i].gen == h.gen)) drop_pin(i);
  }
  start_delivery(h, x_cache, UINT64_MAX);
}

void CacheExchange::start_delivery(cache::Handle h, const char* x_cache, uint64_t deadline_ms) {
  req_.body_bytes = 0;
  seen_bytes_ = host_.sink().written();
  progress_ms_ = w_.loop().now_ms();
  delivery_ = std::make_unique<CacheDelivery>(host_.sink(), w_.loop(), req_, store_, h, x_cache, deadline_ms);
  // The timer polls (wake-ups are datagrams; one lost costs a tick) and times out.
  w_.loop().timers().arm(*this, w_.loop().now_ms() + core::TimerWheel::kTickMs);
}

// A stale copy is still pinned and its stale-if-error window is open: the
// origin failed, the client gets the stale copy.
bool CacheExchange::serve_stale(bool for_error) {
  if (!pins_[0]) return false;
  cache::Snapshot s = store_.snapshot(pins_[0]);
  if (s.state != cache::ObjState::Ready) return false;
  auto f = freshness_of(s.meta, core::wall_ms());
  if (!(for_error ? f.within_stale_if_error : f.within_grace)) return false;
  if (auto* stats = counters(w_, req_.site)) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
  core::log(core::LogLevel::Info, "cache", "[client {}] origin failed; serving a stale copy ({} s old)", req_.client_ip, f.age);
  deliver(pins_[0], "STALE");
  return true;
}

// The object a waiter waited on failed or took too long (`origin_failed`),
// or turned out not to be for it.
void CacheExchange::fallback(bool origin_failed) {
  delivery_.reset();
  wait_on_store(false);
  core::TimerWheel::cancel(*this);
  if (origin_failed && serve_stale(true)) return;
  if (attempts_ >= kMaxAttempts ||
      w_.loop().now_ms() >= req_.start_ms + static_cast<uint64_t>(w_.runtime().config().cache_lock_max_age.count()))
    return pass();
  step();
}

}  // namespace pillar::server

// The cache as a filter around the proxy (CacheEnable): a GET or HEAD of a
// proxied location is looked up in the node's store, and the CacheExchange
// answers it from there, or runs the proxy exchange inside it:
//
//   fresh hit ............................. CacheDelivery streams the object
//   being fetched by anyone (any worker) .. wait on it, then stream it as it grows
//   stale within grace and being refreshed  serve the stale copy
//   miss / stale .......................... this request fetches: the proxy
//                                           exchange tees the body into a Busy
//                                           object (CacheFill) others wait on
//   hit-for-pass, Authorization, Range miss  plain proxy, nothing stored
//   conditional request, nothing stored ... plain proxy with its conditionals
//                                           (the origin's 304 is the client's)
//   other methods ......................... plain proxy; an unsafe one
//                                           invalidates after the origin's
//                                           head (ProxyExchange, RFC 9111 §4.4)
//
// Waiters in every worker are woken by a datagram to their loop's socket
// (CacheNotifier) whenever the fetcher stores more, so coalesced clients get
// the body as it arrives, not at the end.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>

#include "cache/policy.h"
#include "cache/store.h"
#include "config/model.h"
#include "core/shm/scoreboard.h"
#include "core/timer_wheel.h"
#include "http/exchange.h"
#include "server/cache_delivery.h"
#include "server/cache_fill.h"
#include "server/cache_notifier.h"
#include "server/request/request.h"

namespace pillar::server {

class WorkerLoop;
class ProxyExchange;
struct LocationRoute;

// A location's Cache* directives as the policy takes them.
cache::Settings cache_settings(const config::CacheConfig& c);
// Wall clock in milliseconds: objects are dated to the millisecond.
// Ages run from the moment the object was stored, to the millisecond: an
// object stored late in a second is not a second old at the next one.
cache::Freshness freshness_of(const cache::ObjectMeta& m, int64_t now_ms);
int64_t current_age(const cache::ObjectMeta& m, int64_t now_ms);

// PURGE /path of a vhost with CacheEnable: fills req.resp and answers true;
// false when the request is not a purge for the store.
bool answer_purge(Request& req, cache::Store* store);

class CacheExchange final : public http::Exchange, public core::TimerNode {
 public:
  // The cache's exchange for a request routed to a proxied `route`, or null
  // when the request goes to the proxy unchanged (no store, not cached
  // here, another method, a request body, an upgrade).
  static std::unique_ptr<CacheExchange> begin(http::ExchangeHost& host, WorkerLoop& w, Request& req,
                                              const LocationRoute& route, const sockaddr_storage& local,
                                              core::shm::ConnSlot& slot);
  CacheExchange(http::ExchangeHost& host, WorkerLoop& w, Request& req, const LocationRoute& route,
                const sockaddr_storage& local, core::shm::ConnSlot& slot);
  ~CacheExchange() override;

  Step proceed() override;
  Outcome outcome() const override { return outcome_; }
  bool reading_body() const override;
  void body_timeout() override;
  bool abort(bool may_go_on) override;
  // Polls a delivery (a lost wake-up costs a tick) and times out a client
  // that takes nothing.
  void on_timer() override;
  // An object this exchange waits on progressed (CacheNotifier).
  void store_progress();

 private:
  void step();  // one lookup: serve, wait, fetch or pass
  void pass();
  void fallback(bool origin_failed);
  void deliver(cache::Handle h, const char* x_cache);
  void start_delivery(cache::Handle h, const char* x_cache, uint64_t deadline_ms);
  void start_fill(cache::Handle busy, cache::Handle stale);
  void start_proxy(std::unique_ptr<CacheFill> fill, const char* x_cache);
  bool spawn_refresh(cache::Handle busy, cache::Handle stale);
  void continue_from_store(uint64_t offset, uint64_t body_end, int status);
  bool serve_stale(bool for_error);
  void proxy_done();
  void wait_on_store(bool on);
  void drop_pin(int which);
  void finish(Outcome o);
  void release();  // pins, waiting, timer, the proxy: what ties this exchange to its slot

  http::ExchangeHost& host_;
  WorkerLoop& w_;
  Request& req_;
  const LocationRoute& route_;
  const sockaddr_storage& local_;
  core::shm::ConnSlot& slot_;
  cache::Store& store_;
  std::unique_ptr<ProxyExchange> proxy_;
  std::unique_ptr<CacheDelivery> delivery_;
  cache::Handle pins_[2];  // [0] a Ready copy (hit or stale), [1] a Busy object (fetching or waited on)
  std::string key_;
  int attempts_ = 0;
  bool waiting_ = false;   // in the loop's set of cache waiters
  bool detached_ = false;  // the client left; the fetch goes on for the store
  bool done_ = false;
  Outcome outcome_;
  uint64_t seen_bytes_ = 0, progress_ms_ = 0;  // the client's progress, for Timeout
};

}  // namespace pillar::server

// The cache phase of a proxied location (CacheEnable): a GET or HEAD is
// looked up in the node's store before the proxy runs.
//
//   fresh hit ............................. CacheDelivery streams the object
//   being fetched by anyone (any worker) .. wait on it, then stream it as it grows
//   stale within grace and being refreshed  serve the stale copy
//   miss / stale .......................... this request fetches: the proxy
//                                           exchange tees the body into a Busy
//                                           object (CacheFill) others wait on
//   hit-for-pass, Authorization, Range miss  plain proxy, nothing stored
//
// Waiters in every worker are woken by a datagram to their loop's socket
// (CacheNotifier) whenever the fetcher stores more, so coalesced clients get
// the body as it arrives, not at the end.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cache/policy.h"
#include "cache/store.h"
#include "config/model.h"
#include "core/event_loop.h"
#include "http/request.h"
#include "http/response_parser.h"

namespace pillar::server {

class Connection;
class WorkerLoop;

cache::Settings cache_settings(const config::CacheConfig& c);

// One per event loop: an abstract unix datagram socket named by the master's
// pid, the worker's scoreboard row and the loop's index. A byte arriving
// means "an object you wait on progressed".
class CacheNotifier final : public core::IoWatcher {
 public:
  CacheNotifier(WorkerLoop& w, pid_t master, uint32_t row, uint32_t loop_index, uint32_t rows);
  ~CacheNotifier() override;
  uint64_t bit() const { return uint64_t{1} << (row_ % 64); }
  // Wakes every loop of every row whose bit is in `mask`.
  void notify(uint64_t mask);
  void on_io(uint32_t events) override;

 private:
  WorkerLoop& w_;
  pid_t master_;
  uint32_t row_, rows_;
  int fd_ = -1;
};

// The fetcher's side: decides from the response head whether to store, then
// appends the body as the proxy exchange relays it.
struct CacheFill {
  WorkerLoop* w = nullptr;
  cache::Store* store = nullptr;
  const config::CacheConfig* cfg = nullptr;
  const http::RequestHead* req = nullptr;
  cache::Handle busy;         // the object being filled (pinned by the connection)
  cache::Handle stale;        // a stale copy being revalidated (pinned by the connection), or none
  std::string validators;     // If-None-Match / If-Modified-Since lines for the member
  uint16_t vhost = 0;
  int64_t request_ms = 0;      // when the request went to the member (wall clock)
  bool storing = false;
  bool revalidated = false;   // the member said 304: `busy` holds the refreshed copy
  bool stale_on_error = false;  // a stale copy within stale-if-error answers an origin 5xx
  bool ended = false;
  uint64_t body = 0;

  // `lines`: the header lines the client is sent ("Name: value\r\n"...,
  // hop-by-hop and framing fields already gone). Returns whether the
  // exchange should add "X-Cache: MISS".
  void on_head(const http::ResponseHead& resp, std::string_view lines);
  void on_not_modified(const http::ResponseHead& resp);
  void on_body(std::string_view data);
  void end(bool complete);
  void wake();
};

// Streams one stored (or still arriving) object to a connection.
class CacheDelivery {
 public:
  // Fallback: the fetch failed or took too long (a stale copy may answer);
  // Retry: look again (hit-for-pass, or the response's Vary selects another variant).
  enum class Step : uint8_t { Wait, Done, Queued, Fallback, Retry, Abort };
  CacheDelivery(Connection& c, cache::Store& s, cache::Handle h, const char* x_cache, uint64_t deadline_ms);
  Step pump();
  // The fetching client fell behind the member: it goes on from the store,
  // after `pending` (what the proxy had queued for it), at body offset
  // `offset`, in the framing its head announced.
  void resume(std::string pending, uint64_t offset, bool chunked, uint64_t body_end, int status);
  bool head_sent() const { return head_sent_; }
  uint64_t deadline() const { return deadline_ms_; }
  int status() const { return status_; }
  uint64_t body_bytes() const { return body_sent_; }

 private:
  bool build_head(const cache::Snapshot& snap);
  bool write_out();

  Connection& c_;
  cache::Store& s_;
  cache::Handle h_;
  const char* x_cache_;
  uint64_t deadline_ms_;
  bool head_sent_ = false, chunked_ = false, no_body_ = false, terminator_ = false;
  int status_ = 0;
  uint64_t body_at_ = 0;     // next body offset to send
  uint64_t body_end_ = 0;    // for ranges and complete objects; UINT64_MAX while unknown
  uint64_t body_sent_ = 0;
  std::string out_;
  size_t out_pos_ = 0;
};

}  // namespace pillar::server

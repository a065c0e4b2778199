// Serving a stored object (see cache_exchange.h).
#pragma once
#include <cstdint>
#include <string>

#include "cache/store.h"
#include "core/event_loop.h"
#include "http/exchange.h"

namespace pillar::server {

struct Request;

// Streams one stored (or still arriving) object into a response sink.
class CacheDelivery {
 public:
  // Fallback: the fetch failed or took too long (a stale copy may answer);
  // Retry: look again (hit-for-pass, or the response's Vary selects another variant).
  enum class Step : uint8_t { Wait, Done, Queued, Fallback, Retry, Abort };
  CacheDelivery(http::ResponseSink& sink, core::EventLoop& loop, const Request& req, cache::Store& s, cache::Handle h,
                const char* x_cache, uint64_t deadline_ms);
  Step pump();
  // The fetching client fell behind the member: it goes on from the store,
  // after what the proxy had queued for it, at body offset `offset`, in the
  // framing its head announced.
  void resume(uint64_t offset, uint64_t body_end, int status);
  bool head_sent() const { return head_sent_; }
  int status() const { return status_; }
  uint64_t body_bytes() const { return body_sent_; }

 private:
  void build_head(const cache::Snapshot& snap);
  void copy_body(uint64_t offset, size_t len);

  http::ResponseSink& sink_;
  core::EventLoop& loop_;
  const Request& req_;
  cache::Store& s_;
  cache::Handle h_;
  const char* x_cache_;
  uint64_t deadline_ms_;
  // The sink frames the body as chunks (the head it ended said so): its
  // bytes cannot pass through unframed.
  bool chunked() const { return !sink_.can_pass_through(); }
  bool head_sent_ = false, no_body_ = false, terminator_ = false;
  int status_ = 0;
  uint64_t body_at_ = 0;     // next body offset to send
  uint64_t body_end_ = 0;    // for ranges and complete objects; UINT64_MAX while unknown
  uint64_t body_sent_ = 0;
};

}  // namespace pillar::server

#include "server/cache_delivery.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <optional>

#include "cache/policy.h"
#include "cache/targeted.h"
#include "core/assert.h"
#include "core/clock.h"
#include "handlers/conditional.h"
#include "handlers/range.h"
#include "http/http_date.h"
#include "http/field_rules.h"
#include "http/response.h"
#include "server/http1/response_head.h"
#include "server/request/request.h"
#include "server/cache_exchange.h"
#include "server/site.h"

namespace pillar::server {

namespace {

constexpr size_t kChunk = 64 * 1024;      // body bytes copied from the store per step (chunked framing)
constexpr size_t kInlineMax = 64 * 1024;  // a complete object this small goes out in the connection's own write
constexpr size_t kMaxIov = 128;           // 256 KiB of 2 KiB blocks per writev (Output adds its queue)

}  // namespace

CacheDelivery::CacheDelivery(http::ResponseSink& sink, core::EventLoop& loop, const Request& req, cache::Store& s,
                             cache::Handle h, const char* x_cache, uint64_t deadline_ms)
    : sink_(sink), loop_(loop), req_(req), s_(s), h_(h), x_cache_(x_cache), deadline_ms_(deadline_ms) {}

// Body bytes of the object from `offset` into the sink (a copy: the framing
// may be chunked); the store's blocks are mapped, not read twice.
void CacheDelivery::copy_body(uint64_t offset, size_t len) {
  iovec iov[kMaxIov];
  while (len > 0) {
    size_t k = s_.map(h_, offset, std::min<uint64_t>(len, kMaxIov * cache::Store::kBlockSize), iov, kMaxIov);
    PILLAR_ASSERT(k > 0);
    for (size_t i = 0; i < k; ++i) {
      sink_.body({static_cast<const char*>(iov[i].iov_base), iov[i].iov_len});
      offset += iov[i].iov_len;
      len -= iov[i].iov_len;
    }
  }
}

void CacheDelivery::build_head(const cache::Snapshot& snap) {
  const int64_t now_ms = core::wall_ms(), now = now_ms / 1000;
  const auto& req = req_.head;
  const bool complete = snap.state == cache::ObjState::Ready;
  std::string lines = s_.read_string(h_, uint64_t{snap.key_len} + snap.names_len + snap.vary_len, snap.head_len);
  status_ = snap.meta.status;
  uint64_t total = complete ? snap.body_len
                 : snap.meta.body_expected >= 0 ? static_cast<uint64_t>(snap.meta.body_expected) : UINT64_MAX;
  body_at_ = 0;
  body_end_ = total;
  std::string content_range;
  if (complete) {
    handlers::Validators v;
    std::string_view etag = http::find_header_line(lines, "ETag");
    v.etag = etag;
    if (auto lm = http::parse_http_date(http::find_header_line(lines, "Last-Modified"))) v.last_modified = *lm;
    int pre = status_ == 200 ? handlers::evaluate_preconditions(req, v, static_cast<time_t>(now)) : 0;
    if (pre) {
      status_ = pre;
    } else if (status_ == 200 && req.has("Range") && handlers::if_range_allows(req, v)) {
      auto r = handlers::parse_range(req.find("Range"), total);
      if (r.kind == handlers::RangeRequest::Kind::Satisfiable && r.ranges.size() == 1) {
        status_ = 206;
        body_at_ = r.ranges[0].first;
        body_end_ = r.ranges[0].last + 1;
        content_range = "Content-Range: bytes " + std::to_string(r.ranges[0].first) + "-" +
                        std::to_string(r.ranges[0].last) + "/" + std::to_string(total) + "\r\n";
      } else if (r.kind == handlers::RangeRequest::Kind::Unsatisfiable) {
        status_ = 416;
        content_range = "Content-Range: bytes */" + std::to_string(total) + "\r\n";
      }
      // Several ranges: the whole object (RFC 9110 allows ignoring Range).
    }
  }
  const bool head_req = req.method == http::Method::Head;
  const bool bodiless = status_ == 304 || status_ == 204 || status_ == 412 || status_ == 416;
  std::string& o = sink_.begin_head(status_);
  if (status_ == 304) {
    for (std::string_view n : http::kNotModifiedFields) {
      std::string_view v = http::find_header_line(lines, n);
      if (v.empty()) continue;
      o.append(n).append(": ").append(v).append("\r\n");
    }
  } else if (status_ == 412 || status_ == 416) {
    o.append("Date: ").append(loop_.http_date()).append("\r\n");
  } else if (const auto& targets = req_.site->cfg->cache.targets; targets.empty()) {
    o.append(lines);
  } else {
    // Stored with the targeted fields (a later 304 is judged with them);
    // they are for this cache, not its clients (RFC 9213 §3, targeted.h).
    cache::append_without_targeted(o, lines, targets);
  }
  o.append(content_range);
  o.append("Age: ");
  http1::append_number(o, static_cast<uint64_t>(cache::current_age(snap.meta.initial_age, snap.meta.stored_ms, now_ms)));
  o.append("\r\n");
  if (req_.site->cfg->cache.header) o.append("X-Cache: ").append(x_cache_).append("\r\n");
  no_body_ = bodiless || head_req;
  using http::BodyLength;
  BodyLength body = BodyLength::None;
  uint64_t length = 0;
  if (status_ == 412 || status_ == 416) {
    body = BodyLength::Known;
  } else if (status_ != 304 && status_ != 204) {
    if (body_end_ != UINT64_MAX) {
      body = BodyLength::Known;
      length = body_end_ - body_at_;
    } else if (!head_req) {
      body = BodyLength::Unknown;
    }
  }
  sink_.end_head(body, length);
  head_sent_ = true;
}

void CacheDelivery::resume(uint64_t offset, uint64_t body_end, int status) {
  head_sent_ = true;
  body_at_ = offset;
  body_sent_ = offset;
  body_end_ = body_end;
  status_ = status;
}

CacheDelivery::Step CacheDelivery::pump() {
  if (!head_sent_) {
    cache::Snapshot snap = s_.snapshot(h_);
    // The store's lock is held by a stalled process: look again next tick.
    if (snap.unavailable) return loop_.now_ms() >= deadline_ms_ ? Step::Fallback : Step::Wait;
    if (snap.state == cache::ObjState::Failed || snap.state == cache::ObjState::Free) return Step::Fallback;
    if (snap.state == cache::ObjState::Pass) return Step::Retry;
    if (!snap.head_ready) return loop_.now_ms() >= deadline_ms_ ? Step::Fallback : Step::Wait;
    if (snap.names_len > 0) {  // joined before the head: is this the variant the request selects?
      std::string names = s_.read_string(h_, snap.key_len, snap.names_len);
      std::string key = s_.read_string(h_, uint64_t{snap.key_len} + snap.names_len, snap.vary_len);
      if (!cache::vary_matches(names, key, req_.head)) return Step::Retry;
    }
    build_head(snap);
    // A complete small object: head and body in the connection's own write.
    if (snap.state == cache::ObjState::Ready && (no_body_ || body_end_ - body_at_ <= kInlineMax)) {
      uint64_t len = no_body_ ? 0 : body_end_ - body_at_;
      copy_body(snap.body_offset() + body_at_, static_cast<size_t>(len));
      body_sent_ = len;
      return Step::Queued;
    }
  }
  auto flushed = [this]() -> std::optional<Step> {  // nullopt: all written, go on
    switch (sink_.flush()) {
      case http::ResponseSink::Result::Done: return std::nullopt;
      case http::ResponseSink::Result::Again: return Step::Wait;
      case http::ResponseSink::Result::Error: break;
    }
    return Step::Abort;
  };
  for (;;) {
    if (no_body_ || terminator_ || (body_end_ != UINT64_MAX && body_at_ >= body_end_ && !chunked())) {
      if (auto st = flushed()) return *st;
      return Step::Done;
    }
    cache::Snapshot snap = s_.snapshot(h_);
    if (snap.unavailable) return Step::Wait;  // a stalled lock holder; the send timeout still bounds this
    if (snap.state != cache::ObjState::Ready && snap.state != cache::ObjState::Busy) return Step::Abort;  // cut: the client sees it
    if (snap.state == cache::ObjState::Ready && body_end_ == UINT64_MAX) body_end_ = snap.body_len;
    uint64_t avail = std::min<uint64_t>(snap.body_len, body_end_);
    if (body_at_ < avail && !chunked()) {
      // Straight from the store's blocks to the socket, no copy, behind
      // whatever head bytes are still queued: one writev.
      if (!sink_.writable()) return Step::Wait;
      iovec iov[kMaxIov];
      size_t k = s_.map(h_, snap.body_offset() + body_at_,
                        std::min<uint64_t>(avail - body_at_, kMaxIov * cache::Store::kBlockSize), iov, kMaxIov);
      size_t taken = 0;
      auto r = sink_.pass_through({iov, k}, taken);
      if (r == http::ResponseSink::Result::Error) return Step::Abort;
      body_at_ += taken;
      body_sent_ += taken;
      if (r == http::ResponseSink::Result::Again && !sink_.writable()) return Step::Wait;
      continue;
    }
    if (sink_.pending() > 0) {
      if (auto st = flushed()) return *st;
      continue;
    }
    if (body_at_ < avail) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, avail - body_at_));
      copy_body(snap.body_offset() + body_at_, n);
      body_at_ += n;
      body_sent_ += n;
      continue;
    }
    if (snap.state == cache::ObjState::Ready) {
      if (chunked() && !terminator_) {
        sink_.end_body();
        terminator_ = true;
        continue;
      }
      return Step::Done;
    }
    return Step::Wait;  // the fetcher has not stored more yet
  }
}

}  // namespace pillar::server

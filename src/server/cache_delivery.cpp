#include "server/cache_delivery.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>

#include "handlers/conditional.h"
#include "handlers/range.h"
#include "http/http_date.h"
#include "http/response.h"
#include "server/cache_phase.h"
#include "server/connection.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

constexpr size_t kChunk = 64 * 1024;      // body bytes copied from the store per step (chunked framing)
constexpr size_t kInlineMax = 64 * 1024;  // a complete object this small goes out in the connection's own write
constexpr size_t kMaxIov = 128;           // 256 KiB of 2 KiB blocks per writev

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

CacheDelivery::CacheDelivery(Connection& c, cache::Store& s, cache::Handle h, const char* x_cache, uint64_t deadline_ms)
    : c_(c), s_(s), h_(h), x_cache_(x_cache), deadline_ms_(deadline_ms) {}

bool CacheDelivery::build_head(const cache::Snapshot& snap) {
  const int64_t now_ms = cache_wall_ms(), now = now_ms / 1000;
  const auto& req = c_.head_;
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
  out_.clear();
  out_pos_ = 0;
  out_.append("HTTP/1.1 ");
  append_number(out_, static_cast<uint64_t>(status_));
  out_.push_back(' ');
  out_.append(http::reason_phrase(status_));
  out_.append("\r\n");
  if (status_ == 304) {  // RFC 9110 §15.4.5: the fields a 200 would have had that matter to caches
    for (std::string_view n : {"Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary", "Last-Modified"}) {
      std::string_view v = http::find_header_line(lines, n);
      if (v.empty()) continue;
      out_.append(n).append(": ").append(v).append("\r\n");
    }
  } else if (status_ == 412 || status_ == 416) {
    out_.append("Date: ").append(c_.w_.loop().http_date()).append("\r\n");
  } else {
    out_.append(lines);
  }
  out_.append(content_range);
  out_.append("Age: ");
  append_number(out_, static_cast<uint64_t>(current_age(snap.meta, now_ms)));
  out_.append("\r\n");
  if (c_.site_->cfg->cache.header) out_.append("X-Cache: ").append(x_cache_).append("\r\n");
  no_body_ = bodiless || head_req;
  if (status_ == 412 || status_ == 416) {
    out_.append("Content-Length: 0\r\n");
  } else if (status_ != 304 && status_ != 204) {
    if (body_end_ != UINT64_MAX) {
      out_.append("Content-Length: ");
      append_number(out_, body_end_ - body_at_);
      out_.append("\r\n");
    } else if (!head_req) {
      if (req.version_minor >= 1) {
        chunked_ = true;
        out_.append("Transfer-Encoding: chunked\r\n");
      } else {
        c_.keep_alive_ = false;  // HTTP/1.0: the close ends the body
      }
    }
  }
  if (!c_.keep_alive_for_head()) out_.append("Connection: close\r\n");
  else if (req.version_minor == 0) out_.append("Connection: keep-alive\r\n");
  out_.append("\r\n");
  head_sent_ = true;
  return true;
}

void CacheDelivery::resume(std::string pending, uint64_t offset, bool chunked, uint64_t body_end, int status) {
  head_sent_ = true;
  out_ = std::move(pending);
  out_pos_ = 0;
  body_at_ = offset;
  body_sent_ = offset;
  body_end_ = body_end;
  chunked_ = chunked;
  status_ = status;
}

bool CacheDelivery::write_out() {
  while (out_pos_ < out_.size()) {
    if (!c_.writable_) return false;
    iovec iov{out_.data() + out_pos_, out_.size() - out_pos_};
    ssize_t n = c_.transport_->writev(&iov, 1);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c_.writable_ = false;
        return false;
      }
      if (errno == EINTR) continue;
      return false;
    }
    out_pos_ += static_cast<size_t>(n);
    c_.bytes_out_ += static_cast<uint64_t>(n);
  }
  out_.clear();
  out_pos_ = 0;
  return true;
}

CacheDelivery::Step CacheDelivery::pump() {
  if (!head_sent_) {
    cache::Snapshot snap = s_.snapshot(h_);
    // The store's lock is held by a stalled process: look again next tick.
    if (snap.unavailable) return c_.w_.loop().now_ms() >= deadline_ms_ ? Step::Fallback : Step::Wait;
    if (snap.state == cache::ObjState::Failed || snap.state == cache::ObjState::Free) return Step::Fallback;
    if (snap.state == cache::ObjState::Pass) return Step::Retry;
    if (!snap.head_ready) return c_.w_.loop().now_ms() >= deadline_ms_ ? Step::Fallback : Step::Wait;
    if (snap.names_len > 0) {  // joined before the head: is this the variant the request selects?
      std::string names = s_.read_string(h_, snap.key_len, snap.names_len);
      std::string key = s_.read_string(h_, uint64_t{snap.key_len} + snap.names_len, snap.vary_len);
      if (!cache::vary_matches(names, key, c_.head_)) return Step::Retry;
    }
    build_head(snap);
    // A complete small object: head and body in the connection's own write.
    if (snap.state == cache::ObjState::Ready && (no_body_ || body_end_ - body_at_ <= kInlineMax)) {
      std::string& o = c_.out_;
      o.swap(out_);
      size_t at = o.size();
      uint64_t len = no_body_ ? 0 : body_end_ - body_at_;
      o.resize(at + len);
      s_.read(h_, snap.body_offset() + body_at_, o.data() + at, static_cast<size_t>(len));
      c_.segs_.clear();
      c_.segs_.push_back(Connection::Segment{o.size(), nullptr, 0, 0});
      c_.out_pos_ = 0;
      c_.seg_idx_ = 0;
      c_.seg_mem_done_ = 0;
      c_.bytes_out_ = 0;
      c_.body_bytes_ = len;
      body_sent_ = len;
      return Step::Queued;
    }
  }
  for (;;) {
    if (no_body_ || terminator_ || (body_end_ != UINT64_MAX && body_at_ >= body_end_ && !chunked_)) {
      if (!out_.empty() && !write_out()) return c_.writable_ ? Step::Abort : Step::Wait;
      return Step::Done;
    }
    cache::Snapshot snap = s_.snapshot(h_);
    if (snap.unavailable) return Step::Wait;  // a stalled lock holder; the send timeout still bounds this
    if (snap.state != cache::ObjState::Ready && snap.state != cache::ObjState::Busy) return Step::Abort;  // cut: the client sees it
    if (snap.state == cache::ObjState::Ready && body_end_ == UINT64_MAX) body_end_ = snap.body_len;
    uint64_t avail = std::min<uint64_t>(snap.body_len, body_end_);
    if (body_at_ < avail && !chunked_) {
      // Straight from the store's blocks to the socket, no copy, behind
      // whatever head bytes are still queued: one writev.
      if (!c_.writable_) return Step::Wait;
      iovec iov[kMaxIov + 1];
      size_t k = 0, queued = out_.size() - out_pos_;
      if (queued) iov[k++] = {out_.data() + out_pos_, queued};
      k += s_.map(h_, snap.body_offset() + body_at_, std::min<uint64_t>(avail - body_at_, kMaxIov * cache::Store::kBlockSize),
                  iov + k, kMaxIov);
      ssize_t n = c_.transport_->writev(iov, static_cast<int>(k));
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          c_.writable_ = false;
          return Step::Wait;
        }
        if (errno == EINTR) continue;
        return Step::Abort;
      }
      size_t from_queue = std::min(static_cast<size_t>(n), queued);
      out_pos_ += from_queue;
      if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
      }
      body_at_ += static_cast<uint64_t>(n) - from_queue;
      body_sent_ += static_cast<uint64_t>(n) - from_queue;
      c_.bytes_out_ += static_cast<uint64_t>(n);
      continue;
    }
    if (!out_.empty()) {
      if (!write_out()) return c_.writable_ ? Step::Abort : Step::Wait;
      continue;
    }
    if (body_at_ < avail) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, avail - body_at_));
      if (chunked_) {
        char hex[20];
        int k = std::snprintf(hex, sizeof hex, "%zx\r\n", n);
        out_.append(hex, static_cast<size_t>(k));
      }
      size_t at = out_.size();
      out_.resize(at + n);
      s_.read(h_, snap.body_offset() + body_at_, out_.data() + at, n);
      if (chunked_) out_.append("\r\n");
      body_at_ += n;
      body_sent_ += n;
      continue;
    }
    if (snap.state == cache::ObjState::Ready) {
      if (chunked_ && !terminator_) {
        out_.append("0\r\n\r\n");
        terminator_ = true;
        continue;
      }
      return Step::Done;
    }
    return Step::Wait;  // the fetcher has not stored more yet
  }
}

}  // namespace pillar::server

#include "server/cache_phase.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <vector>

#include "core/log.h"
#include "handlers/conditional.h"
#include "handlers/range.h"
#include "http/http_date.h"
#include "http/response.h"
#include "server/connection.h"
#include "server/proxy_exchange.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

constexpr size_t kChunk = 64 * 1024;      // body bytes copied from the store per step
constexpr size_t kInlineMax = 64 * 1024;  // a complete object this small goes out in one write
constexpr uint32_t kMaxLoopsNotified = 64;
constexpr int kMaxAttempts = 3;
constexpr size_t kMaxIov = 128;           // 256 KiB of 2 KiB blocks per writev           // lookups per request (a failed fetch sends waiters back)

int64_t wall_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

socklen_t notifier_address(sockaddr_un& a, pid_t master, uint32_t row, uint32_t loop) {
  a = sockaddr_un{};
  a.sun_family = AF_UNIX;  // abstract: sun_path[0] == 0, nothing on disk to clean up
  int n = std::snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "pillar-cache-%d-%u-%u", static_cast<int>(master), row, loop);
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + static_cast<size_t>(n));
}


// Fields a stored head never keeps: per-connection and per-client ones.
bool not_stored(std::string_view name) {
  for (std::string_view n : {"Set-Cookie", "Set-Cookie2", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                             "Transfer-Encoding", "Upgrade", "Content-Length", "Age", "X-Cache"})
    if (http::iequals(name, n)) return true;
  return false;
}

std::string strip_unstored(std::string_view lines) {
  std::string out;
  out.reserve(lines.size());
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end == std::string_view::npos ? lines.size() : end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !not_stored(line.substr(0, colon))) out.append(line);
    lines.remove_prefix(line.size());
  }
  return out;
}

cache::ObjectMeta meta_from(const cache::StoreDecision& d, const http::ResponseHead& resp, int64_t now_ms, uint16_t vhost,
                            int64_t body_expected) {
  cache::ObjectMeta m;
  m.stored_at = now_ms / 1000;
  m.stored_ms = now_ms;
  m.initial_age = d.initial_age;
  m.ttl = d.ttl;
  m.grace = d.grace;
  m.stale_if_error = d.stale_if_error;
  m.body_expected = body_expected;
  m.status = static_cast<uint16_t>(resp.status);
  m.vhost = vhost;
  m.revalidate_always = d.revalidate_always;
  auto cc = cache::response_cache_control(resp);
  m.auth_ok = cc.public_ || cc.s_maxage >= 0 || cc.must_revalidate;
  return m;
}

// Ages run from the moment the object was stored, to the millisecond: an
// object stored late in a second is not a second old at the next one.
cache::Freshness freshness_of(const cache::ObjectMeta& m, int64_t now_ms) {
  return cache::freshness(m.stored_at + (now_ms - m.stored_ms) / 1000, m.stored_at, m.initial_age, m.ttl, m.grace,
                          m.stale_if_error);
}

int64_t current_age(const cache::ObjectMeta& m, int64_t now_ms) {
  return std::max<int64_t>(0, m.initial_age + (now_ms - m.stored_ms) / 1000);
}

core::shm::VhostCounters* counters(Connection& c, WorkerLoop& w, const Site* site) {
  (void)c;
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

// ---- CacheNotifier -----------------------------------------------------------

CacheNotifier::CacheNotifier(WorkerLoop& w, pid_t master, uint32_t row, uint32_t loop_index, uint32_t rows)
    : w_(w), master_(master), row_(row), rows_(rows) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_un a;
  socklen_t len = notifier_address(a, master, row, loop_index);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    core::log(core::LogLevel::Warn, "cache", "cache notifier socket: {} (waiters fall back to polling)", strerror(errno));
    ::close(fd_);
    fd_ = -1;
    return;
  }
  w_.loop().add(fd_, EPOLLIN, this);
}

CacheNotifier::~CacheNotifier() {
  if (fd_ >= 0) {
    w_.loop().remove(fd_);
    ::close(fd_);
  }
}

void CacheNotifier::notify(uint64_t mask) {
  if (!mask || fd_ < 0) return;
  char byte = 1;
  for (uint32_t r = 0; r < rows_; ++r) {
    if (!(mask & (uint64_t{1} << (r % 64)))) continue;
    for (uint32_t l = 0; l < kMaxLoopsNotified; ++l) {
      sockaddr_un a;
      socklen_t len = notifier_address(a, master_, r, l);
      // No such loop (ECONNREFUSED) ends the row; a full queue (EAGAIN)
      // already holds a wake-up.
      if (::sendto(fd_, &byte, 1, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&a), len) < 0 && errno != EAGAIN) break;
    }
  }
}

void CacheNotifier::on_io(uint32_t) {
  char buf[64];
  while (::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
  w_.wake_cache_waiters();
}

// ---- CacheFill -----------------------------------------------------------------

void CacheFill::wake() {
  if (w && w->cache_notifier()) w->cache_notifier()->notify(store->waiter_mask(busy));
}

void CacheFill::on_head(const http::ResponseHead& resp, std::string_view lines) {
  const int64_t now_ms = wall_ms(), now = now_ms / 1000;
  int64_t length = resp.framing == http::ResponseHead::Framing::ContentLength ? static_cast<int64_t>(resp.content_length) : -1;
  // The response delay counts whole seconds elapsed, not second boundaries crossed.
  auto d = cache::decide_store(*req, resp, now - (now_ms - request_ms) / 1000, now, length, cache_settings(*cfg));
  if (!d.store) {
    // An error is not a property of the URL: only a response that is
    // uncacheable by nature marks the key hit-for-pass.
    if (resp.status >= 500 || resp.status == 304) store->abandon(busy);
    else store->make_pass(busy, now_ms + cfg->hit_for_pass * 1000, vhost);
    core::log(core::LogLevel::Debug, "cache", "not stored ({}): {}", d.why, req->target);
    ended = true;
    wake();
    return;
  }
  std::string names = cache::join_vary(resp);
  std::string key = cache::vary_key(names, *req);
  if (!store->set_head(busy, names, key, strip_unstored(lines), meta_from(d, resp, now_ms, vhost, length))) {
    store->abandon(busy);
    ended = true;
    wake();
    return;
  }
  storing = true;
  wake();
}

// The member confirmed the stale copy: a new object gets the stale head
// updated with the 304's fields (RFC 9111 §4.3.4) and the stale body.
void CacheFill::on_not_modified(const http::ResponseHead& resp) {
  const int64_t now_ms = wall_ms(), now = now_ms / 1000;
  revalidated = true;
  ended = true;
  cache::Snapshot ss = store->snapshot(stale);
  std::string old = store->read_string(stale, uint64_t{ss.key_len} + ss.names_len + ss.vary_len, ss.head_len);
  std::vector<std::pair<std::string, std::string>> fields;
  for (std::string_view rest = old; !rest.empty();) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      fields.emplace_back(std::string(line.substr(0, colon)), std::string(v));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 2);
  }
  for (const auto& f : resp.headers) {
    if (not_stored(f.name)) continue;
    bool replaced = false;
    for (auto it = fields.begin(); it != fields.end();) {
      if (!http::iequals(it->first, f.name)) {
        ++it;
        continue;
      }
      if (!replaced) {
        it->second = std::string(f.value);
        replaced = true;
        ++it;
      } else {
        it = fields.erase(it);
      }
    }
    if (!replaced) fields.emplace_back(std::string(f.name), std::string(f.value));
  }
  http::ResponseHead merged;
  merged.status = ss.meta.status;
  merged.framing = http::ResponseHead::Framing::ContentLength;
  merged.content_length = ss.body_len;
  std::string lines;
  for (const auto& [n, v] : fields) {
    merged.headers.push_back({n, v});
    lines.append(n).append(": ").append(v).append("\r\n");
  }
  auto d = cache::decide_store(*req, merged, now - (now_ms - request_ms) / 1000, now, static_cast<int64_t>(ss.body_len),
                               cache_settings(*cfg));
  std::string names = cache::join_vary(merged);
  if (d.store && store->set_head(busy, names, cache::vary_key(names, *req), lines,
                                 meta_from(d, merged, now_ms, vhost, static_cast<int64_t>(ss.body_len))) &&
      store->copy_body(stale, busy)) {
    store->finish(busy);
  } else {
    store->abandon(busy);
    busy = stale;  // still valid for this one answer
  }
  wake();
}

void CacheFill::on_body(std::string_view data) {
  if (!storing || data.empty()) return;
  body += data.size();
  if (body > cfg->max_object_size || !store->append(busy, data)) {
    store->abandon(busy);  // too large after all, or no room: waiters go to the member themselves
    storing = false;
    ended = true;
  }
  wake();
}

void CacheFill::end(bool complete) {
  if (ended) return;
  ended = true;
  if (storing && complete) store->finish(busy);
  else store->abandon(busy);  // a cut or failed response is never kept
  storing = false;
  wake();
}

// ---- CacheDelivery -------------------------------------------------------------

CacheDelivery::CacheDelivery(Connection& c, cache::Store& s, cache::Handle h, const char* x_cache, uint64_t deadline_ms)
    : c_(c), s_(s), h_(h), x_cache_(x_cache), deadline_ms_(deadline_ms) {}

bool CacheDelivery::build_head(const cache::Snapshot& snap) {
  const int64_t now_ms = wall_ms(), now = now_ms / 1000;
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
  if (!c_.keep_alive_) out_.append("Connection: close\r\n");
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

// ---- the phase in the connection -----------------------------------------------

void Connection::set_cache_pin(int which, cache::Handle h) {
  cache_pins_[which] = h;
  slot_->cache_pins[which].store(h.pack(), std::memory_order_relaxed);
}

void Connection::end_cache_request() {
  if (cache_waiting_) {
    w_.cache_waiters().erase(this);
    cache_waiting_ = false;
  }
  cache_.reset();
  if (proxy_ && phase_ != Phase::Proxy) w_.retire(std::move(proxy_));  // a fetch that carried on for the store
  if (cache::Store* store = w_.runtime().cache()) {
    if (refresh_busy_) {  // a background refresh that never got to its fetch
      store->abandon(refresh_busy_);
      store->release(refresh_busy_);
      store->release(refresh_stale_);
      refresh_busy_ = refresh_stale_ = {};
    }
    for (int i = 0; i < 2; ++i) {
      if (cache_pins_[i]) store->release(cache_pins_[i]);
      set_cache_pin(i, {});
    }
  }
  route_ = nullptr;
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
  const auto& policy = site_->cfg->cache.purge;
  bool allowed = (policy.empty() ? loopback_only : policy).allows(peer_);
  resp_.clear();
  if (!allowed) {
    resp_.error(403);
  } else {
    std::string target(head_.path);
    if (!head_.query.empty()) target.append("?").append(head_.query);
    uint32_t n = w_.runtime().cache()->purge(cache::primary_key(host_, target));
    resp_.status = n ? 200 : 404;
    resp_.add_header("Content-Type", "text/plain");
    resp_.add_text(n ? "Purged\n" : "Not in cache\n");
    core::log(core::LogLevel::Info, "cache", "[client {}] PURGE {}{}: {} object(s)", peer_ip_, host_, target, n);
  }
  queue_response();
}

bool Connection::begin_cache(const LocationRoute& route) {
  cache::Store* store = w_.runtime().cache();
  const auto& cc = site_->cfg->cache;
  if (!store || !cc.enabled_for(path_)) return false;
  std::string target(head_.path);
  if (!head_.query.empty()) target.append("?").append(head_.query);
  if (head_.method != http::Method::Get && head_.method != http::Method::Head) {
    // RFC 9111 §4.4: an unsafe method invalidates what the cache holds for the URL.
    if (head_.method != http::Method::Options) store->purge(cache::primary_key(host_, target));
    return false;
  }
  if (head_.chunked || head_.content_length > 0 || head_.upgrade) return false;
  route_ = &route;
  cache_key_ = cache::primary_key(host_, target);
  cache_attempts_ = 0;
  if (refresh_busy_) {  // a background refresh: the fetch was decided by the request that spawned it
    set_cache_pin(0, refresh_stale_);
    set_cache_pin(1, refresh_busy_);
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
  const auto& cc = site_->cfg->cache;
  const auto& cfg = w_.runtime().config();
  auto* stats = counters(*this, w_, site_);
  const int64_t now_ms = wall_ms();
  auto req_cc = cache::request_cache_control(head_);
  const bool auth = head_.has("Authorization");
  const bool range = head_.has("Range");
  const bool force = !cc.ignore_cache_control && (req_cc.no_cache || req_cc.max_age == 0);
  const bool may_fetch = head_.method == http::Method::Get && !auth && !range && !req_cc.no_store &&
                         ++cache_attempts_ <= kMaxAttempts;
  for (int i = 0; i < 2; ++i) {  // a retry after a failed fetch starts afresh
    if (cache_pins_[i]) store.release(cache_pins_[i]);
    set_cache_pin(i, {});
  }
  const http::RequestHead& head = head_;
  auto r = store.lookup(
      cache_key_, [&head](std::string_view names, std::string_view key) { return cache::vary_matches(names, key, head); },
      now_ms, force, may_fetch, static_cast<int32_t>(::getpid()), cfg.cache_lock ? cfg.cache_lock_max_waiters : 0,
      w_.cache_notifier() ? w_.cache_notifier()->bit() : 0, cfg.cache_lock_max_age.count());
  set_cache_pin(0, r.ready);
  set_cache_pin(1, r.busy);
  cache::Snapshot ready;
  if (r.ready) ready = store.snapshot(r.ready);
  auto fresh = freshness_of(ready.meta, now_ms);
  auto pass = [&] {
    if (stats) stats->cache_passes.fetch_add(1, std::memory_order_relaxed);
    const LocationRoute* route = route_;
    end_cache_request();
    start_proxy(*route, nullptr, "PASS");
  };
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
        set_cache_pin(1, {});  // the refresh owns the fetch now
        if (stats) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
        return deliver_from_cache(r.ready, "STALE");
      }
      if (stats) stats->cache_misses.fetch_add(1, std::memory_order_relaxed);
      return start_fill(r.busy, r.ready);
    case cache::Store::Lookup::Pass:
    case cache::Store::Lookup::Crowded:
    case cache::Store::Lookup::Miss:
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
  fill->cfg = &site_->cfg->cache;
  fill->req = &head_;
  fill->busy = busy;
  fill->vhost = static_cast<uint16_t>(site_->stats_id);
  fill->request_ms = wall_ms();
  cache::Snapshot ready = stale ? store.snapshot(stale) : cache::Snapshot{};
  fill->stale_on_error = ready.state == cache::ObjState::Ready && freshness_of(ready.meta, wall_ms()).within_stale_if_error;
  if (ready.state == cache::ObjState::Ready && ready.meta.status == 200) {
    std::string lines = store.read_string(stale, uint64_t{ready.key_len} + ready.names_len + ready.vary_len, ready.head_len);
    std::string_view etag = http::find_header_line(lines, "ETag"), lm = http::find_header_line(lines, "Last-Modified");
    if (!etag.empty()) fill->validators.append("If-None-Match: ").append(etag).append("\r\n");
    if (!lm.empty()) fill->validators.append("If-Modified-Since: ").append(lm).append("\r\n");
    if (!fill->validators.empty()) fill->stale = stale;
  }
  start_proxy(*route_, std::move(fill), "MISS");
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
  req.append(head_.target).append(" HTTP/1.1\r\nHost: ").append(head_.authority).append("\r\n");
  for (const auto& f : head_.headers) {
    for (std::string_view skip : {"Host", "Connection", "Keep-Alive", "TE", "Upgrade", "Content-Length", "Transfer-Encoding",
                                  "Expect", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since",
                                  "If-Range", "Range", "Cache-Control", "Pragma"})
      if (http::iequals(f.name, skip)) goto next;
    req.append(f.name).append(": ").append(f.value).append("\r\n");
  next:;
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
  auto* rc = new Connection(w_, sv[0], peer_, local_, slot, index);
  rc->proxy_header_pending_ = false;  // the request comes from us, not through a PROXY-protocol listener
  rc->refresh_busy_ = busy;
  rc->refresh_stale_ = stale;
  w_.runtime().cache()->pin(stale);
  core::log(core::LogLevel::Debug, "cache", "background refresh of {}", cache_key_);
  rc->start();
  return true;
}

// The proxy exchange filling the store for this client found it slower than
// the member: the fetch goes on at the member's pace for the store and the
// waiters, and this client is served from the store like a waiter.
void Connection::continue_from_cache(std::string pending, uint64_t offset, bool chunked, uint64_t body_end, int status,
                                     uint64_t sent) {
  cache::Store& store = *w_.runtime().cache();
  cache::Handle h = cache_pins_[1];
  phase_ = Phase::Cache;
  cache_ = std::make_unique<CacheDelivery>(*this, store, h, "MISS", UINT64_MAX);
  cache_->resume(std::move(pending), offset, chunked, body_end, status);
  bytes_out_ = sent;
  cache_seen_bytes_ = sent;
  cache_progress_ms_ = w_.loop().now_ms();
  if (w_.cache_notifier()) store.watch(h, w_.cache_notifier()->bit());
  cache_waiting_ = true;
  w_.cache_waiters().insert(this);
  w_.loop().timers().arm(*this, w_.loop().now_ms() + core::TimerWheel::kTickMs);
}

void Connection::deliver_from_cache(cache::Handle h, const char* x_cache) {
  // The other pin is not needed for a copy that is already whole.
  cache::Store& store = *w_.runtime().cache();
  for (int i = 0; i < 2; ++i) {
    if (cache_pins_[i] && !(cache_pins_[i].idx == h.idx && cache_pins_[i].gen == h.gen)) {
      store.release(cache_pins_[i]);
      set_cache_pin(i, {});
    }
  }
  start_delivery(h, x_cache, UINT64_MAX);
}

void Connection::start_delivery(cache::Handle h, const char* x_cache, uint64_t deadline_ms) {
  phase_ = Phase::Cache;
  mark(core::shm::SlotState::Writing);
  segs_.clear();  // CacheDelivery writes itself, or fills out_ and the segments
  seg_idx_ = 0;
  bytes_out_ = 0;
  body_bytes_ = 0;
  cache_seen_bytes_ = 0;
  cache_progress_ms_ = w_.loop().now_ms();
  cache_ = std::make_unique<CacheDelivery>(*this, *w_.runtime().cache(), h, x_cache, deadline_ms);
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
  auto f = freshness_of(s.meta, wall_ms());
  if (!(for_error ? f.within_stale_if_error : f.within_grace)) return false;
  if (auto* stats = counters(*this, w_, site_)) stats->cache_grace_hits.fetch_add(1, std::memory_order_relaxed);
  core::log(core::LogLevel::Info, "cache", "[client {}] origin failed; serving a stale copy ({} s old)", peer_ip_, f.age);
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
  if (cache_attempts_ >= kMaxAttempts || w_.loop().now_ms() >= req_start_ms_ +
                                             static_cast<uint64_t>(w_.runtime().config().cache_lock_max_age.count())) {
    if (auto* stats = counters(*this, w_, site_)) stats->cache_passes.fetch_add(1, std::memory_order_relaxed);
    const LocationRoute* route = route_;
    end_cache_request();
    start_proxy(*route, nullptr, "PASS");
    return;
  }
  cache_step();
}

}  // namespace pillar::server

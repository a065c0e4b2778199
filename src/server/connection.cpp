#include "server/connection.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/fault_point.h"
#include "core/log.h"
#include "core/socket_address.h"
#include "http/request_parser.h"
#include "http/uri.h"
#include "server/error_page.h"
#include <arpa/inet.h>

#include "http/proxy_protocol.h"
#include "server/balancer_runtime.h"
#include "server/cache_phase.h"
#include "server/proxy_exchange.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

constexpr uint64_t kLingerMs = 2000;               // Apache's MAX_SECS_TO_LINGER
constexpr uint64_t kDrainIdleGraceMs = 100;         // see Connection::drain
constexpr uint64_t kInlineFileMax = 16 * 1024;     // smaller files go out in the header write
constexpr size_t kCopyChunk = 64 * 1024;
constexpr size_t kMaxHeadBuffer = 1024 * 1024;     // hard cap on a request head held in memory
constexpr uint64_t kSendfileChunk = 1 << 20;

uint64_t now_us() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Lower-cased host without port from an authority ("Example.COM:80", "[::1]:8080").
void host_from_authority(std::string_view a, std::string& out) {
  out.clear();
  if (!a.empty() && a.front() == '[') {
    size_t close = a.find(']');
    a = a.substr(0, close == std::string_view::npos ? a.size() : close + 1);
  } else {
    size_t colon = a.rfind(':');
    if (colon != std::string_view::npos) a = a.substr(0, colon);
  }
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);  // "example.com." is example.com
  out.reserve(a.size());
  for (char c : a) out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
}

}  // namespace

Connection::Connection(WorkerLoop& w, int fd, const sockaddr_storage& peer, const sockaddr_storage& local,
                       core::shm::ConnSlot* slot, uint32_t slot_index)
    : w_(w), slot_(slot), slot_index_(slot_index), transport_(std::make_unique<core::PlainTransport>(fd)),
      peer_(peer), local_(local) {
  peer_ip_ = core::address_text(peer_);
  conn_peer_ = peer_;
  conn_peer_ip_ = peer_ip_;
  proxy_header_pending_ = w.runtime().config().remoteip_proxy_protocol;
  local_port_ = core::address_port(local_);
}

Connection::~Connection() {
  if (rbuf_ && rcap_ == WorkerLoop::kBufferSize) w_.give_buffer(std::move(rbuf_));
}

void Connection::start() {
  w_.link(this);
  w_.loop().add(transport_->fd(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
  phase_ = Phase::Idle;
  // A new connection gets the header timeout, not the keep-alive one.
  arm_read_timer(false);
  drive();
}

void Connection::on_io(uint32_t events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) readable_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writable_ = true;
  drive();
}

void Connection::on_timer() {
  const auto& cfg = w_.runtime().config();
  switch (phase_) {
    case Phase::Idle:
      close_now();
      return;
    case Phase::ReadHead:
    case Phase::DrainBody:
      if (w_.loop().now_ms() < read_deadline_) {  // extended by MinRate meanwhile
        w_.loop().timers().arm(*this, read_deadline_);
        return;
      }
      if (phase_ == Phase::ReadHead && rend_ > rbegin_) {
        respond_error(408, "request header read timeout");
        drive();
      } else {
        close_now();
      }
      return;
    case Phase::Write:
      core::log(core::LogLevel::Info, "core", "[client {}] send timeout ({} ms)", peer_ip_, cfg.timeout.count());
      abort_request();
      return;
    case Phase::Linger:
    case Phase::Closed:
      close_now();
      return;
    case Phase::Proxy:
      // The exchange times the member itself; this timer is the request
      // body's (RequestReadTimeout body=, extended by MinRate), as when a
      // body is read for any other handler.
      if (!proxy_ || !proxy_->reading_body()) return;
      if (w_.loop().now_ms() < read_deadline_) {
        w_.loop().timers().arm(*this, read_deadline_);
        return;
      }
      proxy_->body_timeout();
      drive();
      return;
    case Phase::Cache: {
      // Waiting for a fetch, or streaming one as it arrives: poll (a lost
      // wake-up costs a tick), give up waiting at CacheLockMaxAge, and close
      // a client that takes nothing for Timeout.
      uint64_t now = w_.loop().now_ms();
      if (bytes_out_ != cache_seen_bytes_) {
        cache_seen_bytes_ = bytes_out_;
        cache_progress_ms_ = now;
      } else if (cache_->head_sent() && now >= cache_progress_ms_ + static_cast<uint64_t>(cfg.timeout.count())) {
        core::log(core::LogLevel::Info, "core", "[client {}] send timeout ({} ms)", peer_ip_, cfg.timeout.count());
        close_now();
        return;
      }
      drive();
      if (phase_ == Phase::Cache) w_.loop().timers().arm(*this, w_.loop().now_ms() + core::TimerWheel::kTickMs);
      return;
    }
  }
}

void Connection::proxy_progress() {
  if (phase_ == Phase::Cache && proxy_) proxy_->on_client_io();  // a fetch going on for the store
  if (fetch_only_) {
    if (proxy_->finished()) close_now();
    return;
  }
  drive();
}

void Connection::drain(bool graceful) {
  draining_server_ = true;
  drain_graceful_ = graceful;
  if (phase_ != Phase::Idle || rend_ != rbegin_) return;  // busy: its answer says Connection: close
  if (!graceful) return close_now();
  mark(core::shm::SlotState::Graceful);  // a new connection's first request may be on the way
  if (requests_ == 0) return;
  // An idle keep-alive connection is closed at once, as Apache does, so a
  // draining generation gives its scoreboard rows back; at once but for a
  // short grace since its last response, which spares a client that is
  // sending its next request right now (its answer says Connection: close).
  uint64_t now = w_.loop().now_ms();
  uint64_t at = std::max(now, idle_since_ms_ + kDrainIdleGraceMs);
  uint64_t keep_alive_end = idle_since_ms_ + static_cast<uint64_t>(w_.runtime().config().keep_alive_timeout.count());
  if (at < keep_alive_end) w_.loop().timers().arm(*this, at);  // Idle's timer closes it
}

void Connection::close_if_idle() {
  if (phase_ == Phase::Idle && rend_ == rbegin_) close_now();
}

void Connection::publish_request() {
  auto copy = [](char* dst, size_t cap, std::string_view v) {
    size_t n = std::min(cap - 1, v.size());
    if (n > 0) std::memcpy(dst, v.data(), n);  // an empty view may have no data (UBSan)
    dst[n] = '\0';
  };
  copy(slot_->client, sizeof slot_->client, peer_ip_);
  copy(slot_->vhost, sizeof slot_->vhost, site_ ? std::string_view(site_->cfg->server_name) : std::string_view());
  std::string_view line;
  if (head_len_ > 0) {
    std::string_view all(head_.method_name.data(), head_len_);
    line = all.substr(0, all.find('\r'));
  }
  copy(slot_->request, sizeof slot_->request, line);
}

void Connection::arm_read_timer(bool body) {
  const auto& cfg = w_.runtime().config();
  const auto& t = body ? cfg.body_timeout : cfg.header_timeout;
  uint64_t now = w_.loop().now_ms();
  uint64_t initial = t.initial.count() > 0 ? static_cast<uint64_t>(t.initial.count())
                                           : static_cast<uint64_t>(cfg.timeout.count());
  read_deadline_ = now + initial;
  read_max_deadline_ = t.maximum.count() > 0 ? now + static_cast<uint64_t>(t.maximum.count()) : 0;
  read_min_rate_ = t.min_rate;
  read_rate_bytes_ = 0;
  w_.loop().timers().arm(*this, read_deadline_);
}

// mod_reqtimeout's MinRate: every MinRate bytes received buy one more second,
// up to the maximum.
void Connection::note_read_progress(size_t n) {
  if (read_min_rate_ == 0) return;
  read_rate_bytes_ += n;
  uint64_t extra_s = read_rate_bytes_ / read_min_rate_;
  if (extra_s == 0) return;
  read_rate_bytes_ %= read_min_rate_;
  read_deadline_ += extra_s * 1000;
  if (read_max_deadline_ && read_deadline_ > read_max_deadline_) read_deadline_ = read_max_deadline_;
}

bool Connection::fill() {
  if (!rbuf_) {
    // An idle connection holds no buffer: read into the loop's scratch space
    // and take a pooled buffer only when bytes actually arrived, so 10 000
    // idle keep-alive clients cost no read buffers at all.
    thread_local std::unique_ptr<char[]> scratch = std::make_unique<char[]>(WorkerLoop::kBufferSize);
    ssize_t n = transport_->read(scratch.get(), WorkerLoop::kBufferSize);
    if (n <= 0) {
      if (n == 0) peer_eof_ = true;
      else if (errno == EAGAIN || errno == EWOULDBLOCK) readable_ = false;
      else if (errno != EINTR) peer_eof_ = true;
      return false;
    }
    rbuf_ = w_.take_buffer();
    rcap_ = WorkerLoop::kBufferSize;
    rbegin_ = 0;
    rend_ = static_cast<size_t>(n);
    std::memcpy(rbuf_.get(), scratch.get(), rend_);
    bytes_in_ += static_cast<uint64_t>(n);
    note_read_progress(static_cast<size_t>(n));
    return true;
  }
  if (rend_ == rcap_) {
    // Make room: move the unprocessed bytes down, or grow for a large head.
    if (rbegin_ > 0) {
      std::memmove(rbuf_.get(), rbuf_.get() + rbegin_, rend_ - rbegin_);
      rend_ -= rbegin_;
      rbegin_ = 0;
    } else {
      size_t ncap = std::min(rcap_ * 2, kMaxHeadBuffer);
      if (ncap == rcap_) return false;
      auto nb = std::make_unique<char[]>(ncap);
      std::memcpy(nb.get(), rbuf_.get(), rend_);
      if (rcap_ == WorkerLoop::kBufferSize) w_.give_buffer(std::move(rbuf_));
      rbuf_ = std::move(nb);
      rcap_ = ncap;
    }
  }
  ssize_t n = transport_->read(rbuf_.get() + rend_, rcap_ - rend_);
  if (n > 0) {
    rend_ += static_cast<size_t>(n);
    bytes_in_ += static_cast<uint64_t>(n);
    note_read_progress(static_cast<size_t>(n));
    return true;
  }
  if (n == 0) {
    peer_eof_ = true;
  } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
    readable_ = false;
  } else if (errno != EINTR) {
    peer_eof_ = true;
  }
  return false;
}

void Connection::drive() {
  for (;;) {
    switch (phase_) {
      case Phase::Idle:
      case Phase::ReadHead: {
        if (rend_ > rbegin_) {
          if (phase_ == Phase::Idle) {
            phase_ = Phase::ReadHead;
            mark(core::shm::SlotState::Reading);
            req_start_ms_ = w_.loop().now_ms();
            req_start_us_ = now_us();
            req_wall_ = w_.loop().wall_time();
            if (requests_ > 0) arm_read_timer(false);
          }
          if (proxy_header_pending_ && !read_proxy_header()) {
            if (phase_ == Phase::Closed) return;
            if (!readable_) return;  // waiting for the rest of the PROXY header
            if (!fill()) {
              if (peer_eof_) close_now();
              return;
            }
            continue;
          }
          if (rend_ == rbegin_) {  // only a PROXY header so far
            phase_ = Phase::ReadHead;
            if (!readable_) return;
            if (!fill()) {
              if (peer_eof_) close_now();
              return;
            }
            continue;
          }
          const auto& cfg = w_.runtime().config();
          http::ParseLimits limits{cfg.limit_request_line, cfg.limit_request_fields, cfg.limit_request_field_size};
          auto out = http::parse_request_head({rbuf_.get() + rbegin_, rend_ - rbegin_}, limits, head_);
          if (out.kind == http::ParseOutcome::Complete) {
            process_request(out.consumed);
            continue;
          }
          if (out.kind == http::ParseOutcome::Error) {
            respond_error(out.status, out.reason);
            continue;
          }
          if (rend_ == rcap_ && rbegin_ == 0 && rcap_ >= kMaxHeadBuffer) {
            respond_error(431, "request head exceeds the buffer limit");
            continue;
          }
        }
        if (!readable_) return;
        if (!fill()) {
          if (!peer_eof_) {
            if (!readable_) return;
            continue;
          }
          // Peer closed: nothing to answer (a partial head is simply dropped).
          close_now();
          return;
        }
        continue;
      }
      case Phase::Write:
        if (!flush()) return;
        finish_request();
        if (phase_ == Phase::Closed) return;
        continue;
      case Phase::DrainBody:
        if (!drain_body()) {
          if (phase_ == Phase::Closed) return;
          if (!readable_) return;
          if (!fill()) {
            if (peer_eof_) {
              close_now();
              return;
            }
            if (!readable_) return;
          }
          continue;
        }
        begin_next();
        if (phase_ == Phase::Closed) return;
        continue;
      case Phase::Linger: {
        // Discard what the client still sends so our response is not lost to an RST.
        char sink[4096];
        for (;;) {
          ssize_t n = transport_->read(sink, sizeof sink);
          if (n > 0) continue;
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
          close_now();
          return;
        }
      }
      case Phase::Proxy:
        proxy_->on_client_io();
        if (phase_ != Phase::Proxy) continue;  // the client was handed over to the cache
        if (!proxy_->finished()) return;
        end_proxy();
        if (phase_ == Phase::Closed) return;
        continue;
      case Phase::Cache:
        switch (auto st = cache_->pump(); st) {
          case CacheDelivery::Step::Wait:
            return;
          case CacheDelivery::Step::Queued:  // the whole response is in out_: the Write phase sends it
          case CacheDelivery::Step::Done:    // streamed: nothing left to write
            resp_.status = cache_->status();
            body_bytes_ = cache_->body_bytes();
            end_cache_request();
            phase_ = Phase::Write;
            w_.loop().timers().arm(*this, w_.loop().now_ms() + static_cast<uint64_t>(w_.runtime().config().timeout.count()));
            continue;
          case CacheDelivery::Step::Fallback:
          case CacheDelivery::Step::Retry:
            cache_fallback(st == CacheDelivery::Step::Fallback);
            if (phase_ == Phase::Closed) return;
            continue;
          case CacheDelivery::Step::Abort:
            close_now();
            return;
        }
        return;
      case Phase::Closed:
        return;
    }
  }
}

// RemoteIPProxyProtocol: the connection's first bytes name its real client.
// False while the header is incomplete (or after closing on a bad one).
bool Connection::read_proxy_header() {
  auto h = http::parse_proxy_header({rbuf_.get() + rbegin_, rend_ - rbegin_});
  if (h.kind == http::ProxyHeader::Kind::Incomplete) {
    if (peer_eof_) close_now();
    return false;
  }
  if (h.kind == http::ProxyHeader::Kind::Error) {
    core::log(core::LogLevel::Error, "remoteip", "[client {}] {}; connection closed", peer_ip_, h.reason);
    close_now();
    return false;
  }
  if (h.kind == http::ProxyHeader::Kind::Proxied) {
    conn_peer_ = h.source;
    conn_peer_ip_ = core::address_text(conn_peer_);
    peer_ = conn_peer_;
    peer_ip_ = conn_peer_ip_;
  }
  rbegin_ += h.consumed;
  proxy_header_pending_ = false;
  return true;
}

// mod_remoteip: behind trusted proxies, the client is the rightmost address
// of RemoteIPHeader that is not itself a trusted proxy.
void Connection::apply_remote_ip() {
  peer_ = conn_peer_;
  peer_ip_ = conn_peer_ip_;
  const auto& cfg = w_.runtime().config();
  if (cfg.remoteip_header.empty()) return;
  auto trusted = [&](const sockaddr_storage& a) {
    for (const auto& n : cfg.remoteip_trusted) {
      if (n.contains(a)) return true;
    }
    return false;
  };
  if (!trusted(conn_peer_)) return;
  std::string_view list = head_.find(cfg.remoteip_header);
  while (!list.empty()) {
    size_t comma = list.rfind(',');
    std::string_view item = comma == std::string_view::npos ? list : list.substr(comma + 1);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    sockaddr_storage a{};
    std::string text(item);
    auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
    if (inet_pton(AF_INET, text.c_str(), &a4->sin_addr) == 1) a.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, text.c_str(), &a6->sin6_addr) == 1) a.ss_family = AF_INET6;
    else return;  // garbage: keep what we have (never trust a malformed list)
    peer_ = a;
    peer_ip_ = text;
    if (!trusted(a)) return;
  }
}

void Connection::process_request(size_t head_len) {
  mark(core::shm::SlotState::Writing);  // mod_status: W from the end of the head to the last byte
  PILLAR_FAULT_POINT("request.process");  // tests: a worker stuck (or dying) in the request path
  head_len_ = head_len;
  apply_remote_ip();
  ++requests_;
  ++w_.stats().requests;
  const auto& rt = w_.runtime();
  const auto& cfg = rt.config();
  keep_alive_ = head_.keep_alive && cfg.keep_alive && !draining_server_ &&
                (cfg.max_keep_alive_requests == 0 || requests_ < cfg.max_keep_alive_requests);

  host_from_authority(head_.authority, host_);
  site_ = &rt.site_for(local_, host_);
  resp_.clear();

  // The path is decoded and routed once; proxied locations stream the
  // request body to the member themselves.
  int status = 0;
  const bool path_ok = head_.path != "*" && http::normalize_path(head_.path, path_, status);
  const LocationRoute* route = path_ok ? site_->match(path_, head_, peer_) : nullptr;
  if (head_.method == http::Method::Purge && path_ok && rt.cache() && !site_->cfg->cache.rules.empty()) {
    answer_purge();
    return;
  }
  // A proxied location forwards any method the parser took as a token
  // (WebDAV's PROPFIND, SSDP's M-SEARCH...): the member decides, as in Apache.
  if (route && route->balancer && (route->cfg->access.empty() || route->cfg->access.allows(peer_))) {
    if (head_.has_content_length && cfg.limit_request_body && head_.content_length > cfg.limit_request_body) {
      respond_error(413, "request body larger than LimitRequestBody");
      return;
    }
    if (begin_cache(*route)) return;
    start_proxy(*route);
    return;
  }

  // Request body framing: nothing consumes bodies yet, so small ones are
  // discarded and large or announced-by-Expect ones end the connection.
  body_chunked_ = head_.chunked;
  body_left_ = head_.has_content_length ? head_.content_length : 0;
  if (head_.has_content_length && cfg.limit_request_body && head_.content_length > cfg.limit_request_body) {
    respond_error(413, "request body larger than LimitRequestBody");
    return;
  }
  if (body_chunked_ || body_left_ > kDiscardBodyMax || (head_.expect_continue && body_left_ > 0))
    keep_alive_ = false;
  if (body_chunked_) chunked_.reset();

  if (head_.method == http::Method::Other) {
    resp_.error(501);
  } else if (head_.method == http::Method::Trace || head_.method == http::Method::Connect) {
    resp_.error(405);
  } else if (head_.path == "*") {
    if (head_.method == http::Method::Options) {
      resp_.add_header("Allow", "GET, HEAD, OPTIONS");
    } else {
      resp_.error(400);
    }
  } else if (!path_ok) {
    resp_.error(status);
  } else {
    http::RequestContext ctx{head_, path_, host_, peer_, peer_ip_, local_port_};
    if (route && !route->cfg->access.empty() && !route->cfg->access.allows(peer_)) {
      resp_.error(403);
    } else {
      http::Handler* h = route && route->handler ? route->handler : site_->static_handler.get();
      h->handle(ctx, resp_);
    }
    if (resp_.use_error_page) apply_error_page(site_, &ctx);
  }
  if (resp_.use_error_page) apply_error_page(site_, nullptr);
  if (resp_.close_connection) keep_alive_ = false;
  queue_response();
}

// The member's path: ProxyPassMatch's template filled with the groups, or
// ProxyPass's target path + what follows the prefix (as received, still encoded).
static std::string proxy_target(const config::LocationSection& loc, const http::RequestHead& head, const std::string& path) {
  std::string target;
  if (loc.match) {
    std::match_results<std::string::const_iterator> m;
    std::regex_search(path.cbegin(), path.cend(), m, *loc.match);
    target = m.format(loc.proxy.path);
    if (target.empty() || target[0] != '/') target.insert(0, "/");
  } else {
    const std::string& prefix = loc.prefix;
    std::string_view rest = head.path.size() >= prefix.size() && head.path.substr(0, prefix.size()) == prefix
                                ? head.path.substr(prefix.size())
                                : std::string_view(path).substr(std::min(prefix.size(), path.size()));
    target = loc.proxy.path;
    if (!target.empty() && target.back() == '/' && !rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    if (target.empty() || (target.back() != '/' && !rest.empty() && rest.front() != '/')) target.push_back('/');
    target.append(rest);
  }
  if (!head.query.empty()) {
    target.push_back('?');
    target.append(head.query);
  }
  return target;
}

void Connection::start_proxy(const LocationRoute& route, std::unique_ptr<CacheFill> fill, const char* x_cache) {
  std::string target = proxy_target(route.target_cfg(), head_, path_);
  body_left_ = 0;
  body_chunked_ = false;
  core::TimerWheel::cancel(*this);  // the exchange runs the member's timers now
  phase_ = Phase::Proxy;
  route_ = &route;
  proxy_ = std::make_unique<ProxyExchange>(*this, *route.balancer, std::move(target));
  if (x_cache && site_->cfg->cache.header) proxy_->set_x_cache(x_cache);
  if (fill) proxy_->set_fill(std::move(fill));
  if (head_.chunked || head_.content_length > 0) arm_read_timer(true);  // the body's, see on_timer
  proxy_->start();
}

// The exchange is done: log and go on (keep-alive) or answer its error.
void Connection::end_proxy() {
  std::unique_ptr<ProxyExchange> p = std::move(proxy_);
  if (const CacheFill* fill = p->fill(); fill && fill->revalidated) {  // 304: the stored copy answers
    cache::Handle h = fill->busy;
    w_.retire(std::move(p));
    deliver_from_cache(h, "REVALIDATED");
    return;
  }
  if (p->aborted()) {
    // A response that had begun is logged; a client that left before any
    // head (mid-upload) was never answered.
    bool answered = p->status() != 0;
    resp_.status = p->status();
    bytes_out_ = p->sent_to_client();
    body_bytes_ = p->body_bytes();
    w_.retire(std::move(p));
    if (answered) abort_request();
    else close_now();
    return;
  }
  size_t cursor = p->client_cursor();
  if (p->failed()) {
    int status = p->status();
    w_.retire(std::move(p));
    if (cache_pins_[0] && serve_stale(true)) return;  // a stale copy may answer (stale-if-error)
    keep_alive_ = false;  // the request body may be half read
    resp_.error(status);
    apply_error_page(site_, nullptr);
    queue_response();
    return;
  }
  resp_.status = p->status();
  bytes_out_ = p->sent_to_client();
  body_bytes_ = p->body_bytes();
  // Body bytes the exchange took from the read buffer: finish_request skips
  // the head, and the rest of a pipelined next request stays.
  if (cursor >= rbegin_ + head_len_ && cursor <= rend_) rbegin_ = cursor - head_len_;
  w_.retire(std::move(p));
  phase_ = Phase::Write;
  finish_request();
}

void Connection::respond_error(int status, const char* reason) {
  core::log(core::LogLevel::Info, "core", "[client {}] {} {}", peer_ip_, status, reason);
  if (phase_ == Phase::Idle || phase_ == Phase::ReadHead) {
    head_.reset();
    head_len_ = 0;
  }
  ++requests_;
  keep_alive_ = false;
  body_left_ = 0;
  body_chunked_ = false;
  // A head refused before routing is logged by the default vhost of the
  // address it came to (Apache's rule), not only by the main server.
  if (!site_) site_ = &w_.runtime().site_for(local_, {});
  resp_.error(status);
  apply_error_page(site_, nullptr);
  queue_response();
}

void Connection::apply_error_page(const Site* site, const http::RequestContext* ctx) {
  int status = resp_.status;
  const config::ErrorDocument* doc = nullptr;
  if (site) {
    auto it = site->cfg->error_documents.find(status);
    if (it != site->cfg->error_documents.end()) doc = &it->second;
  }
  resp_.use_error_page = false;
  if (doc && doc->kind == config::ErrorDocument::Kind::LocalPath && ctx) {
    // Internal redirect: serve the local document as a GET, keep the status.
    http::RequestHead sub = head_;
    sub.method = http::Method::Get;
    sub.method_name = "GET";
    std::erase_if(sub.headers, [](const http::HeaderField& f) {
      return http::iequals(f.name, "Range") || (f.name.size() > 3 && http::iequals(f.name.substr(0, 3), "If-"));
    });
    std::string sub_path;
    int st = 0;
    if (http::normalize_path(doc->value, sub_path, st)) {
      std::string saved_headers = resp_.header_block();
      http::RequestContext sctx{sub, sub_path, ctx->host, ctx->client, ctx->client_ip, ctx->local_port};
      http::Response sub_resp;
      const LocationRoute* route = site->match(sub_path);
      http::Handler* h = route && route->handler ? route->handler : site->static_handler.get();
      h->handle(sctx, sub_resp);
      if (sub_resp.status == 200 && !sub_resp.use_error_page) {
        resp_.clear();
        resp_.status = status;
        // Keep the sub-response's entity headers (Content-Type...), not its validators.
        std::string_view block = sub_resp.header_block();
        while (!block.empty()) {
          size_t eol = block.find("\r\n");
          std::string_view line = block.substr(0, eol);
          size_t colon = line.find(':');
          std::string_view name = line.substr(0, colon);
          if (colon != std::string_view::npos && http::iequals(name, "Content-Type"))
            resp_.add_header(name, line.substr(colon + 2));
          if (eol == std::string_view::npos) break;
          block.remove_prefix(eol + 2);
        }
        for (size_t i = 0; i < sub_resp.part_count(); ++i) {
          const auto& p = sub_resp.parts()[i];
          if (p.file) resp_.add_file(p.file, p.offset, p.length);
          else resp_.add_text(p.text);
        }
        return;
      }
    }
    // Fall through to the built-in page when the document cannot be served.
    doc = nullptr;
  }
  if (doc && doc->kind == config::ErrorDocument::Kind::Redirect) {
    resp_.status = 302;
    resp_.add_header("Location", doc->value);
    resp_.add_header("Content-Type", "text/html; charset=utf-8");
    render_error_page(302, resp_);
    return;
  }
  if (doc && doc->kind == config::ErrorDocument::Kind::Text) {
    resp_.add_header("Content-Type", "text/html; charset=utf-8");
    resp_.add_text(doc->value);
    return;
  }
  if (status == 405 && !resp_.has_header("Allow")) resp_.add_header("Allow", "GET, HEAD, OPTIONS");
  resp_.add_header("Content-Type", "text/html; charset=utf-8");
  render_error_page(status, resp_);
}

void Connection::queue_response() {
  const auto& cfg = w_.runtime().config();
  // Statuses after which the request stream cannot be trusted close the
  // connection (Apache's ap_status_drops_connection).
  switch (resp_.status) {
    case 400: case 408: case 411: case 413: case 414: case 417: case 500: case 501: case 503:
      keep_alive_ = false;
      break;
    default: break;
  }
  out_.clear();
  out_pos_ = 0;
  segs_.clear();
  seg_idx_ = 0;
  seg_mem_done_ = 0;
  bytes_out_ = 0;
  body_bytes_ = 0;

  int status = resp_.status;
  out_.append("HTTP/1.1 ");
  append_number(out_, static_cast<uint64_t>(status));
  out_.push_back(' ');
  out_.append(http::reason_phrase(status));
  out_.append("\r\nDate: ");
  out_.append(w_.loop().http_date());
  out_.append("\r\nServer: ");
  out_.append(cfg.server_tokens);
  out_.append("\r\n");
  out_.append(resp_.header_block());
  bool no_body = status == 304 || status == 204 || (status >= 100 && status < 200);
  uint64_t clen = resp_.content_length();
  if (!no_body) {
    out_.append("Content-Length: ");
    append_number(out_, clen);
    out_.append("\r\n");
  }
  if (!keep_alive_for_head()) {
    out_.append("Connection: close\r\n");
  } else if (head_.version_minor == 0) {
    out_.append("Connection: keep-alive\r\n");
  }
  out_.append("\r\n");

  bool send_body = !no_body && head_.method != http::Method::Head;
  Segment seg;
  if (send_body) {
    for (size_t i = 0; i < resp_.part_count(); ++i) {
      const auto& p = resp_.parts()[i];
      if (!p.file) {
        out_.append(p.text);
        continue;
      }
      bool use_sendfile = cfg.enable_sendfile && transport_->can_sendfile() && p.length > kInlineFileMax;
      if (p.length <= kInlineFileMax) {
        // Small file: read it into the same write as the headers.
        size_t at = out_.size();
        out_.resize(at + p.length);
        ssize_t n = ::pread(p.file->fd, out_.data() + at, p.length, static_cast<off_t>(p.offset));
        if (n != static_cast<ssize_t>(p.length)) {
          out_.resize(at);
          keep_alive_ = false;  // file changed under us: the client sees a short body and a close
          break;
        }
        continue;
      }
      (void)use_sendfile;
      seg.mem_len = out_.size() - out_pos_;
      seg.file = p.file;
      seg.offset = p.offset;
      seg.length = p.length;
      segs_.push_back(seg);
      out_pos_ = out_.size();
    }
    body_bytes_ = clen;
  }
  seg.mem_len = out_.size() - out_pos_;
  seg.file.reset();
  seg.length = 0;
  segs_.push_back(seg);
  out_pos_ = 0;
  phase_ = Phase::Write;
  mark(core::shm::SlotState::Writing);
  w_.loop().timers().arm(*this, w_.loop().now_ms() + static_cast<uint64_t>(cfg.timeout.count()));
}

bool Connection::flush() {
  const auto& cfg = w_.runtime().config();
  bool progressed = false;
  while (seg_idx_ < segs_.size()) {
    Segment& s = segs_[seg_idx_];
    if (seg_mem_done_ < s.mem_len) {
      if (!writable_) break;
      struct iovec iov{out_.data() + out_pos_, s.mem_len - seg_mem_done_};
      ssize_t n = transport_->writev(&iov, 1);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          writable_ = false;
          break;
        }
        if (errno == EINTR) continue;
        abort_request();
        return false;
      }
      out_pos_ += static_cast<size_t>(n);
      seg_mem_done_ += static_cast<size_t>(n);
      bytes_out_ += static_cast<uint64_t>(n);
      progressed = true;
      continue;
    }
    if (s.length > 0) {
      if (!writable_) break;
      ssize_t n;
      if (cfg.enable_sendfile && transport_->can_sendfile()) {
        off_t off = static_cast<off_t>(s.offset);
        n = transport_->sendfile(s.file->fd, &off, std::min<uint64_t>(s.length, kSendfileChunk));
        if (n > 0) w_.row().sendfile_bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        if (n == 0) {  // file shrank: the promised length cannot be sent
          abort_request();
          return false;
        }
      } else {
        if (copy_pos_ == copy_len_) {
          if (!copy_buf_) copy_buf_ = std::make_unique<char[]>(kCopyChunk);
          ssize_t r = ::pread(s.file->fd, copy_buf_.get(), std::min<uint64_t>(s.length, kCopyChunk),
                              static_cast<off_t>(s.offset));
          if (r <= 0) {
            abort_request();
            return false;
          }
          copy_len_ = static_cast<size_t>(r);
          copy_pos_ = 0;
        }
        struct iovec iov{copy_buf_.get() + copy_pos_, copy_len_ - copy_pos_};
        n = transport_->writev(&iov, 1);
        if (n > 0) copy_pos_ += static_cast<size_t>(n);
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          writable_ = false;
          break;
        }
        if (errno == EINTR) continue;
        abort_request();
        return false;
      }
      s.offset += static_cast<uint64_t>(n);
      s.length -= static_cast<uint64_t>(n);
      bytes_out_ += static_cast<uint64_t>(n);
      progressed = true;
      continue;
    }
    s.file.reset();
    ++seg_idx_;
    seg_mem_done_ = 0;
  }
  if (seg_idx_ < segs_.size()) {
    if (progressed)
      w_.loop().timers().arm(*this, w_.loop().now_ms() + static_cast<uint64_t>(cfg.timeout.count()));
    return false;
  }
  return true;
}

void Connection::finish_request() {
  record_request(keep_alive_ ? '+' : '-');
  // Drop the response's file references now: an idle keep-alive connection
  // must not hold the last file it sent open.
  segs_.clear();
  resp_.clear();
  if (!keep_alive_) {
    start_linger();
    return;
  }
  if (body_left_ > 0 || body_chunked_) {
    phase_ = Phase::DrainBody;
    rbegin_ += head_len_;
    head_len_ = 0;
    arm_read_timer(true);
    return;
  }
  rbegin_ += head_len_;
  head_len_ = 0;
  begin_next();
}

// A response cut short (the client stopped reading, went away, or the
// member's body broke): it is counted and logged like any other, with %X
// "X", and the connection closes at once.
void Connection::abort_request() {
  keep_alive_ = false;
  record_request('X');
  close_now();
}

void Connection::record_request(char conn_status) {
  end_cache_request();
  w_.stats().bytes_out += bytes_out_;
  {
    auto& row = w_.row();
    row.requests.fetch_add(1, std::memory_order_relaxed);
    row.bytes.fetch_add(bytes_out_, std::memory_order_relaxed);
    slot_->access_count.fetch_add(1, std::memory_order_relaxed);
    slot_->bytes_served.fetch_add(bytes_out_, std::memory_order_relaxed);
    slot_->conn_requests.fetch_add(1, std::memory_order_relaxed);
    slot_->conn_bytes.fetch_add(bytes_out_, std::memory_order_relaxed);
    slot_->last_used_ms.store(static_cast<uint64_t>(w_.loop().wall_time()) * 1000, std::memory_order_relaxed);
    slot_->last_duration_us.store(static_cast<uint32_t>(std::min<uint64_t>(now_us() - req_start_us_, UINT32_MAX)),
                                  std::memory_order_relaxed);
    if (w_.extended_status()) publish_request();
    if (const auto* vs = w_.runtime().builtin().vhost_stats; vs && site_)
      vs->at(w_.row_index(), site_->stats_id).record(resp_.status, bytes_out_, now_us() - req_start_us_);
  }
  if (site_ && !site_->access_logs.empty()) {
    LogRecord r;
    bool parsed = head_len_ > 0;
    r.head = parsed ? &head_ : nullptr;
    if (parsed) {
      std::string_view all(head_.method_name.data(), head_len_);
      r.request_line = all.substr(0, all.find('\r'));
      r.path = head_.path;
      r.query = head_.query;
    } else if (rend_ > rbegin_) {
      std::string_view raw(rbuf_.get() + rbegin_, std::min<size_t>(rend_ - rbegin_, 1024));
      r.request_line = raw.substr(0, raw.find_first_of("\r\n"));
    }
    r.client_ip = peer_ip_;
    r.local_port = local_port_;
    std::string local_ip = core::address_text(local_);
    r.local_ip = local_ip;
    r.server_name = site_->cfg->server_name;
    r.host = parsed ? head_.authority : std::string_view();
    r.status = resp_.status;
    r.body_bytes = body_bytes_;
    r.bytes_in = bytes_in_;
    r.bytes_out = bytes_out_;
    r.duration_us = now_us() - req_start_us_;
    r.start_time = req_wall_ ? req_wall_ : w_.loop().wall_time();
    r.response_headers = &resp_.header_block();
    r.keepalive_count = requests_ > 0 ? requests_ - 1 : 0;
    r.connection_status = conn_status;
    thread_local std::string line;
    for (const auto& log : site_->access_logs) {
      line.clear();
      log.format->render(r, line);
      log.sink->append(line);
    }
  }
  bytes_in_ = 0;
}

bool Connection::drain_body() {
  while (rend_ > rbegin_) {
    size_t avail = rend_ - rbegin_;
    if (!body_chunked_) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(avail, body_left_));
      rbegin_ += take;
      body_left_ -= take;
      if (body_left_ == 0) return true;
      continue;
    }
    auto step = chunked_.next({rbuf_.get() + rbegin_, avail});
    rbegin_ += step.consumed;
    if (step.kind == http::ChunkedDecoder::Step::Done) {
      body_chunked_ = false;
      return true;
    }
    if (step.kind == http::ChunkedDecoder::Step::Error) {
      close_now();
      return false;
    }
    if (step.kind == http::ChunkedDecoder::Step::NeedMore) break;
  }
  if (rbegin_ == rend_) rbegin_ = rend_ = 0;
  return !body_chunked_ && body_left_ == 0;
}

void Connection::begin_next() {
  const auto& cfg = w_.runtime().config();
  site_ = nullptr;
  head_.reset();
  if (rbegin_ == rend_) {
    rbegin_ = rend_ = 0;
    // Idle keep-alive connections hold no buffer.
    if (rbuf_ && rcap_ == WorkerLoop::kBufferSize) w_.give_buffer(std::move(rbuf_));
    else rbuf_.reset();
    rcap_ = 0;
  } else if (rbegin_ > 0) {
    std::memmove(rbuf_.get(), rbuf_.get() + rbegin_, rend_ - rbegin_);
    rend_ -= rbegin_;
    rbegin_ = 0;
  }
  // Draining: the response just sent promised keep-alive (its head went out
  // before draining began), so the client may be sending its next request
  // now. A graceful drain waits for it (answered with Connection: close) for
  // the same short grace as connections idle when draining began (see
  // drain()); only a hard stop closes at once.
  if (draining_server_ && !drain_graceful_ && rend_ == rbegin_) {
    close_now();
    return;
  }
  phase_ = Phase::Idle;
  idle_seq_ = w_.next_idle_seq();
  idle_since_ms_ = w_.loop().now_ms();
  mark(draining_server_ ? core::shm::SlotState::Graceful : core::shm::SlotState::KeepAlive);
  uint64_t idle_end = idle_since_ms_ + static_cast<uint64_t>(cfg.keep_alive_timeout.count());
  if (draining_server_) idle_end = std::min(idle_end, idle_since_ms_ + kDrainIdleGraceMs);
  w_.loop().timers().arm(*this, idle_end);
}

void Connection::start_linger() {
  phase_ = Phase::Linger;
  mark(core::shm::SlotState::Closing);
  transport_->shutdown_write();
  w_.loop().timers().arm(*this, w_.loop().now_ms() + kLingerMs);
  readable_ = true;
}

void Connection::close_now() {
  if (phase_ == Phase::Closed) return;
  if (!fetch_only_ && !w_.stopping() && phase_ == Phase::Cache && proxy_ && proxy_->filling_for_store()) {
    // The client left while the fetch it started fills the store for
    // others: the socket goes, the fetch (bounded by its own timeout) stays.
    fetch_only_ = true;
    if (cache_waiting_) {
      w_.cache_waiters().erase(this);
      cache_waiting_ = false;
    }
    cache_.reset();
    core::TimerWheel::cancel(*this);
    w_.loop().remove(transport_->fd());
    ::shutdown(transport_->fd(), SHUT_RDWR);
    mark(core::shm::SlotState::Closing);
    return;
  }
  phase_ = Phase::Closed;
  core::TimerWheel::cancel(*this);
  if (proxy_) w_.retire(std::move(proxy_));  // releases the member connection
  end_cache_request();
  w_.loop().remove(transport_->fd());
  w_.unlink(this);
  // Deleted by the loop after the current callback: see WorkerLoop::unlink.
}

}  // namespace pillar::server

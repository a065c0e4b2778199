#include "server/connection.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/assert.h"
#include "core/clock.h"
#include "core/fault_point.h"
#include "core/log.h"
#include "core/socket_address.h"
#include "core/text.h"
#include "http/authority.h"
#include "http/field_rules.h"
#include "http/request_parser.h"
#include "http/uri.h"
#include "server/error_page.h"
#include <arpa/inet.h>

#include "http/proxy_protocol.h"
#include "server/balancer_runtime.h"
#include "server/cache_phase.h"
#include "server/proxy_exchange.h"
#include "server/site.h"
#include "server/tls_front.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

constexpr uint64_t kLingerMs = 2000;               // Apache's MAX_SECS_TO_LINGER
constexpr uint64_t kDrainIdleGraceMs = 100;         // see Connection::drain
constexpr size_t kMaxHeadBuffer = 1024 * 1024;     // hard cap on a request head held in memory

}  // namespace

Connection::Connection(WorkerLoop& w, int fd, const sockaddr_storage& peer, const sockaddr_storage& local,
                       core::shm::ConnSlot* slot, uint32_t slot_index, std::unique_ptr<core::Transport> transport)
    : w_(w), slot_(slot), slot_index_(slot_index),
      transport_(transport ? std::move(transport) : std::make_unique<core::PlainTransport>(core::Fd(fd))),
      output_(*transport_), conn_peer_(peer), local_(local) {
  output_.set_sendfile(w.runtime().config().enable_sendfile);
  conn_peer_ip_ = core::address_text(conn_peer_);
  req_.client = conn_peer_;
  req_.client_ip = conn_peer_ip_;
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
  events = transport_->readiness(events);  // TLS: an edge of one direction may unblock the other
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) readable_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) output_.on_writable();
  drive();
}

void Connection::on_timer() {
  const auto& cfg = w_.runtime().config();
  switch (phase_) {
    case Phase::Idle:
      close_now();
      return;
    case Phase::ReadHead:
    case Phase::ReadBody:
    case Phase::DrainBody:
      if (w_.loop().now_ms() < read_deadline_) {  // extended by MinRate meanwhile
        w_.loop().timers().arm(*this, read_deadline_);
        return;
      }
      if (phase_ == Phase::ReadBody) {
        respond_error(408, "request body read timeout");
        drive();
      } else if (phase_ == Phase::ReadHead && rend_ > rbegin_) {
        respond_error(408, "request header read timeout");
        drive();
      } else {
        close_now();
      }
      return;
    case Phase::Write:
      core::log(core::LogLevel::Info, "core", "[client {}] send timeout ({} ms)", req_.client_ip, cfg.timeout.count());
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
      if (output_.written() != cache_seen_bytes_) {
        cache_seen_bytes_ = output_.written();
        cache_progress_ms_ = now;
      } else if (cache_->head_sent() && now >= cache_progress_ms_ + static_cast<uint64_t>(cfg.timeout.count())) {
        core::log(core::LogLevel::Info, "core", "[client {}] send timeout ({} ms)", req_.client_ip, cfg.timeout.count());
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
  copy(slot_->client, sizeof slot_->client, req_.client_ip);
  copy(slot_->vhost, sizeof slot_->vhost, req_.site ? std::string_view(req_.site->cfg->server_name) : std::string_view());
  std::string_view line;
  if (req_.head_len > 0) {
    std::string_view all(req_.head.method_name.data(), req_.head_len);
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
    core::Io r = transport_->read(scratch.get(), WorkerLoop::kBufferSize);
    if (!r.ok()) {
      note_read_end(r);
      return false;
    }
    rbuf_ = w_.take_buffer();
    rcap_ = WorkerLoop::kBufferSize;
    rbegin_ = 0;
    rend_ = r.n;
    std::memcpy(rbuf_.get(), scratch.get(), rend_);
    req_.bytes_in += r.n;
    note_read_progress(r.n);
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
  core::Io r = transport_->read(rbuf_.get() + rend_, rcap_ - rend_);
  if (r.ok()) {
    rend_ += r.n;
    req_.bytes_in += r.n;
    note_read_progress(r.n);
    return true;
  }
  note_read_end(r);
  return false;
}

void Connection::note_read_end(const core::Io& r) {
  if (r.again()) readable_ = false;
  else peer_eof_ = true;  // EOF or an error: nothing more comes
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
            req_.start_ms = w_.loop().now_ms();
            req_.start_us = core::mono_us();
            req_.wall = w_.loop().wall_time();
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
          auto out = http::parse_request_head({rbuf_.get() + rbegin_, rend_ - rbegin_}, limits, req_.head);
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
        if (batch_with_next()) {
          finish_request();
          if (phase_ == Phase::Closed) return;
          continue;
        }
        batched_ = 0;
        if (!flush_output()) return;
        finish_request();
        if (phase_ == Phase::Closed) return;
        continue;
      case Phase::ReadBody:
        if (!read_handler_body()) {
          if (phase_ == Phase::Closed || !readable_) return;
          continue;
        }
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
          core::Io r = transport_->read(sink, sizeof sink);
          if (r.ok()) continue;
          if (r.again()) return;
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
          case CacheDelivery::Step::Queued:  // the whole response is queued: the Write phase sends it
          case CacheDelivery::Step::Done:    // streamed: nothing left to write
            req_.resp.status = cache_->status();
            req_.body_bytes = cache_->body_bytes();
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
    core::log(core::LogLevel::Error, "remoteip", "[client {}] {}; connection closed", req_.client_ip, h.reason);
    close_now();
    return false;
  }
  if (h.kind == http::ProxyHeader::Kind::Proxied) {
    conn_peer_ = h.source;
    conn_peer_ip_ = core::address_text(conn_peer_);
    req_.client = conn_peer_;
    req_.client_ip = conn_peer_ip_;
  }
  rbegin_ += h.consumed;
  proxy_header_pending_ = false;
  return true;
}

// mod_remoteip: behind trusted proxies, the client is the rightmost address
// of RemoteIPHeader that is not itself a trusted proxy.
void Connection::apply_remote_ip() {
  req_.client = conn_peer_;
  req_.client_ip = conn_peer_ip_;
  const auto& cfg = w_.runtime().config();
  if (cfg.remoteip_header.empty()) return;
  auto trusted = [&](const sockaddr_storage& a) {
    for (const auto& n : cfg.remoteip_trusted) {
      if (n.contains(a)) return true;
    }
    return false;
  };
  if (!trusted(conn_peer_)) return;
  std::string_view list = req_.head.find(cfg.remoteip_header);
  while (!list.empty()) {
    size_t comma = list.rfind(',');
    std::string_view item = comma == std::string_view::npos ? list : list.substr(comma + 1);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
    item = core::trim_ows(item);
    sockaddr_storage a{};
    std::string text(item);
    auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
    if (inet_pton(AF_INET, text.c_str(), &a4->sin_addr) == 1) a.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, text.c_str(), &a6->sin6_addr) == 1) a.ss_family = AF_INET6;
    else return;  // garbage: keep what we have (never trust a malformed list)
    req_.client = a;
    req_.client_ip = text;
    if (!trusted(a)) return;
  }
}

// The request's phases, in order (Varnish's steps, nginx's phases): each
// answers the request, hands it to an exchange that answers later, or
// passes it on. The log phase is record_request, when the answer is done.
const Connection::RequestPhase Connection::kRequestPhases[] = {
    &Connection::phase_route,    // vhost, path, <Location>
    &Connection::phase_purge,    // PURGE of a cached URL
    &Connection::phase_access,   // Require of the location
    &Connection::phase_limits,   // LimitRequestBody
    &Connection::phase_proxy,    // cache lookup, then the proxy (a proxied location)
    &Connection::phase_content,  // the location's handler
};

void Connection::process_request(size_t head_len) {
  mark(core::shm::SlotState::Writing);  // mod_status: W from the end of the head to the last byte
  PILLAR_FAULT_POINT("request.process");  // tests: a worker stuck (or dying) in the request path
  req_.head_len = head_len;
  apply_remote_ip();
  ++requests_;
  ++w_.stats().requests;
  const auto& cfg = w_.runtime().config();
  keep_alive_ = req_.head.keep_alive && cfg.keep_alive && !draining_server_ &&
                (cfg.max_keep_alive_requests == 0 || requests_ < cfg.max_keep_alive_requests);
  // The request body: read by an exchange that wants it (the proxy), else
  // discarded after the response (DrainBody) when small, or not read at all
  // (the connection closes) when large, chunked or announced by Expect.
  req_.body_chunked = req_.head.chunked;
  req_.body_left = req_.head.has_content_length ? req_.head.content_length : 0;
  if (req_.body_chunked) req_.chunked.reset();
  body_.reset(rbegin_ + head_len, req_.head.expect_continue);
  for (RequestPhase phase : kRequestPhases) {
    if ((this->*phase)() == PhaseStep::Handled) return;
  }
  PILLAR_ASSERT(false && "the content phase always answers");
}

Connection::PhaseStep Connection::phase_route() {
  const auto& rt = w_.runtime();
  http::authority_host(req_.head.authority, req_.host);  // checked by the parser; none (HTTP/1.0): empty
  req_.site = &rt.site_for(local_, req_.host);
  req_.resp.clear();
  req_.https = transport_->secure();
  if (req_.https) {
    if (int status = tls_request_check(rt, *transport_, local_, req_)) {
      respond_error(status, status == 421 ? "the Host names a vhost the TLS handshake (SNI) did not select"
                                          : "a client without SNI to a vhost with SSLStrictSNIVHostCheck");
      return PhaseStep::Handled;
    }
  }
  // The path is decoded and routed once; proxied locations stream the
  // request body to the member themselves.
  req_.path_error = 0;
  const bool path_ok = req_.head.path != "*" && http::normalize_path(req_.head.path, req_.path, req_.path_error);
  if (!path_ok && req_.path_error == 0) req_.path_error = 400;  // "*" (OPTIONS * is answered by the content phase)
  req_.route = path_ok ? req_.site->match(req_.path, req_.head, req_.client) : nullptr;
  return PhaseStep::Next;
}

Connection::PhaseStep Connection::phase_purge() {
  if (req_.head.method != http::Method::Purge || req_.path_error || !w_.runtime().cache() ||
      req_.site->cfg->cache.rules.empty())
    return PhaseStep::Next;
  answer_purge();
  return PhaseStep::Handled;
}

Connection::PhaseStep Connection::phase_access() {
  const LocationRoute* route = req_.route;
  req_.access_ok = !route || route->cfg->access.empty() || route->cfg->access.allows(req_.client);
  return PhaseStep::Next;  // a refusal is answered by the content phase, after the method checks (403)
}

Connection::PhaseStep Connection::phase_limits() {
  const auto& cfg = w_.runtime().config();
  if (!req_.head.has_content_length || !cfg.limit_request_body || req_.head.content_length <= cfg.limit_request_body)
    return PhaseStep::Next;
  respond_error(413, "request body larger than LimitRequestBody");
  return PhaseStep::Handled;
}

// A proxied location forwards any method the parser took as a token
// (WebDAV's PROPFIND, SSDP's M-SEARCH...): the member decides, as in Apache.
Connection::PhaseStep Connection::phase_proxy() {
  const LocationRoute* route = req_.route;
  if (!route || !route->balancer || !req_.access_ok) return PhaseStep::Next;
  // Answers batched before this one leave now: this one may take a while.
  if (!output_.empty() && output_.flush() == http1::Output::Result::Error) {
    abort_request();
    return PhaseStep::Handled;
  }
  if (!begin_cache(*route)) start_proxy(*route);
  return PhaseStep::Handled;
}

Connection::PhaseStep Connection::phase_content() {
  const LocationRoute* route = req_.route;
  http::Handler* handler = route && route->handler ? route->handler : req_.site->static_handler.get();
  if (!req_.path_error && req_.access_ok && handler->body_limit() > 0 && !body_.done() &&
      req_.head.method != http::Method::Other) {
    // A handler that reads the body (a form POST): read it, then answer.
    if (req_.head.has_content_length && req_.head.content_length > handler->body_limit()) {
      respond_error(413, "request body larger than the handler takes");
      return PhaseStep::Handled;
    }
    if (!output_.empty() && output_.flush() == http1::Output::Result::Error) {
      abort_request();
      return PhaseStep::Handled;
    }
    handler_ = handler;
    req_.body_text.clear();
    phase_ = Phase::ReadBody;
    arm_read_timer(true);
    return PhaseStep::Handled;
  }
  if (req_.body_chunked || req_.body_left > http::RequestBody::kDiscardMax || (req_.head.expect_continue && req_.body_left > 0))
    keep_alive_ = false;
  run_handler(req_.access_ok ? handler : nullptr, req_.path_error);
  return PhaseStep::Handled;
}

// Reads the request body for handler_ into body_text; true once it is whole
// (or the request was answered with an error instead).
bool Connection::read_handler_body() {
  for (;;) {
    std::string_view data;
    size_t room = handler_->body_limit() - std::min(handler_->body_limit(), req_.body_text.size());
    switch (body_.read(data, room + 1)) {
      case http::RequestBody::Status::Data:
        req_.body_text.append(data);
        if (req_.body_text.size() > handler_->body_limit()) {
          respond_error(413, "request body larger than the handler takes");
          return true;
        }
        continue;
      case http::RequestBody::Status::End:
        run_handler(handler_, 0);
        return true;
      case http::RequestBody::Status::Again:
        return false;
      case http::RequestBody::Status::Bad:
        respond_error(400, "malformed chunked request body");
        return true;
      case http::RequestBody::Status::Gone:
        close_now();
        return true;
    }
  }
}

// `h` null: the location's Require refused the client (403); `path_error`:
// the status for a path that did not normalize (0 when it did).
void Connection::run_handler(http::Handler* h, int path_error) {
  handler_ = nullptr;
  if (req_.head.method == http::Method::Other) {
    req_.resp.error(501);
  } else if (req_.head.method == http::Method::Trace || req_.head.method == http::Method::Connect) {
    req_.resp.error(405);
  } else if (req_.head.path == "*") {
    if (req_.head.method == http::Method::Options) {
      req_.resp.add_header("Allow", "GET, HEAD, OPTIONS");
    } else {
      req_.resp.error(400);
    }
  } else if (path_error) {
    req_.resp.error(path_error);
  } else {
    http::RequestContext ctx{req_.head, req_.path, req_.host, req_.client, req_.client_ip, local_port_, req_.body_text};
    if (!h) {
      req_.resp.error(403);
    } else {
      h->handle(ctx, req_.resp);
    }
    if (req_.resp.use_error_page) apply_error_page(req_.site, &ctx);
  }
  if (req_.resp.use_error_page) apply_error_page(req_.site, nullptr);
  if (req_.resp.close_connection) keep_alive_ = false;
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
    if (target.empty() || target[0] != '/') target.insert(target.begin(), '/');  // (not insert(0, "/"): GCC 12 -Wrestrict false positive)
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
  std::string target = proxy_target(route.target_cfg(), req_.head, req_.path);
  core::TimerWheel::cancel(*this);  // the exchange runs the member's timers now
  phase_ = Phase::Proxy;
  req_.route = &route;
  proxy_ = std::make_unique<ProxyExchange>(*this, w_, *route.balancer, req_, local_, *slot_, std::move(target));
  if (x_cache && req_.site->cfg->cache.header) proxy_->set_x_cache(x_cache);
  if (fill) {
    proxy_->set_fill(std::move(fill));
    proxy_->set_handover(
        [this](uint64_t offset, uint64_t body_end, int status) { continue_from_cache(offset, body_end, status); });
  }
  if (req_.head.chunked || req_.head.content_length > 0) arm_read_timer(true);  // the body's, see on_timer
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
    req_.resp.status = p->status();
    req_.body_bytes = p->body_bytes();
    w_.retire(std::move(p));
    if (answered) abort_request();
    else close_now();
    return;
  }
  size_t cursor = body_.cursor();
  if (body_.overread()) keep_alive_ = false;  // bytes past the body: a next request we cannot put back
  if (p->failed()) {
    int status = p->status();
    w_.retire(std::move(p));
    if (cache_pins_[0] && serve_stale(true)) return;  // a stale copy may answer (stale-if-error)
    keep_alive_ = false;  // the request body may be half read
    req_.resp.error(status);
    apply_error_page(req_.site, nullptr);
    queue_response();
    return;
  }
  req_.resp.status = p->status();
  req_.body_bytes = p->body_bytes();
  // Body bytes the exchange took from the read buffer: finish_request skips
  // the head, and the rest of a pipelined next request stays.
  if (cursor >= rbegin_ + req_.head_len && cursor <= rend_) rbegin_ = cursor - req_.head_len;
  w_.retire(std::move(p));
  phase_ = Phase::Write;
  finish_request();
}

void Connection::respond_error(int status, const char* reason) {
  core::log(core::LogLevel::Info, "core", "[client {}] {} {}", req_.client_ip, status, reason);
  if (phase_ == Phase::Idle || phase_ == Phase::ReadHead) {
    req_.head.reset();
    req_.head_len = 0;
  }
  ++requests_;
  keep_alive_ = false;
  req_.body_left = 0;
  req_.body_chunked = false;
  // A head refused before routing is logged by the default vhost of the
  // address it came to (Apache's rule), not only by the main server.
  if (!req_.site) req_.site = &w_.runtime().site_for(local_, {});
  req_.resp.error(status);
  apply_error_page(req_.site, nullptr);
  queue_response();
}

void Connection::apply_error_page(const Site* site, const http::RequestContext* ctx) {
  int status = req_.resp.status;
  const config::ErrorDocument* doc = nullptr;
  if (site) {
    auto it = site->cfg->error_documents.find(status);
    if (it != site->cfg->error_documents.end()) doc = &it->second;
  }
  req_.resp.use_error_page = false;
  if (doc && doc->kind == config::ErrorDocument::Kind::LocalPath && ctx) {
    // Internal redirect: serve the local document as a GET, keep the status.
    http::RequestHead sub = req_.head;
    sub.method = http::Method::Get;
    sub.method_name = "GET";
    std::erase_if(sub.headers, [](const http::HeaderField& f) { return http::conditional_or_range(f.name); });
    std::string sub_path;
    int st = 0;
    if (http::normalize_path(doc->value, sub_path, st)) {
      std::string saved_headers = req_.resp.header_block();
      http::RequestContext sctx{sub, sub_path, ctx->host, ctx->client, ctx->client_ip, ctx->local_port};
      http::Response sub_resp;
      const LocationRoute* route = site->match(sub_path);
      http::Handler* h = route && route->handler ? route->handler : site->static_handler.get();
      h->handle(sctx, sub_resp);
      if (sub_resp.status == 200 && !sub_resp.use_error_page) {
        req_.resp.clear();
        req_.resp.status = status;
        // Keep the sub-response's entity headers (Content-Type...), not its validators.
        std::string_view block = sub_resp.header_block();
        while (!block.empty()) {
          size_t eol = block.find("\r\n");
          std::string_view line = block.substr(0, eol);
          size_t colon = line.find(':');
          std::string_view name = line.substr(0, colon);
          if (colon != std::string_view::npos && http::iequals(name, "Content-Type"))
            req_.resp.add_header(name, line.substr(colon + 2));
          if (eol == std::string_view::npos) break;
          block.remove_prefix(eol + 2);
        }
        for (size_t i = 0; i < sub_resp.part_count(); ++i) {
          const auto& p = sub_resp.parts()[i];
          if (p.file) req_.resp.add_file(p.file, p.offset, p.length);
          else req_.resp.add_text(p.text);
        }
        return;
      }
    }
    // Fall through to the built-in page when the document cannot be served.
    doc = nullptr;
  }
  if (doc && doc->kind == config::ErrorDocument::Kind::Redirect) {
    req_.resp.status = 302;
    req_.resp.add_header("Location", doc->value);
    req_.resp.add_header("Content-Type", "text/html; charset=utf-8");
    render_error_page(302, req_.resp);
    return;
  }
  if (doc && doc->kind == config::ErrorDocument::Kind::Text) {
    req_.resp.add_header("Content-Type", "text/html; charset=utf-8");
    req_.resp.add_text(doc->value);
    return;
  }
  if (status == 405 && !req_.resp.has_header("Allow")) req_.resp.add_header("Allow", "GET, HEAD, OPTIONS");
  req_.resp.add_header("Content-Type", "text/html; charset=utf-8");
  render_error_page(status, req_.resp);
}

http1::HeadEnd Connection::finish_head(std::string& out, http1::BodyLength body, uint64_t length) {
  if (draining_server_) keep_alive_ = false;
  http1::HeadEnd e = http1::end_head(out, body, length, req_.head.version_minor, keep_alive_);
  keep_alive_ = e.keep_alive;
  return e;
}

void Connection::queue_response() {
  const auto& cfg = w_.runtime().config();
  // Statuses after which the request stream cannot be trusted close the
  // connection (Apache's ap_status_drops_connection).
  switch (req_.resp.status) {
    case 400: case 408: case 411: case 413: case 414: case 417: case 500: case 501: case 503:
      keep_alive_ = false;
      break;
    default: break;
  }
  req_.body_bytes = 0;
  std::string& out = output_.text();
  int status = req_.resp.status;
  http1::begin_head(out, status);
  out.append("Date: ");
  out.append(w_.loop().http_date());
  out.append("\r\nServer: ");
  out.append(cfg.server_tokens);
  out.append("\r\n");
  out.append(req_.resp.header_block());
  bool no_body = status == 304 || status == 204 || (status >= 100 && status < 200);
  uint64_t clen = req_.resp.content_length();
  finish_head(out, no_body ? http1::BodyLength::None : http1::BodyLength::Known, clen);

  if (!no_body && req_.head.method != http::Method::Head) {
    for (size_t i = 0; i < req_.resp.part_count(); ++i) {
      const auto& p = req_.resp.parts()[i];
      if (!p.file) {
        output_.append(p.text);
      } else if (!output_.add_file(p.file, p.offset, p.length)) {
        keep_alive_ = false;  // file changed under us: the client sees a short body and a close
        break;
      }
    }
    req_.body_bytes = clen;
  }
  phase_ = Phase::Write;
  mark(core::shm::SlotState::Writing);
  w_.loop().timers().arm(*this, w_.loop().now_ms() + static_cast<uint64_t>(cfg.timeout.count()));
}

bool Connection::flush_output() {
  uint64_t before = output_.written(), sendfile_before = output_.sendfile_bytes();
  auto r = output_.flush();
  if (uint64_t n = output_.sendfile_bytes() - sendfile_before)
    w_.row().sendfile_bytes.fetch_add(n, std::memory_order_relaxed);  // pillar_sendfile_bytes_total
  switch (r) {
    case http1::Output::Result::Done:
      return true;
    case http1::Output::Result::Again:
      if (output_.written() != before)
        w_.loop().timers().arm(*this, w_.loop().now_ms() + static_cast<uint64_t>(w_.runtime().config().timeout.count()));
      return false;
    case http1::Output::Result::Error:
      break;
  }
  abort_request();
  return false;
}

bool Connection::batch_with_next() {
  constexpr uint32_t kBatchMax = 32;           // responses per write
  constexpr uint64_t kBatchBytes = 64 * 1024;  // memory held for them
  if (!keep_alive_ || req_.body_left > 0 || req_.body_chunked || !output_.memory_only() ||
      output_.pending() >= kBatchBytes || batched_ >= kBatchMax)
    return false;
  // The next request's head is already here, whole: answer it first.
  size_t next = rbegin_ + req_.head_len;
  if (next >= rend_) return false;
  std::string_view rest(rbuf_.get() + next, rend_ - next);
  if (rest.find("\r\n\r\n") == std::string_view::npos && rest.find("\n\n") == std::string_view::npos) return false;
  ++batched_;
  return true;
}

void Connection::finish_request() {
  record_request(keep_alive_ ? '+' : '-');
  req_.resp.clear();
  if (!keep_alive_) {
    start_linger();
    return;
  }
  if (req_.body_left > 0 || req_.body_chunked) {
    phase_ = Phase::DrainBody;
    rbegin_ += req_.head_len;
    req_.head_len = 0;
    arm_read_timer(true);
    return;
  }
  rbegin_ += req_.head_len;
  req_.head_len = 0;
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
  const uint64_t sent = bytes_out(conn_status == 'X');
  w_.stats().bytes_out += sent;
  {
    auto& row = w_.row();
    row.requests.fetch_add(1, std::memory_order_relaxed);
    row.bytes.fetch_add(sent, std::memory_order_relaxed);
    slot_->access_count.fetch_add(1, std::memory_order_relaxed);
    slot_->bytes_served.fetch_add(sent, std::memory_order_relaxed);
    slot_->conn_requests.fetch_add(1, std::memory_order_relaxed);
    slot_->conn_bytes.fetch_add(sent, std::memory_order_relaxed);
    slot_->last_used_ms.store(static_cast<uint64_t>(w_.loop().wall_time()) * 1000, std::memory_order_relaxed);
    slot_->last_duration_us.store(static_cast<uint32_t>(std::min<uint64_t>(core::mono_us() - req_.start_us, UINT32_MAX)),
                                  std::memory_order_relaxed);
    if (w_.extended_status()) publish_request();
    if (const auto* vs = w_.runtime().builtin().vhost_stats; vs && req_.site)
      vs->at(w_.row_index(), req_.site->stats_id).record(req_.resp.status, sent, core::mono_us() - req_.start_us);
  }
  if (req_.site && !req_.site->access_logs.empty()) {
    LogRecord r;
    bool parsed = req_.head_len > 0;
    r.head = parsed ? &req_.head : nullptr;
    if (parsed) {
      std::string_view all(req_.head.method_name.data(), req_.head_len);
      r.request_line = all.substr(0, all.find('\r'));
      r.path = req_.head.path;
      r.query = req_.head.query;
    } else if (rend_ > rbegin_) {
      std::string_view raw(rbuf_.get() + rbegin_, std::min<size_t>(rend_ - rbegin_, 1024));
      r.request_line = raw.substr(0, raw.find_first_of("\r\n"));
    }
    r.client_ip = req_.client_ip;
    r.local_port = local_port_;
    std::string local_ip = core::address_text(local_);
    r.local_ip = local_ip;
    r.server_name = req_.site->cfg->server_name;
    r.host = parsed ? req_.head.authority : std::string_view();
    r.status = req_.resp.status;
    r.body_bytes = req_.body_bytes;
    r.bytes_in = req_.bytes_in;
    r.bytes_out = sent;
    r.duration_us = core::mono_us() - req_.start_us;
    r.start_time = req_.wall ? req_.wall : w_.loop().wall_time();
    r.response_headers = &req_.resp.header_block();
    r.keepalive_count = requests_ > 0 ? requests_ - 1 : 0;
    r.connection_status = conn_status;
    r.transport = transport_.get();
    thread_local std::string line;
    for (const auto& log : req_.site->access_logs) {
      line.clear();
      log.format->render(r, line);
      log.sink->append(line);
    }
  }
  req_.bytes_in = 0;
  req_.out_mark = output_.written() + output_.pending();
}

bool Connection::drain_body() {
  while (rend_ > rbegin_) {
    size_t avail = rend_ - rbegin_;
    if (!req_.body_chunked) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(avail, req_.body_left));
      rbegin_ += take;
      req_.body_left -= take;
      if (req_.body_left == 0) return true;
      continue;
    }
    auto step = req_.chunked.next({rbuf_.get() + rbegin_, avail});
    rbegin_ += step.consumed;
    if (step.kind == http::ChunkedDecoder::Step::Done) {
      req_.body_chunked = false;
      return true;
    }
    if (step.kind == http::ChunkedDecoder::Step::Error) {
      close_now();
      return false;
    }
    if (step.kind == http::ChunkedDecoder::Step::NeedMore) break;
  }
  if (rbegin_ == rend_) rbegin_ = rend_ = 0;
  return !req_.body_chunked && req_.body_left == 0;
}

void Connection::begin_next() {
  const auto& cfg = w_.runtime().config();
  req_.site = nullptr;
  req_.head.reset();
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

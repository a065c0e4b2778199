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
#include "http/field_rules.h"
#include "http/request_parser.h"
#include "server/error_page.h"
#include "server/http1/client_address.h"
#include "server/request/error_document.h"
#include "server/request/handler_exchange.h"
#include "server/request/access_logging.h"
#include "server/request/response_filters.h"

#include "http/proxy_protocol.h"
#include "server/http2/session.h"
#include "server/metadata/request_metadata.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

constexpr uint64_t kLingerMs = 2000;               // Apache's MAX_SECS_TO_LINGER
constexpr uint64_t kDrainIdleGraceMs = 100;         // see Connection::drain
constexpr size_t kMaxHeadBuffer = 1024 * 1024;     // hard cap on a request head held in memory

}  // namespace

Connection::Connection(WorkerLoop& w, int fd, const sockaddr_storage& peer, const sockaddr_storage& local,
                       core::shm::ConnSlot* slot, uint32_t slot_index, std::unique_ptr<core::Transport> transport,
                       std::unique_ptr<RequestSeed> seed)
    : w_(w), slot_(slot), slot_index_(slot_index),
      transport_(transport ? std::move(transport) : std::make_unique<core::PlainTransport>(core::Fd(fd))),
      output_(*transport_), conn_peer_(peer), local_(local) {
  output_.set_sendfile(w.runtime().config().enable_sendfile);
  conn_peer_ip_ = core::address_text(conn_peer_);
  req_.client = conn_peer_;
  req_.client_ip = conn_peer_ip_;
  // An internal request comes from this server, not through a PROXY-protocol listener.
  proxy_header_pending_ = !seed && w.runtime().config().remoteip_proxy_protocol;
  req_.seed = std::move(seed);
  local_port_ = core::address_port(local_);
}

Connection::~Connection() {
  if (rbuf_ && rcap_ == WorkerLoop::kBufferSize) w_.give_buffer(std::move(rbuf_));
}

void Connection::start() {
  w_.link(this);
  w_.loop().add(transport_->fd(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
  phase_ = Phase::Idle;
  // Counted for its client now, or once a PROXY header has said who that is.
  if (!proxy_header_pending_ && !req_.seed) over_client_limit_ = !w_.admit_client(*slot_, conn_peer_);
  // A new connection gets the header timeout, not the keep-alive one.
  arm_read_timer(false);
  drive();
}

void Connection::on_io(uint32_t events) {
  events = transport_->readiness(events);  // TLS: an edge of one direction may unblock the other
  if (h2_) return h2_->on_io(events);
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) readable_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) output_.on_writable();
  drive();
}

void Connection::on_timer() {
  if (h2_) return;  // the session times itself
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
      core::log(core::LogLevel::Info, "core", "[client {}] send timeout ({} ms)", req_.client_ip, cfg.timeout.count());
      abort_request();
      return;
    case Phase::Linger:
    case Phase::Closed:
      close_now();
      return;
    case Phase::Exchange:
      // The exchange times its own work; this timer is the request body's
      // (RequestReadTimeout body=, extended by MinRate), as when a body is
      // read for any other handler.
      if (!exchange_->reading_body()) return;
      if (w_.loop().now_ms() < read_deadline_) {
        w_.loop().timers().arm(*this, read_deadline_);
        return;
      }
      exchange_->body_timeout();
      drive();
      return;
    case Phase::Detached:
      return;
  }
}

void Connection::wake() {
  if (phase_ == Phase::Detached) {
    if (exchange_->proceed() == http::Exchange::Step::Done) close_now();
    return;
  }
  drive();
}

void Connection::drain(bool graceful) {
  if (h2_) return h2_->drain(graceful);
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
  if (h2_) return h2_->close_if_idle();
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
  copy(slot_->request, sizeof slot_->request, req_.head_len > 0 ? req_.request_line : std::string_view());
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
          if (requests_ == 0 && start_http2()) return;  // HTTP/2 (server/http2/handover.cpp)
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
      case Phase::Exchange:
        if (exchange_->proceed() == http::Exchange::Step::Again) return;
        end_exchange();
        if (phase_ == Phase::Closed) return;
        continue;
      case Phase::Detached:
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
  over_client_limit_ = !w_.admit_client(*slot_, conn_peer_);
  return true;
}

void Connection::process_request(size_t head_len) {
  mark(core::shm::SlotState::Writing);  // mod_status: W from the end of the head to the last byte
  req_.set_head_length(head_len);
  http1::apply_remote_ip(w_.runtime().config(), conn_peer_, conn_peer_ip_, req_.head, req_.client, req_.client_ip);
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
  run_request_phases(*this);
}

// Answers batched before this request leave now: it may take a while.
bool Connection::flush_ahead() {
  if (output_.empty() || output_.flush() != http1::Output::Result::Error) return true;
  abort_request();
  return false;
}

// The exchange runs the request from here; the connection's timer is the
// request body's while the exchange reads one.
void Connection::run_exchange(std::unique_ptr<http::Exchange> x) {
  owned_exchange_ = std::move(x);
  run_exchange(*owned_exchange_);
}

void Connection::run_exchange(http::Exchange& x) {
  exchange_ = &x;
  phase_ = Phase::Exchange;
  if (req_.head.chunked || req_.head.content_length > 0) arm_read_timer(true);  // see on_timer
  else core::TimerWheel::cancel(*this);
}

void Connection::release_exchange() {
  exchange_ = nullptr;
  if (owned_exchange_) w_.retire(std::move(owned_exchange_));  // it may be inside its own callback
}

// The exchange is done: log and go on (keep-alive), close after a cut
// response, or answer its error.
void Connection::end_exchange() {
  http::Exchange::Outcome o = exchange_->outcome();
  release_exchange();
  using Kind = http::Exchange::Outcome::Kind;
  if (o.kind == Kind::Cut) {
    // A response that had begun is logged; a client that left before any
    // head (mid-upload) was never answered.
    req_.resp.status = o.status;
    req_.body_bytes = o.body_bytes;
    if (o.status != 0) abort_request();
    else close_now();
    return;
  }
  if (o.kind == Kind::Resume) return resume_request_phases(*this);  // a suspended step goes on
  size_t cursor = body_.cursor();
  if (body_.overread()) keep_alive_ = false;  // bytes past the body: a next request we cannot put back
  if (o.kind == Kind::Failed) {
    if (!o.keep_alive) keep_alive_ = false;
    set_error_answer(req_, o.status);
    queue_response();
    return;
  }
  req_.resp.status = o.status;
  req_.body_bytes = o.body_bytes;
  // Body bytes the exchange took from the read buffer: finish_request skips
  // the head, and the rest of a pipelined next request stays.
  if (cursor >= rbegin_ + req_.head_len && cursor <= rend_) rbegin_ = cursor - req_.head_len;
  // What is still queued goes out in the Write phase (a streamed answer
  // has usually left already).
  phase_ = Phase::Write;
  if (sink().pending() == 0) return finish_request();  // a response filter may still hold work (deflate's file)
  w_.loop().timers().arm(*this, w_.loop().now_ms() + static_cast<uint64_t>(w_.runtime().config().timeout.count()));
}

void Connection::respond_error(int status, const char* reason) {
  core::log(core::LogLevel::Info, "core", "[client {}] {} {}", req_.client_ip, status, reason);
  // A head that did not parse whole (a malformed head, 408, 431) is not
  // logged from its pieces; a whole head refused by a phase (413, 421)
  // keeps its fields, so its log line has Referer and User-Agent as Apache's.
  if ((phase_ == Phase::Idle || phase_ == Phase::ReadHead) && req_.head_len == 0) req_.head.reset();
  ++requests_;
  keep_alive_ = false;
  req_.body_left = 0;
  req_.body_chunked = false;
  // A head refused before routing is logged by the default vhost of the
  // address it came to (Apache's rule), not only by the main server.
  if (!req_.site) req_.site = &w_.runtime().site_for(local_, {});
  set_error_answer(req_, status);
  queue_response();
}

http1::HeadEnd Connection::finish_head(std::string& out, http1::BodyLength body, uint64_t length) {
  if (draining_server_) keep_alive_ = false;
  http1::HeadEnd e = http1::end_head(out, body, length, req_.head.version_minor, keep_alive_);
  keep_alive_ = e.keep_alive;
  return e;
}

// The server's own answer (an error before or instead of a handler, PURGE).
void Connection::queue_response() {
  write_response(*this, req_, head_defaults(w_));
  phase_ = Phase::Write;
  mark(core::shm::SlotState::Writing);
  w_.loop().timers().arm(*this, w_.loop().now_ms() + static_cast<uint64_t>(w_.runtime().config().timeout.count()));
}

bool Connection::flush_output() {
  uint64_t before = output_.written(), sendfile_before = output_.sendfile_bytes();
  auto r = sink().flush();  // through the response filters, which may still produce (deflate's file pieces)
  if (uint64_t n = output_.sendfile_bytes() - sendfile_before)
    w_.row().sendfile_bytes.fetch_add(n, std::memory_order_relaxed);  // pillar_sendfile_bytes_total
  switch (r) {
    case http::ResponseSink::Result::Done:
      return true;
    case http::ResponseSink::Result::Again:
      if (output_.written() != before)
        w_.loop().timers().arm(*this, w_.loop().now_ms() + static_cast<uint64_t>(w_.runtime().config().timeout.count()));
      return false;
    case http::ResponseSink::Result::Error:
      break;
  }
  abort_request();
  return false;
}

bool Connection::batch_with_next() {
  constexpr uint32_t kBatchMax = 32;           // responses per write
  constexpr uint64_t kBatchBytes = 64 * 1024;  // memory held for them
  if (!keep_alive_ || req_.body_left > 0 || req_.body_chunked || !output_.memory_only() ||
      output_.pending() >= kBatchBytes || batched_ >= kBatchMax ||
      sink().pending() != output_.pending())  // a response filter still holds work
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
  req_.seed.reset();  // an internal request's: what nobody took is given back now, while the slot is ours
  req_.filters.clear();  // after the answer: the next request (or an error before its filter step) has none
  const uint64_t sent = bytes_out(conn_status == 'X');
  const uint64_t took_us = core::mono_us() - req_.start_us;
  count_request(w_, req_, slot_, sent, took_us);  // request/access_logging.h
  if (w_.extended_status()) publish_request();
  {
    std::string_view request_line;
    if (req_.head_len > 0) {
      request_line = req_.request_line;
    } else if (rend_ > rbegin_) {
      std::string_view raw(rbuf_.get() + rbegin_, std::min<size_t>(rend_ - rbegin_, 1024));
      request_line = raw.substr(0, raw.find_first_of("\r\n"));
    }
    write_access_logs(req_, {request_line, local_port_, &local_, sent, took_us,
                             w_.loop().wall_time(), requests_ > 0 ? requests_ - 1 : 0, conn_status,
                             transport_.get()});
  }
  req_.bytes_in = 0;
  req_.local_redirects = 0;
  req_.out_mark = output_.written() + output_.pending();
  metadata::end_request_metadata(req_);  // the next request's environment starts empty
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
  if (h2_) h2_->shutdown();  // its streams let go of what they hold
  if (phase_ != Phase::Detached && exchange_ && exchange_->abort(!w_.stopping())) {
    // The client left while the exchange goes on without it (a fetch that
    // fills the store for others): the socket goes, the exchange (bounded
    // by its own timeout) and this connection's slot stay until it ends.
    phase_ = Phase::Detached;
    core::TimerWheel::cancel(*this);
    w_.loop().remove(transport_->fd());
    ::shutdown(transport_->fd(), SHUT_RDWR);
    mark(core::shm::SlotState::Closing);
    return;
  }
  phase_ = Phase::Closed;
  core::TimerWheel::cancel(*this);
  release_exchange();
  req_.seed.reset();
  w_.loop().remove(transport_->fd());
  w_.unlink(this);
  // Deleted by the loop after the current callback: see WorkerLoop::unlink.
}

}  // namespace pillar::server

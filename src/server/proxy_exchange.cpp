#include "server/proxy_exchange.h"

#include "core/assert.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include "cache/invalidate.h"
#include "cache/policy.h"
#include "cache/store.h"
#include "cache/targeted.h"
#include "core/log.h"
#include "core/socket_address.h"
#include "http/field_rules.h"
#include "http/proxy_protocol.h"
#include "proxy/balancer_runtime.h"
#include "server/cache_exchange.h"
#include "server/site.h"
#include "server/worker_loop.h"
#include "tls/client_context.h"
#include "tls/tls_transport.h"

namespace pillar::server {
namespace {

constexpr size_t kReadChunk = 16 * 1024;

// Not forwarded either way: hop-by-hop fields, and the framing each hop sets itself.
bool hop_field(std::string_view name) { return http::hop_or_framing(name); }

// Buffers keep their capacity from one exchange to the next on a loop, so a
// proxied request allocates no buffer memory in the steady state (a buffer
// that grew past 128 KiB is an mmap'd block: dropping it would cost a
// mmap/munmap and its page faults on every large response). The spares are
// few, and a loop that has shed a flood drops them all (release_spare_buffers
// from its memory trim), so they hold a few MiB at most, not the flood's
// tens of MiB.
constexpr size_t kSpareBuffers = 24;
thread_local std::vector<std::string> spare_buffers;
std::string take_buffer() {
  if (spare_buffers.empty()) return {};
  std::string b = std::move(spare_buffers.back());
  spare_buffers.pop_back();
  b.clear();
  return b;
}
void give_buffer(std::string&& b) {
  if (spare_buffers.size() < kSpareBuffers && b.capacity() <= 4 * ProxyExchange::kBufferMax) spare_buffers.push_back(std::move(b));
}


// ProxyPassReverseCookiePath/-Domain: the path= and domain= attributes of a
// Set-Cookie (case-insensitive names) are mapped from the member's view to
// the public one; the cookie itself is untouched.
std::string rewrite_cookie(std::string_view v, const std::vector<std::pair<std::string, std::string>>& paths,
                           const std::vector<std::pair<std::string, std::string>>& domains) {
  std::string out;
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t semi = v.find(';', pos);
    std::string_view attr = v.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos);
    size_t lead = 0;
    while (lead < attr.size() && attr[lead] == ' ') ++lead;
    std::string_view a = attr.substr(lead);
    size_t eq = a.find('=');
    std::string_view name = a.substr(0, eq);
    std::string replaced;
    if (pos > 0 && eq != std::string_view::npos) {
      std::string_view val = a.substr(eq + 1);
      auto apply = [&](const std::vector<std::pair<std::string, std::string>>& rules, bool prefix) {
        for (const auto& [from, to] : rules) {
          bool match = prefix ? val.substr(0, from.size()) == from : http::iequals(val, from);
          if (match) {
            replaced = std::string(attr.substr(0, lead)) + std::string(name) + "=" + to +
                       (prefix ? std::string(val.substr(from.size())) : std::string());
            return;
          }
        }
      };
      if (http::iequals(name, "path")) apply(paths, true);
      else if (http::iequals(name, "domain")) apply(domains, false);
    }
    out.append(replaced.empty() ? std::string(attr) : replaced);
    if (semi == std::string_view::npos) break;
    out.push_back(';');
    pos = semi + 1;
  }
  return out;
}

void append_chunk(std::string& out, std::string_view data) {
  char hex[20];
  int n = std::snprintf(hex, sizeof hex, "%zx\r\n", data.size());
  out.append(hex, static_cast<size_t>(n));
  out.append(data);
  out.append("\r\n");
}

}  // namespace

void ProxyExchange::release_spare_buffers() {
  spare_buffers.clear();
  spare_buffers.shrink_to_fit();
}

ProxyExchange::ProxyExchange(http::ExchangeHost& host, WorkerLoop& w, proxy::BalancerRuntime& b, const Request& req,
                             const sockaddr_storage& local, core::shm::ConnSlot& slot, std::string upstream_target)
    : host_(host), w_(w), b_(b), req_(req), local_(local), slot_(slot), target_(std::move(upstream_target)),
      choice_(b, slot.held_members) {
  up_out_ = take_buffer();
  up_in_ = take_buffer();
}

void ProxyExchange::set_fill(std::unique_ptr<CacheFill> f) { fill_ = std::move(f); }

ProxyExchange::~ProxyExchange() {
  if (fill_) fill_->end(false);
  core::TimerWheel::cancel(*this);
  release_upstream(false);
  give_buffer(std::move(up_out_));
  give_buffer(std::move(up_in_));
}

http::ResponseSink& ProxyExchange::out() { return host_.sink(); }

// The client's share of what the member sends: dropped once the client is
// gone or reads from the store instead (the sink is then not ours).
void ProxyExchange::to_client(std::string_view bytes) {
  if (!client_dead_) out().body(bytes);
}

bool ProxyExchange::client_has_room() { return client_dead_ || out().pending() < kBufferMax; }

void ProxyExchange::arm(uint64_t ms) {
  auto& loop = w_.loop();
  loop.timers().arm(*this, loop.now_ms() + ms);
}

void ProxyExchange::start() {
  auto& body = host_.body();
  req_chunked_ = body.chunked();
  req_done_ = body.done();
  has_body_ = !req_done_;
  // A small Content-Length body is kept until the member answers, so the
  // request can go to another member whole; larger ones are never retried.
  bufferable_ = has_body_ && !req_chunked_ && body.left() <= kRetryBodyMax;
  if (!pick_and_connect()) return;
  pump();
}

void ProxyExchange::build_request_head(const std::string& member_host) {
  const auto& h = req_.head;
  const auto& vh = *req_.site->cfg;
  std::string& o = up_out_;
  o.clear();
  up_out_pos_ = 0;
  o.append(h.method_name);
  o.push_back(' ');
  o.append(target_);
  o.append(" HTTP/1.1\r\n");
  std::string_view xff_prev;
  for (const auto& f : h.headers) {
    if (hop_field(f.name) || http::iequals(f.name, "Host") || http::named_by_connection(h.headers, f.name)) continue;
    if (http::iequals(f.name, "X-Forwarded-For")) {
      xff_prev = f.value;
      continue;
    }
    // A cache fill asks for the whole representation, with its own validators.
    if (fill_ && http::conditional_or_range(f.name)) continue;
    o.append(f.name);
    o.append(": ");
    o.append(f.value);
    o.append("\r\n");
  }
  o.append("Host: ");
  o.append(vh.proxy_preserve_host ? h.authority : std::string_view(member_host));
  o.append("\r\nX-Forwarded-For: ");
  if (!xff_prev.empty()) {
    o.append(xff_prev);
    o.append(", ");
  }
  o.append(req_.client_ip);
  o.append("\r\nX-Forwarded-Host: ");
  o.append(h.authority);
  o.append(req_.https ? "\r\nX-Forwarded-Proto: https\r\nVia: 1.1 pillar\r\n" : "\r\nX-Forwarded-Proto: http\r\nVia: 1.1 pillar\r\n");
  if (fill_) o.append(fill_->validators);
  if (h.upgrade) {  // WebSocket and other upgrades: asked for again, hop by hop
    o.append("Upgrade: ");
    o.append(h.find("Upgrade"));
    o.append("\r\nConnection: Upgrade\r\n\r\n");
    return;
  }
  if (req_chunked_) o.append("Transfer-Encoding: chunked\r\n");
  else if (h.has_content_length) {
    o.append("Content-Length: ");
    o.append(std::to_string(h.content_length));
    o.append("\r\n");
  }
  o.append("Connection: keep-alive\r\n\r\n");
  if (bufferable_) o.append(retry_body_);  // a retry: the body read so far goes again
}

bool ProxyExchange::pick_and_connect() {
  const uint64_t now = w_.loop().now_ms();
  uint8_t addr[16];
  const proxy::ChoiceRequest cr = proxy::choice_request(req_.head, req_.client, *b_.cfg, addr);
  for (;;) {
    switch (choice_.choose(cr, now)) {
      case proxy::MemberChoice::Outcome::Queue:
        state_ = State::Queued;
        arm(proxy::MemberChoice::kQueueRetryMs);
        return true;
      case proxy::MemberChoice::Outcome::Unavailable:
        // A member that failed this very request after it connected (it
        // closed before answering, its TLS handshake failed) is a bad
        // gateway for this request, as Apache answers it; later ones find
        // it in error (503).
        return fail(answered_badly_ ? 502 : 503, choice_.why()), false;
      case proxy::MemberChoice::Outcome::Member: break;
    }
    const int m = choice_.member();
    const bool fresh = choice_.fresh();
    member_ = m;
    const auto& mc = b_.member_cfg(m);
    build_request_head(mc.host);  // the body (if any) follows as it is read
    // A PROXY header describes one client: such connections are never pooled.
    up_ = mc.proxy_protocol || fresh ? nullptr : w_.member_connections().take(&b_, m);
    up_reused_ = up_ != nullptr;
    if (!up_reused_) {
      core::Fd fd(::socket(mc.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      int one = 1;
      if (fd) ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (!fd || (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&mc.addr), mc.addr_len) != 0 &&
                  errno != EINPROGRESS)) {
        core::log(core::LogLevel::Error, "proxy", "connect to {} failed: {}", mc.url, strerror(errno));
        choice_.failed(m, "refused the connection", now);
        fd.reset();
        release_upstream(false);
        continue;
      }
      if (mc.https) {
        const tls::ClientContext* tc = w_.runtime().member_tls(b_);
        PILLAR_ASSERT(tc != nullptr);  // the load refuses https members without SSLProxyEngine
        up_ = std::make_unique<tls::TlsTransport>(std::move(fd), *tc, mc.tls_name);
      } else {
        up_ = std::make_unique<core::PlainTransport>(std::move(fd));
      }
    }
    if (!up_reused_ && mc.proxy_protocol) {
      std::string hdr;
      if (mc.proxy_protocol == 1) http::write_proxy_v1(req_.client, local_, hdr);
      else http::write_proxy_v2(req_.client, local_, hdr);
      up_out_.insert(0, hdr);
    }
    w_.loop().add(up_->fd(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, this);
    state_ = up_reused_ ? State::Exchanging : State::Connecting;
    up_writable_ = up_reused_;
    arm(static_cast<uint64_t>(up_reused_ ? timeout_ms() : mc.connect_timeout.count()));
    return true;
  }
}

uint64_t ProxyExchange::timeout_ms() const {
  if (member_ >= 0) {
    const auto& mc = b_.member_cfg(member_);
    if (mc.timeout.count() > 0) return static_cast<uint64_t>(mc.timeout.count());
  }
  return static_cast<uint64_t>(w_.runtime().config().proxy_timeout.count());
}

void ProxyExchange::release_upstream(bool reusable) {
  if (up_) {
    w_.loop().remove(up_->fd());
    if (reusable && member_ >= 0 && !b_.member_cfg(member_).proxy_protocol)
      w_.member_connections().give(&b_, member_, std::move(up_));
    up_.reset();
  }
  choice_.release();
}

void ProxyExchange::fail(int status, const char* why) {
  // A 408 is the client's slowness, not the member's: info, as for static files.
  core::log(status == 408 ? core::LogLevel::Info : core::LogLevel::Error, "proxy", "[client {}] {} {}: {}", req_.client_ip, status,
            member_ >= 0 ? b_.member_cfg(member_).url : std::string("balancer://") + b_.cfg->name,
            why);
  // Callers note the member's failures themselves: a malformed answer is the
  // request's 502, not a sign the member is down, and a slow answer (504)
  // is not one either (Apache without failontimeout).
  release_upstream(false);
  core::TimerWheel::cancel(*this);
  status_ = status;
  state_ = State::Done;
  failed_ = true;
  if (fill_) fill_->end(false);
}

void ProxyExchange::abort_client() {
  if (fill_ && fill_->storing && !resp_done_ && !up_eof_ && up_) {
    // The client went away but others wait on this object: the fetch goes
    // on for the cache (as Varnish's), its bytes for the client dropped.
    if (!client_dead_) out().drop();
    client_dead_ = true;
    host_.close_after();
    return;
  }
  if (fill_) fill_->end(false);
  release_upstream(false);
  core::TimerWheel::cancel(*this);
  state_ = State::Done;
  aborted_ = true;
}

void ProxyExchange::on_io(uint32_t events) {
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) up_writable_ = true;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) up_readable_ = true;
  if (state_ == State::Connecting && up_writable_) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(up_->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      const auto& mc = b_.member_cfg(member_);
      core::log(core::LogLevel::Error, "proxy", "connect to {} failed: {}", mc.url, strerror(err));
      note_failure(member_, "refused the connection");
      retry();
      host_.wake();
      return;
    }
    state_ = State::Exchanging;
    arm(timeout_ms());
  }
  // TLS: an edge of one direction may unblock the other (the handshake).
  const uint32_t dirs = up_ ? up_->readiness(events) : events;
  if (dirs & EPOLLOUT) up_writable_ = true;
  if (dirs & EPOLLIN) up_readable_ = true;
  pump();
  host_.wake();
}

void ProxyExchange::on_client_io() { pump(); }

http::Exchange::Outcome ProxyExchange::outcome() const {
  PILLAR_ASSERT(state_ == State::Done);
  if (aborted_) return {Outcome::Kind::Cut, status_, body_bytes_};
  // A failed exchange may have read part of the request body: the
  // connection cannot carry another request.
  if (failed_) return {Outcome::Kind::Failed, status_, 0, false};
  return {Outcome::Kind::Answered, status_, body_bytes_};
}

bool ProxyExchange::abort(bool may_go_on) {
  // A fetch that already goes on without its client (handed over to the
  // store, or its client's write failed) fills the store for its waiters.
  return may_go_on && filling_for_store();
}

std::string ProxyExchange::target_for(const LocationRoute& route, const Request& req) {
  if (!req.rewrite.proxy_target.empty()) return req.rewrite.proxy_target;  // RewriteRule [P]
  const config::LocationSection& loc = route.target_cfg();
  const http::RequestHead& head = req.head;
  const std::string& path = req.path;
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

bool ProxyExchange::filling_for_store() const { return state_ != State::Done && client_dead_ && fill_ && fill_->storing; }

void ProxyExchange::decouple() {
  client_dead_ = true;  // what is queued for the client stays queued, ahead of the store's bytes
  uint64_t end = framing_ == http::ResponseHead::Framing::ContentLength ? resp_.content_length : UINT64_MAX;
  handover_(body_bytes_, end, status_);
}

void ProxyExchange::retry() {
  release_upstream(false);
  up_readable_ = up_writable_ = up_eof_ = false;
  up_in_.clear();
  up_in_pos_ = 0;
  if (pick_and_connect()) pump();
}

bool ProxyExchange::idempotent() const {
  switch (req_.head.method) {
    case http::Method::Get: case http::Method::Head: case http::Method::Options:
    case http::Method::Put: case http::Method::Delete:
      return true;
    default:
      return false;
  }
}

// Passive ejection: after failures= consecutive failures (default 1) the
// member is not picked, by any worker, for its retry= period; any response
// from it resets the count.
//
// The last usable member is never ejected that way (nginx's rule for a
// single server): a pool with nothing left would answer 503 for retry=
// after one failure. It keeps being tried; active health checks, which set
// its Error flag, still take it out.
void ProxyExchange::note_failure(int slot, const char* why) { choice_.failed(slot, why, w_.loop().now_ms()); }

bool ProxyExchange::can_retry() const {
  // Nothing reached the client yet, and the request can be sent again whole.
  return !head_seen_ && !got_response_bytes_ && (!has_body_ || (bufferable_ && req_done_));
}

void ProxyExchange::on_timer() {
  if (state_ == State::Done) return;
  if (state_ == State::Queued) {
    state_ = State::Connecting;
    if (pick_and_connect() && state_ == State::Exchanging) pump();
    host_.wake();
    return;
  }
  if (state_ == State::Connecting) {
    const auto& mc = b_.member_cfg(member_);
    core::log(core::LogLevel::Error, "proxy", "connect to {} timed out", mc.url);
    if (can_retry()) {
      note_failure(member_, "did not accept the connection in time");
      retry();
    } else {
      fail(504, "connect timeout");
    }
  } else if (!head_seen_) {
    fail(504, "no response within the timeout");
  } else if (client_blocked()) {
    // The client stopped reading: its business, not the member's. Logged as
    // the static path logs it (Connection::on_timer), at info.
    core::log(core::LogLevel::Info, "core", "[client {}] send timeout ({} ms)", req_.client_ip,
              w_.runtime().config().timeout.count());
    abort_client();
  } else {
    core::log(core::LogLevel::Error, "proxy", "[client {}] response stalled; connection closed", req_.client_ip);
    abort_client();
  }
  host_.wake();
}

void ProxyExchange::body_timeout() {
  PILLAR_ASSERT(reading_body());
  host_.close_after();
  if (!head_seen_) {
    fail(408, "request body read timeout");
    return;
  }
  core::log(core::LogLevel::Info, "proxy", "[client {}] request body read timeout; connection closed", req_.client_ip);
  abort_client();
}

bool ProxyExchange::client_blocked() {
  return !client_dead_ && !out().writable() && (out().pending() > 0 || pipe_bytes_ > 0);
}

uint64_t ProxyExchange::wait_ms() {
  return client_blocked() ? static_cast<uint64_t>(w_.runtime().config().timeout.count()) : timeout_ms();
}

// Moves request body bytes from the client into up_out_, framing them for
// the upstream, while up_out_ has room.
bool ProxyExchange::pump_request_body() {
  bool progressed = false;
  auto& body = host_.body();
  while (!req_done_ && up_out_.size() - up_out_pos_ < kBufferMax) {
    std::string_view data;
    switch (body.read(data, kBufferMax - (up_out_.size() - up_out_pos_))) {
      case http::RequestBody::Status::Data:
        if (req_chunked_) {
          append_chunk(up_out_, data);
        } else {
          up_out_.append(data);
          if (bufferable_) retry_body_.append(data);
        }
        progressed = true;
        continue;
      case http::RequestBody::Status::End:
        if (req_chunked_) up_out_.append("0\r\n\r\n");
        req_done_ = true;
        progressed = true;
        continue;
      case http::RequestBody::Status::Again:
        break;
      case http::RequestBody::Status::Bad:
        bad_request_body_ = true;
        break;
      case http::RequestBody::Status::Gone:
        client_gone_ = true;
        break;
    }
    break;
  }
  return progressed;
}

bool ProxyExchange::flush_upstream() {
  bool progressed = false;
  while (up_writable_ && up_out_pos_ < up_out_.size()) {
    core::Io r = up_->write(up_out_.data() + up_out_pos_, up_out_.size() - up_out_pos_);
    if (r.again()) {
      up_writable_ = false;
      break;
    }
    if (!r.ok()) {
      up_eof_ = true;  // the read side reports it
      up_write_failed_ = true;
      break;
    }
    up_out_pos_ += r.n;
    proxy::add_traffic(b_.span()[static_cast<size_t>(member_)], r.n);
    progressed = true;
  }
  if (up_out_pos_ == up_out_.size() && !can_retry()) {  // kept whole while a retry may resend it
    up_out_.clear();
    up_out_pos_ = 0;
  }
  return progressed;
}

bool ProxyExchange::read_upstream() {
  bool progressed = false;
  // One chunk per call: the caller relays it before reading more, so neither
  // buffer grows past kBufferMax whatever the member sends.
  if (up_readable_ && !up_eof_ && client_has_room() && up_in_.size() - up_in_pos_ < kBufferMax) {
    thread_local char scratch[kReadChunk];
    core::Io r = up_->read(scratch, sizeof scratch);
    if (r.ok()) {
      up_in_.append(scratch, r.n);
      proxy::add_traffic(b_.span()[static_cast<size_t>(member_)], r.n);
      progressed = true;
      got_response_bytes_ = true;
      return progressed;
    }
    if (r.again()) up_readable_ = false;
    else up_eof_ = true;
  }
  return progressed;
}


// An interim response (RFC 9110 §15.2) as the member sent it, without its
// hop-by-hop fields; the final response follows on the same sink.
void ProxyExchange::relay_interim() {
  std::string o = "HTTP/1.1 " + std::to_string(resp_.status) + " " +
                  std::string(resp_.reason.empty() ? std::string_view("Interim") : resp_.reason) + "\r\n";
  for (const auto& f : resp_.headers) {
    if (hop_field(f.name) || http::named_by_connection(resp_.headers, f.name)) continue;
    o.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  o.append("\r\n");
  out().raw(o);
}

// RFC 9111 §4.4: the member answered an unsafe request; what the store holds
// for its target (and for a same-origin Location/Content-Location) is gone.
// Nothing for a 4xx/5xx (cache::invalidation_keys decides).
void ProxyExchange::invalidate(const http::ResponseHead& resp) {
  cache::Store& store = *w_.runtime().cache();
  for (const std::string& key : cache::invalidation_keys(req_.head, req_.https ? "https" : "http", resp)) {
    uint32_t n = store.purge(key);
    if (n) core::log(core::LogLevel::Debug, "cache", "{} {}: {} object(s) invalidated", req_.head.method_name, key, n);
  }
}

bool ProxyExchange::handle_response_head() {
  while (!head_seen_) {
    std::string_view buf(up_in_.data() + up_in_pos_, up_in_.size() - up_in_pos_);
    http::ResponseLimits limits;
    auto parsed = http::parse_response_head(buf, limits, req_.head.method == http::Method::Head, resp_);
    if (parsed.kind == http::ParseOutcome::Error) {
      fail(502, parsed.reason);
      return false;
    }
    if (parsed.kind == http::ParseOutcome::Incomplete) {
      if (up_eof_) {
        // Nothing came back: a kept-alive connection the member had closed,
        // or a member that died with the request. Idempotent requests (and
        // any on a reused connection, which the member never read) go to
        // another member; the client never sees the failure.
        if (can_retry() && (up_reused_ || idempotent())) {
          if (up_reused_) choice_.again_fresh(member_);  // not the member's failure: it goes again, on a fresh connection
          else {
            note_failure(member_, "closed the connection without a response");
            answered_badly_ = true;
          }
          retry();
          return false;
        }
        const char* why = up_write_failed_ ? "the member closed the connection while the request was sent"
                                           : "the member closed the connection before a complete response head";
        if (!up_reused_) note_failure(member_, why);  // a fresh connection: the member died with the request
        fail(502, why);
      }
      return false;
    }
    if (resp_.interim()) {  // 100/102/103...: passed on (cache::forward_interim), never stored nor reused
      if (!client_dead_ && cache::forward_interim(resp_.status, req_.head.version_major, req_.head.version_minor,
                                                  req_.head.expect_continue))
        relay_interim();
      up_in_pos_ += parsed.consumed;
      continue;
    }
    if (resp_.upgrade) {
      if (!req_.head.upgrade) {
        fail(502, "the member switched protocols the client did not ask for");
        return false;
      }
      // 101: relay the head, then bytes both ways until either side closes.
      std::string o = "HTTP/1.1 101 Switching Protocols\r\n";
      for (const auto& f : resp_.headers) {
        o.append(f.name);
        o.append(": ");
        o.append(f.value);
        o.append("\r\n");
      }
      o.append("\r\n");
      out().raw(o);
      up_in_pos_ += parsed.consumed;
      head_seen_ = true;
      tunnel_ = true;
      status_ = 101;
      host_.close_after();
      req_done_ = true;
      core::TimerWheel::cancel(*this);  // a tunnel may be idle for long; TCP keep-alive is the peers' business
      return true;
    }
    if (fill_ && fill_->stale && resp_.status == 304) {  // our revalidation: the stored copy answers the client
      fill_->on_not_modified(resp_);
      up_in_pos_ += parsed.consumed;
      head_seen_ = true;
      resp_done_ = true;
      status_ = 304;
      framing_ = http::ResponseHead::Framing::None;
      return true;
    }
    if (fill_ && fill_->stale_on_error && resp_.status >= 500) {  // stale-if-error (RFC 5861): the stale copy answers
      core::log(core::LogLevel::Info, "proxy", "[client {}] {} from {}: serving the stale cached copy", req_.client_ip,
                resp_.status, b_.member_cfg(member_).url);
      fail(resp_.status, "origin error, stale copy used");
      return false;
    }
    head_seen_ = true;
    b_.block->fail_run[member_].store(0, std::memory_order_relaxed);  // it answers: not failing
    const bool cached_location = w_.runtime().cache() && req_.site->cfg->cache.enabled_for(req_.path);
    http::ResponseHead moved;  // status, Location and Content-Location as the client sees them (invalidation)
    moved.status = resp_.status;
    std::deque<std::string> rewritten_values;  // what moved's views point into
    status_ = resp_.status;
    framing_ = resp_.framing;
    resp_left_ = resp_.content_length;
    bool head_req = req_.head.method == http::Method::Head;
    PILLAR_ASSERT(!client_dead_);  // a client is dropped (or handed to the store) only after the head
    std::string& o = out().begin_head(resp_.status, resp_.reason);
    const size_t lines_begin = o.size();
    bool has_date = false;
    for (const auto& f : resp_.headers) {
      if (http::iequals(f.name, "Content-Length") && head_req) {  // HEAD: the member's length describes GET
        o.append("Content-Length: ");
        o.append(f.value);
        o.append("\r\n");
        continue;
      }
      if (hop_field(f.name) || http::named_by_connection(resp_.headers, f.name)) continue;
      has_date = has_date || http::iequals(f.name, "Date");
      std::string_view value = f.value;
      std::string rewritten;
      if (http::iequals(f.name, "Set-Cookie") &&
          (!req_.site->cfg->cookie_path.empty() || !req_.site->cfg->cookie_domain.empty())) {
        rewritten = rewrite_cookie(value, req_.site->cfg->cookie_path, req_.site->cfg->cookie_domain);
        value = rewritten;
      }
      if (http::iequals(f.name, "Location") || http::iequals(f.name, "Content-Location")) {
        for (const auto& [url, path] : req_.site->cfg->proxy_reverse) {
          if (value.substr(0, url.size()) == url) {
            std::string_view rest = value.substr(url.size());
            // Only the join is tidied ("/app/" + "/x"); the rest is the member's, query included.
            if (!path.empty() && path.back() == '/' && !rest.empty() && rest.front() == '/') rest.remove_prefix(1);
            rewritten = path + std::string(rest);
            value = rewritten;
            break;
          }
        }
      }
      if (http::iequals(f.name, "Location") || http::iequals(f.name, "Content-Location"))
        moved.headers.push_back({f.name, rewritten.empty() ? f.value : std::string_view(rewritten_values.emplace_back(rewritten))});
      o.append(f.name);
      o.append(": ");
      o.append(value);
      o.append("\r\n");
    }
    if (!has_date) {
      o.append("Date: ");
      o.append(w_.loop().http_date());
      o.append("\r\n");
    }
    o.append("Via: 1.1 pillar\r\n");
    if (fill_) fill_->on_head(resp_, std::string_view(o).substr(lines_begin));
    if (cached_location) {
      // The targeted fields are this cache's (RFC 9213 §3): a fill stored
      // them above, the client gets the head without them.
      const auto& targets = req_.site->cfg->cache.targets;
      bool any = false;
      for (const auto& f : resp_.headers) any = any || cache::is_target_field(f.name, targets);
      if (any) {
        std::string lines = o.substr(lines_begin);
        o.resize(lines_begin);
        cache::append_without_targeted(o, lines, targets);
      }
      if (cache::unsafe_method(req_.head.method)) invalidate(moved);
    }
    if (x_cache_) o.append("X-Cache: ").append(x_cache_).append("\r\n");
    using F = http::ResponseHead::Framing;
    // A request body still arriving is discarded after the response if it
    // is a small Content-Length rest (finish()); one of unknown or large
    // size closes the connection.
    if (!req_done_ && (req_chunked_ || host_.body().left() > http::RequestBody::kDiscardMax)) host_.close_after();
    auto body = framing_ == F::ContentLength ? http::BodyLength::Known
                : framing_ == F::None        ? http::BodyLength::None
                                             : http::BodyLength::Unknown;  // chunked or until close
    out().end_head(body, resp_left_);
    up_in_pos_ += parsed.consumed;
    if (framing_ == F::None || (framing_ == F::ContentLength && resp_left_ == 0)) resp_done_ = true;
    if (framing_ == F::Chunked) resp_chunks_.reset();
    arm(timeout_ms());
  }
  return true;
}

bool ProxyExchange::splicing() {
  return head_seen_ && !tunnel_ && !(fill_ && fill_->storing) &&
         framing_ == http::ResponseHead::Framing::ContentLength && !resp_done_ &&
         up_in_pos_ == up_in_.size() && !client_dead_ && out().pending() == 0 && out().can_splice() &&
         up_->can_zero_copy();
}

bool ProxyExchange::splice_body() {
  if (!pipe_out_) {
    int p[2];
    if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return false;
    pipe_out_.reset(p[0]);
    pipe_in_.reset(p[1]);
  }
  bool progressed = false;
  for (;;) {
    if (pipe_bytes_ > 0) {
      size_t moved = 0;
      auto r = out().splice(pipe_out_.get(), pipe_bytes_, moved);
      if (r == http::ResponseSink::Result::Again) break;
      if (r == http::ResponseSink::Result::Error) {
        abort_client();  // the client went away
        return false;
      }
      pipe_bytes_ -= moved;
      body_bytes_ += moved;
      progressed = true;
      continue;
    }
    if (resp_left_ == 0) {
      resp_done_ = true;
      break;
    }
    if (!up_readable_ || up_eof_) break;
    // Fill only an empty pipe: then EAGAIN means the member has nothing yet.
    core::Io r = up_->splice_to_pipe(pipe_in_.get(), static_cast<size_t>(std::min<uint64_t>(resp_left_, kBufferMax)));
    if (r.ok()) {
      pipe_bytes_ = r.n;
      resp_left_ -= r.n;
      proxy::add_traffic(b_.span()[static_cast<size_t>(member_)], r.n);
      progressed = true;
      continue;
    }
    if (r.again()) up_readable_ = false;
    else up_eof_ = true;  // cut short: relay_body() closes the client
    break;
  }
  return progressed;
}

void ProxyExchange::relay_body() {
  using F = http::ResponseHead::Framing;
  while (!resp_done_ && up_in_pos_ < up_in_.size() && client_has_room()) {
    std::string_view avail(up_in_.data() + up_in_pos_, up_in_.size() - up_in_pos_);
    if (framing_ == F::ContentLength) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(avail.size(), resp_left_));
      // Nothing queued for the client: send straight from the read buffer
      // and copy only what the socket does not take.
      size_t direct = 0;
      if (!client_dead_ && out().pending() == 0 && out().writable()) {
        iovec iov{const_cast<char*>(avail.data()), n};
        if (out().pass_through({&iov, 1}, direct) == http::ResponseSink::Result::Error) {
          abort_client();
          return;
        }
      }
      to_client(avail.substr(direct, n - direct));
      if (fill_) fill_->on_body(avail.substr(0, n));
      body_bytes_ += n;
      up_in_pos_ += n;
      resp_left_ -= n;
      if (resp_left_ == 0) resp_done_ = true;
    } else if (framing_ == F::Chunked) {
      auto step = resp_chunks_.next(avail);
      up_in_pos_ += step.consumed;
      if (step.kind == http::ChunkedDecoder::Step::Data) {
        to_client(step.data);
        if (fill_) fill_->on_body(step.data);
        body_bytes_ += step.data.size();
      } else if (step.kind == http::ChunkedDecoder::Step::Done) {
        resp_done_ = true;
      } else if (step.kind == http::ChunkedDecoder::Step::Error) {
        core::log(core::LogLevel::Error, "proxy", "[client {}] malformed chunked body from the member", req_.client_ip);
        if (fill_) fill_->end(false);  // the member's fault: nothing is kept, nothing goes on
        abort_client();
        return;
      } else {
        break;
      }
    } else {  // UntilClose
      to_client(avail);
      if (fill_) fill_->on_body(avail);
      body_bytes_ += avail.size();
      up_in_pos_ += avail.size();
    }
  }
  if (!resp_done_ && framing_ == F::UntilClose && up_eof_ && up_in_pos_ == up_in_.size()) resp_done_ = true;
  if (!resp_done_ && up_eof_ && up_in_pos_ == up_in_.size() && framing_ != F::UntilClose) {
    core::log(core::LogLevel::Error, "proxy", "[client {}] the member closed before the end of the body", req_.client_ip);
    abort_client();  // a cut body is never presented as complete
    return;
  }
  if (resp_done_ && !terminator_sent_) {
    if (!client_dead_) out().end_body();
    terminator_sent_ = true;
  }
  if (up_in_pos_ == up_in_.size()) {
    up_in_.clear();
    up_in_pos_ = 0;
  } else if (up_in_pos_ > kBufferMax) {
    up_in_.erase(0, up_in_pos_);
    up_in_pos_ = 0;
  }
}

bool ProxyExchange::flush_client() {
  if (client_dead_) {
    if (!fill_->storing) abort_client();  // nobody is left to fetch for
    return false;
  }
  uint64_t before = out().written();
  if (out().flush() == http::ResponseSink::Result::Error) {
    abort_client();  // the client went away
    return false;
  }
  return out().written() != before;
}

// After a 101: raw bytes both ways, with the same back-pressure.
bool ProxyExchange::pump_tunnel() {
  bool progressed = false;
  // client -> member
  while (up_out_.size() - up_out_pos_ < kBufferMax) {
    std::string_view data;
    auto st = host_.body().read_raw(data, kBufferMax - (up_out_.size() - up_out_pos_));
    if (st == http::RequestBody::Status::Data) {
      up_out_.append(data);
      progressed = true;
      continue;
    }
    if (st != http::RequestBody::Status::Again) client_gone_ = true;
    break;
  }
  progressed = flush_upstream() || progressed;
  // member -> client
  progressed = read_upstream() || progressed;
  if (up_in_pos_ < up_in_.size()) {
    out().raw(std::string_view(up_in_).substr(up_in_pos_));
    body_bytes_ += up_in_.size() - up_in_pos_;
    up_in_.clear();
    up_in_pos_ = 0;
  }
  progressed = flush_client() || progressed;
  return progressed;
}

void ProxyExchange::pump() {
  while (tunnel_ && state_ != State::Done) {
    bool progressed = pump_tunnel();
    if (state_ == State::Done) return;
    bool drained = out().pending() == 0 && up_out_pos_ == up_out_.size();
    if ((client_gone_ || up_eof_ || up_write_failed_) && (drained || client_gone_)) {
      release_upstream(false);
      state_ = State::Done;  // the connection closes after the tunnel
      host_.close_after();
      return;
    }
    if (!progressed) return;
  }
  for (int guard = 0; guard < 1000 && state_ != State::Done; ++guard) {
    bool progressed = flush_client();
    if (state_ == State::Done) return;
    if (bad_request_body_) {
      host_.close_after();
      fail(400, "malformed chunked request body");
      return;
    }
    if (state_ == State::Exchanging) {
      progressed = pump_request_body() || progressed;
      progressed = flush_upstream() || progressed;
      if (splicing()) progressed = splice_body() || progressed;
      else progressed = read_upstream() || progressed;
      if (state_ == State::Done) return;
      if (!head_seen_ && !handle_response_head()) {
        if (state_ == State::Done) return;
      }
      if (tunnel_) return pump();
      if (head_seen_) relay_body();
      if (state_ == State::Done) return;
      progressed = flush_client() || progressed;
      if (state_ == State::Done) return;
      if (fill_ && fill_->storing && head_seen_ && !resp_done_ && !client_dead_ && !out().writable() &&
          out().pending() >= kBufferMax) {
        decouple();  // the client is slower than the member: the store, not the client, sets the pace
        progressed = true;
        continue;
      }
      if (progressed) arm(wait_ms());
    }
    if (client_gone_ && !req_done_) {
      abort_client();
      return;
    }
    if (head_seen_ && resp_done_ && (client_dead_ || out().pending() == 0) && pipe_bytes_ == 0) {
      finish();
      return;
    }
    if (!progressed) return;
  }
}

void ProxyExchange::finish() {
  bool reusable = resp_.keep_alive && req_done_ && up_out_pos_ == up_out_.size() && !up_eof_ &&
                  framing_ != http::ResponseHead::Framing::UntilClose && up_in_pos_ == up_in_.size();
  // The member answered before the whole body: the connection discards the
  // rest (the head promised keep-alive only for a small Content-Length rest).
  if (fill_) fill_->end(resp_done_);
  release_upstream(reusable);
  core::TimerWheel::cancel(*this);
  state_ = State::Done;
}

}  // namespace pillar::server

// The FastCGI exchange: see fastcgi_exchange.h. Shaped as ProxyExchange:
// pump() moves what can move (client body -> STDIN records -> socket;
// socket -> records -> CGI head -> client) until nothing progresses, and
// runs again on either socket's readiness or its timer.
#include "server/fastcgi_exchange.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/assert.h"
#include "core/log.h"
#include "core/socket_address.h"
#include "fastcgi/cgi_env.h"
#include "fastcgi/cgi_response.h"
#include "server/metadata/signature.h"
#include "server/script_head.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {
namespace {

constexpr uint16_t kRequestId = 1;  // one request per connection at a time (no multiplexing)
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kStderrLineMax = 4096;

}  // namespace

FastcgiExchange::FastcgiExchange(http::ExchangeHost& host, WorkerLoop& w, Request& req,
                                 const sockaddr_storage& local, core::shm::ConnSlot& slot, FastcgiRoute route)
    : host_(host), w_(w), req_(req), local_(local), route_(std::move(route)), app_(route_.backend), decoder_(kRequestId) {
  PILLAR_ASSERT(route_.backend);
  if (route_.backend->balancer >= 0) {
    const auto& all = w_.runtime().balancers();
    PILLAR_ASSERT(static_cast<size_t>(route_.backend->balancer) < all.size());
    choice_ = std::make_unique<proxy::MemberChoice>(*all[static_cast<size_t>(route_.backend->balancer)], slot.held_members);
  }
}

bool FastcgiExchange::choose_member() {
  if (!choice_) return true;
  uint8_t addr[16];
  const proxy::ChoiceRequest cr = proxy::choice_request(req_.head, req_.client, *choice_->balancer().cfg, addr);
  switch (choice_->choose(cr, w_.loop().now_ms())) {
    case proxy::MemberChoice::Outcome::Member:
      app_ = choice_->member_cfg().fcgi.get();
      PILLAR_ASSERT(app_ != nullptr);  // the load refuses http members in a FastCGI balancer
      route_.fcgi_prefix = "proxy:fcgi://" + app_->authority;
      return true;
    case proxy::MemberChoice::Outcome::Queue:
      state_ = State::Queued;
      arm(proxy::MemberChoice::kQueueRetryMs);
      return false;
    case proxy::MemberChoice::Outcome::Unavailable: break;
  }
  fail(503, choice_->why());
  return false;
}

bool FastcgiExchange::begin_exchange() {
  if (!choose_member()) return false;
  up_out_.clear();
  up_out_pos_ = 0;
  build_request();
  return connect();
}

bool FastcgiExchange::connect_failed(const std::string& why) {
  if (choice_ && !body_started_) {
    core::log(core::LogLevel::Error, "proxy_fcgi", "[client {}] [vhost {}] {}; trying another member", req_.client_ip,
              req_.site->log_name(), why);
    choice_->failed(choice_->member(), "refused the connection", w_.loop().now_ms());
    release_upstream(false);
    return begin_exchange();
  }
  fail(503, why.c_str());
  return false;
}

FastcgiExchange::~FastcgiExchange() {
  core::TimerWheel::cancel(*this);
  release_upstream(false);
}

void FastcgiExchange::arm(uint64_t ms) { w_.loop().timers().arm(*this, w_.loop().now_ms() + ms); }

uint64_t FastcgiExchange::timeout_ms() const {
  return static_cast<uint64_t>(w_.runtime().config().proxy_timeout.count());
}

bool FastcgiExchange::client_has_room() const { return host_.sink().pending() < kBufferMax; }

void FastcgiExchange::start() {
  auto& body = host_.body();
  has_body_ = !body.done();
  if (body.chunked()) {
    state_ = State::Spooling;
    arm(static_cast<uint64_t>(w_.runtime().config().timeout.count()));
    pump();
    return;
  }
  if (!begin_exchange()) return;
  pump();
}

bool FastcgiExchange::spool_body() {
  auto& body = host_.body();
  for (;;) {
    std::string_view data;
    switch (body.read(data, kReadChunk)) {
      case http::RequestBody::Status::Data:
        if (spool_.size() + data.size() > kSpoolMax) {
          host_.close_after();
          fail(413, "chunked request body larger than the FastCGI spool (8 MiB); send a Content-Length");
          return true;
        }
        spool_.append(data);
        arm(static_cast<uint64_t>(w_.runtime().config().timeout.count()));
        continue;
      case http::RequestBody::Status::End:
        spooled_ = true;
        core::TimerWheel::cancel(*this);
        if (begin_exchange()) state_ = up_reused_ ? State::Exchanging : State::Connecting;
        return true;
      case http::RequestBody::Status::Again:
        return false;
      case http::RequestBody::Status::Bad:
        host_.close_after();
        fail(400, "malformed chunked request body");
        return true;
      case http::RequestBody::Status::Gone:
        abort_client(nullptr);
        return true;
    }
  }
}

void FastcgiExchange::build_request() {
  const auto& h = req_.head;
  std::string server_addr = core::address_text(local_);
  fastcgi::CgiRequest c;
  c.method = h.method_name;
  c.request_uri = h.target;
  c.query = h.query;
  c.script_name = route_.script_name;
  c.path_info = route_.path_info;
  c.script_filename = route_.script_filename;
  c.document_root = req_.site->cfg->document_root;
  c.fcgi_prefix = route_.fcgi_prefix;
  c.server_name = req_.host.empty() ? std::string_view(req_.site->cfg->server_name) : std::string_view(req_.host);
  c.server_addr = server_addr;
  c.server_port = core::address_port(local_);
  c.remote_addr = req_.client_ip;
  c.remote_port = core::address_port(req_.client);
  c.https = req_.https;
  c.version_major = h.version_major;
  c.version_minor = h.version_minor;
  c.fields = h.headers;
  c.has_content_length = h.has_content_length || spooled_;
  c.content_length = spooled_ ? spool_.size() : h.content_length;
  c.backend = route_.backend_type;
  c.pass_auth = route_.pass_auth;
  c.set_env = route_.set_env;
  c.request_env = req_.env.entries();
  std::string signature = metadata::server_signature(req_, "");
  c.server_signature = signature;
  c.remote_user = req_.remote_user;  // mod_auth_basic's REMOTE_USER, AUTH_TYPE
  fastcgi::CgiEnv env;
  fastcgi::build_cgi_env(c, env);

  up_out_.clear();
  up_out_pos_ = 0;
  // The records' size, so that up_out_ grows once: the pairs (and a
  // spooled body), a header and at most 7 bytes of padding per record,
  // BEGIN_REQUEST, the empty PARAMS and STDIN records.
  size_t need = 4 * fastcgi::kHeaderSize + 8;
  for (const auto& [name, value] : env) need += fastcgi::pair_size(name, value);
  need += (need / fastcgi::kMaxContent + 1) * (fastcgi::kHeaderSize + 7);
  if (spooled_) need += spool_.size() + (spool_.size() / (fastcgi::kMaxContent - 7) + 1) * (fastcgi::kHeaderSize + 7);
  up_out_.reserve(need);
  fastcgi::append_begin_request(up_out_, kRequestId, true);
  fastcgi::ParamsWriter params(up_out_, kRequestId);
  for (const auto& [name, value] : env) {
    // A pair larger than a record cannot reach PHP-FPM (it parses records
    // one by one): such a field is left out, and said so.
    if (fastcgi::pair_size(name, value) > fastcgi::kMaxContent) {
      core::log(core::LogLevel::Warn, "proxy_fcgi", "[client {}] {} left out of the FastCGI parameters: too long",
                req_.client_ip, name);
      continue;
    }
    params.add(name, value);
  }
  params.finish();
  req_done_ = !has_body_ || spooled_;
  if (spooled_) fastcgi::append_stdin(up_out_, kRequestId, spool_);
  if (req_done_) fastcgi::append_stdin(up_out_, kRequestId, {});
}

bool FastcgiExchange::connect() {
  const auto& b = *app_;
  up_ = retried_ ? nullptr : w_.fastcgi_connections().take(&b);
  up_reused_ = up_ != nullptr;
  if (!up_reused_) {
    core::Fd fd(::socket(b.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd && !b.unix_socket) {
      int one = 1;
      ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (!fd) {
      fail(503, strerror(errno));
      return false;
    }
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&b.addr), b.addr_len) != 0 && errno != EINPROGRESS)
      // A unix socket's full backlog (EAGAIN) is the application's overload: 503 too.
      return connect_failed(std::string("connect to ") + b.url + " failed: " + strerror(errno));
    up_ = std::make_unique<core::PlainTransport>(std::move(fd));
  }
  state_ = State::Exchanging;  // a connect in progress shows as writable (or an error) first
  up_writable_ = up_reused_;
  up_readable_ = false;
  uint32_t events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  if (up_reused_) {
    // A pooled connection takes the request before it is watched: when all
    // of it went and no body follows, only the answer is waited for (a
    // writable socket registered for EPOLLOUT would report so at once).
    flush_upstream();
    if (req_done_ && up_out_pos_ == up_out_.size()) events &= ~static_cast<uint32_t>(EPOLLOUT);
  }
  w_.loop().add(up_->fd(), events, this);
  if (!up_reused_) state_ = State::Connecting;
  arm(timeout_ms());
  return true;
}

void FastcgiExchange::release_upstream(bool reusable) {
  close_upstream(reusable);
  if (choice_) choice_->release();  // the busy count on the pool's member
}

void FastcgiExchange::close_upstream(bool reusable) {
  if (!up_) return;
  w_.loop().remove(up_->fd());
  if (reusable) w_.fastcgi_connections().give(app_, 0, std::move(up_));
  up_.reset();
}

void FastcgiExchange::fail(int status, const char* why) {
  core::log(status == 408 || status == 400 ? core::LogLevel::Info : core::LogLevel::Error, "proxy_fcgi",
            "[client {}] [vhost {}] {} {}: {}", req_.client_ip, req_.site->log_name(), status, app_->url, why);
  release_upstream(false);
  core::TimerWheel::cancel(*this);
  status_ = status;
  state_ = State::Done;
  failed_ = true;
}

void FastcgiExchange::abort_client(const char* why) {
  // What was queued for the client leaves if it can (the close then says
  // the body is cut); an HTTP/1.1 client sees no last chunk.
  if (head_sent_) (void)host_.sink().flush();
  if (why)
    core::log(core::LogLevel::Error, "proxy_fcgi", "[client {}] [vhost {}] {}: {}; connection closed", req_.client_ip,
              req_.site->log_name(), app_->url, why);
  release_upstream(false);
  core::TimerWheel::cancel(*this);
  state_ = State::Done;
  aborted_ = true;
}

void FastcgiExchange::retry_fresh() {
  // A pooled connection the application had closed: the request goes
  // again, whole, on a new connection (never a second time).
  close_upstream(false);  // the same member again: its busy count stays held
  retried_ = true;
  up_eof_ = false;
  up_in_.clear();
  up_in_pos_ = 0;
  decoder_.reset(kRequestId);
  build_request();
  if (connect()) pump();
}

void FastcgiExchange::on_io(uint32_t events) {
  if (state_ == State::Done) return;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) up_writable_ = true;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) up_readable_ = true;
  if (state_ == State::Connecting && up_writable_) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(up_->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      if (connect_failed(std::string("connect to ") + app_->url + " failed: " + strerror(err))) pump();
      host_.wake();
      return;
    }
    state_ = State::Exchanging;
    arm(timeout_ms());
  }
  pump();
  host_.wake();
}

void FastcgiExchange::on_timer() {
  if (state_ == State::Done) return;
  auto& sink = host_.sink();
  if (state_ == State::Queued) {  // a member at its max= may have freed up
    state_ = State::Connecting;
    if (begin_exchange()) pump();
  } else if (state_ == State::Spooling) {
    host_.close_after();
    fail(408, "request body read timeout");
  } else if (state_ == State::Connecting) {
    fail(503, "connect timed out");
  } else if (!head_sent_ && !req_done_ && up_out_pos_ == up_out_.size()) {
    // Everything read so far was sent: the client is the one who stalls.
    host_.close_after();
    fail(408, "request body read timeout");
  } else if (!head_sent_) {
    fail(504, "no response within ProxyTimeout");
  } else if (!sink.writable() && sink.pending() > 0) {
    core::log(core::LogLevel::Info, "core", "[client {}] send timeout ({} ms)", req_.client_ip,
              w_.runtime().config().timeout.count());
    abort_client(nullptr);
  } else {
    abort_client("the application stalled mid-response");
  }
  host_.wake();
}

void FastcgiExchange::body_timeout() {
  PILLAR_ASSERT(reading_body());
  host_.close_after();
  if (!head_sent_) fail(408, "request body read timeout");
  else abort_client("request body read timeout");
}

http::Exchange::Outcome FastcgiExchange::outcome() const {
  if (aborted_) return {Outcome::Kind::Cut, status_, body_bytes_};
  // The request body may be half read: the connection goes on only if it was read whole.
  if (failed_) return {Outcome::Kind::Failed, status_, 0, host_.body().done()};
  if (redirecting_) return {Outcome::Kind::Resume, 0, 0, true};  // the phases run again (local_redirect.h)
  return {Outcome::Kind::Answered, status_, body_bytes_};
}

http::Exchange::Step FastcgiExchange::proceed() {
  if (state_ != State::Done) pump();
  return state_ == State::Done ? Step::Done : Step::Again;
}

bool FastcgiExchange::pump_request_body() {
  bool progressed = false;
  auto& body = host_.body();
  while (!req_done_ && up_out_.size() - up_out_pos_ < kBufferMax) {
    std::string_view data;
    switch (body.read(data, kBufferMax - (up_out_.size() - up_out_pos_))) {
      case http::RequestBody::Status::Data:
        fastcgi::append_stdin(up_out_, kRequestId, data);
        body_started_ = true;
        progressed = true;
        continue;
      case http::RequestBody::Status::End:
        fastcgi::append_stdin(up_out_, kRequestId, {});
        req_done_ = true;
        progressed = true;
        continue;
      case http::RequestBody::Status::Again:
        break;
      case http::RequestBody::Status::Bad:
        host_.close_after();
        if (head_sent_) abort_client("malformed chunked request body");
        else fail(400, "malformed chunked request body");
        return false;
      case http::RequestBody::Status::Gone:
        abort_client(nullptr);  // the client left mid-upload
        return false;
    }
    break;
  }
  return progressed;
}

bool FastcgiExchange::flush_upstream() {
  bool progressed = false;
  while (up_out_pos_ < up_out_.size() && up_writable_) {
    iovec iov{up_out_.data() + up_out_pos_, up_out_.size() - up_out_pos_};
    core::Io r = up_->writev(&iov, 1);
    if (r.ok()) {
      up_out_pos_ += r.n;
      progressed = true;
      continue;
    }
    if (r.again()) {
      up_writable_ = false;
      break;
    }
    // The application closed while the request was sent: what it answered
    // (if anything) is read next; reading decides.
    up_eof_ = true;
    up_out_pos_ = up_out_.size();
    break;
  }
  if (up_out_pos_ == up_out_.size()) {
    up_out_.clear();
    up_out_pos_ = 0;
  }
  return progressed;
}

bool FastcgiExchange::read_upstream() {
  bool progressed = false;
  // Nothing is read after END_REQUEST: the connection then goes back to the
  // pool, whose probe finds a close or stray bytes before it is reused.
  while (!ended_ && up_readable_ && !up_eof_ && client_has_room() && up_in_.size() - up_in_pos_ < kBufferMax) {
    if (up_in_pos_ > 0 && (up_in_pos_ == up_in_.size() || up_in_pos_ >= kBufferMax)) {
      up_in_.erase(0, up_in_pos_);
      up_in_pos_ = 0;
    }
    // Read on the stack and appended: a small answer costs its own size,
    // not a 16 KiB allocation zero-filled by resize().
    char chunk[kReadChunk];
    core::Io r = up_->read(chunk, kReadChunk);
    if (r.ok()) {
      up_in_.append(chunk, r.n);
      progressed = true;
      // A short read took all there was: the records are decoded first,
      // and the socket read again (to EAGAIN) only if the request has not
      // ended; up_readable_ stays set until then.
      if (r.n < kReadChunk) break;
      continue;
    }
    if (r.again()) up_readable_ = false;
    else up_eof_ = true;
    progressed = true;
    break;
  }
  return progressed;
}

void FastcgiExchange::on_stderr(std::string_view data, bool flush_all) {
  // Each line of the application's error stream, as Apache logs it (AH01071).
  for (;;) {
    size_t nl = data.find('\n');
    std::string_view part = data.substr(0, nl);
    size_t room = kStderrLineMax - std::min(kStderrLineMax, stderr_line_.size());
    stderr_line_.append(part.substr(0, room));
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
    while (!stderr_line_.empty() && (stderr_line_.back() == '\r')) stderr_line_.pop_back();
    if (!stderr_line_.empty())
      core::log(core::LogLevel::Error, "proxy_fcgi", "[client {}] [vhost {}] FastCGI stderr: {}", req_.client_ip,
                req_.site->log_name(), stderr_line_);
    stderr_line_.clear();
  }
  if (flush_all && !stderr_line_.empty()) {
    core::log(core::LogLevel::Error, "proxy_fcgi", "[client {}] [vhost {}] FastCGI stderr: {}", req_.client_ip,
              req_.site->log_name(), stderr_line_);
    stderr_line_.clear();
  }
}

bool FastcgiExchange::send_head() {
  ScriptHeadOut out;
  switch (write_script_head(host_, req_, head_buf_, kHeadMax, req_done_, w_.loop().http_date(), out)) {
    case ScriptHead::Incomplete: return true;
    case ScriptHead::Malformed:
      fail(502, out.why);
      return false;
    case ScriptHead::Redirect:
      redirecting_ = head_sent_ = discard_body_ = true;
      return true;
    case ScriptHead::Sent: break;
  }
  status_ = out.status;
  known_length_ = out.known_length;
  body_left_ = out.body_left;
  discard_body_ = out.discard_body;
  head_sent_ = true;
  return on_stdout(out.rest);
}

bool FastcgiExchange::on_stdout(std::string_view data) {
  got_bytes_ = true;
  if (!head_sent_) {
    head_buf_.append(data);
    return send_head();
  }
  if (discard_body_ || data.empty()) return true;
  if (known_length_) {
    if (data.size() > body_left_) {
      if (!excess_logged_)
        core::log(core::LogLevel::Warn, "proxy_fcgi", "[client {}] [vhost {}] the script wrote more than its Content-Length; "
                  "the rest is dropped", req_.client_ip, req_.site->log_name());
      excess_logged_ = true;
      data = data.substr(0, static_cast<size_t>(body_left_));
    }
    body_left_ -= data.size();
  }
  if (data.empty()) return true;
  host_.sink().body(data);
  body_bytes_ += data.size();
  return true;
}

bool FastcgiExchange::decode() {
  bool progressed = false;
  // Once the head is out, records are decoded only while the client has
  // room: the rest waits in up_in_, and the socket is not read meanwhile.
  while (state_ != State::Done && !ended_ && up_in_pos_ < up_in_.size() && (!head_sent_ || client_has_room())) {
    auto e = decoder_.next(std::string_view(up_in_).substr(up_in_pos_));
    up_in_pos_ += e.consumed;
    progressed = progressed || e.consumed > 0;
    using E = fastcgi::RecordDecoder::Event;
    if (e.kind == E::Stdout) {
      if (!on_stdout(e.data)) return true;
      continue;
    }
    if (e.kind == E::Stderr) {
      on_stderr(e.data, false);
      continue;
    }
    if (e.kind == E::End) {
      ended_ = true;
      on_stderr({}, true);
      if (e.protocol_status != fastcgi::ProtocolStatus::RequestComplete) {
        const char* why = e.protocol_status == fastcgi::ProtocolStatus::Overloaded ? "the application is overloaded"
                          : e.protocol_status == fastcgi::ProtocolStatus::CantMpxConn
                              ? "the application refused a second request on the connection"
                              : "the application refused the responder role";
        if (!head_sent_) fail(503, why);
        else abort_client(why);
        return true;
      }
      if (!head_sent_) {
        fail(502, head_buf_.empty() ? "the application ended the request without a response"
                                    : "the application ended the request inside its response head");
        return true;
      }
      if (known_length_ && body_left_ > 0) {
        abort_client("the script's body is shorter than its Content-Length");
        return true;
      }
      if (!redirecting_) host_.sink().end_body();
      return true;
    }
    if (e.kind == E::Error) {
      if (!head_sent_) fail(502, e.error);
      else abort_client(e.error);
      return true;
    }
    break;  // NeedMore
  }
  if (up_in_pos_ == up_in_.size()) {
    up_in_.clear();
    up_in_pos_ = 0;
  }
  if (state_ != State::Done && !ended_ && up_eof_ && up_in_pos_ == up_in_.size()) {
    if (!head_sent_ && up_reused_ && !got_bytes_ && !body_started_ && !retried_) {
      retry_fresh();
      return true;
    }
    on_stderr({}, true);
    if (!head_sent_) fail(502, "the application closed the connection before the end of its response");
    else abort_client("the application closed the connection mid-response");
    return true;
  }
  return progressed;
}

void FastcgiExchange::pump() {
  auto& sink = host_.sink();
  if (state_ == State::Spooling && !spool_body()) return;
  for (int guard = 0; guard < 1000 && state_ != State::Done; ++guard) {
    bool progressed = false;
    if (head_sent_) {
      uint64_t before = sink.written();
      if (sink.flush() == http::ResponseSink::Result::Error) {
        abort_client(nullptr);  // the client went away
        return;
      }
      progressed = sink.written() != before;
    }
    if (state_ == State::Exchanging) {
      progressed = pump_request_body() || progressed;
      if (state_ == State::Done) return;
      progressed = flush_upstream() || progressed;
      progressed = read_upstream() || progressed;
      progressed = decode() || progressed;
      if (state_ == State::Done) return;
      if (progressed) {
        bool blocked = head_sent_ && !sink.writable() && sink.pending() > 0;
        arm(blocked ? static_cast<uint64_t>(w_.runtime().config().timeout.count()) : timeout_ms());
      }
    }
    if (ended_ && head_sent_) {
      uint64_t before = sink.written();
      if (sink.flush() == http::ResponseSink::Result::Error) {
        abort_client(nullptr);
        return;
      }
      if (sink.pending() == 0) {
        finish();
        return;
      }
      progressed = progressed || sink.written() != before;
    }
    if (!progressed) return;
  }
}

void FastcgiExchange::finish() {
  // Reusable only when the application is at a record boundary with nothing
  // more to say and had the whole request.
  bool reusable = ended_ && req_done_ && up_out_pos_ == up_out_.size() && up_in_pos_ == up_in_.size() && !up_eof_;
  release_upstream(reusable);
  core::TimerWheel::cancel(*this);
  state_ = State::Done;
}

}  // namespace pillar::server

// The CGI exchange: see cgi_exchange.h. Shaped as FastcgiExchange: pump()
// moves what can move (client body -> stdin pipe; stdout pipe -> CGI head
// -> client; stderr -> log; launcher messages) until nothing progresses,
// and runs again on any channel's readiness or its timer.
#include "server/cgi_exchange.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "core/assert.h"
#include "core/log.h"
#include "core/socket_address.h"
#include "core/text.h"
#include "fastcgi/cgi_env.h"
#include "fastcgi/cgi_response.h"
#include "server/script_head.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {
namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kStderrLineMax = 4096;
constexpr const char* kSafePath = "/usr/local/bin:/usr/bin:/bin";  // suexec's AP_SAFE_PATH

bool set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

}  // namespace

CgiExchange::CgiExchange(http::ExchangeHost& host, WorkerLoop& w, Request& req, const sockaddr_storage& local,
                         CgiRoute route)
    : host_(host), w_(w), req_(req), local_(local), route_(std::move(route)) {
  PILLAR_ASSERT(route_.kind == CgiRoute::Kind::Run);
  for (int i = 0; i < kChannels; ++i) {
    watch_[i].x = this;
    watch_[i].ch = static_cast<Channel>(i);
  }
}

CgiExchange::~CgiExchange() { release(); }

void CgiExchange::release() {
  core::TimerWheel::cancel(*this);
  for (int i = 0; i < kChannels; ++i) close_channel(static_cast<Channel>(i));
  for (auto& e : child_ends_) e.reset();
}

void CgiExchange::close_channel(Channel ch) {
  if (!fd_[ch]) return;
  w_.loop().remove(fd_[ch].get());
  fd_[ch].reset();  // the launcher connection closing stops the script
  ready_[ch] = false;
}

void CgiExchange::arm(uint64_t ms) { w_.loop().timers().arm(*this, w_.loop().now_ms() + ms); }

bool CgiExchange::client_has_room() const { return host_.sink().pending() < kBufferMax; }

namespace {

// What suexec lets through to a script it runs as another user, of the
// request's own variables (SetEnv, SetEnvIf, E=, a local redirect's
// REDIRECT_*): its safe names and the HTTP_ and SSL_ prefixes, so that an
// .htaccess SetEnv cannot hand a customer's script LD_PRELOAD or IFS.
bool suexec_safe(std::string_view name) {
  static constexpr std::string_view kSafe[] = {
      "AUTH_TYPE",     "HTTPS",          "REDIRECT_ERROR_NOTES",  "REDIRECT_HANDLER", "REDIRECT_QUERY_STRING",
      "REDIRECT_REMOTE_USER", "REDIRECT_SCRIPT_FILENAME", "REDIRECT_STATUS", "REDIRECT_URL", "REMOTE_USER",
      "REQUEST_SCHEME", "SCRIPT_URI",    "SCRIPT_URL",            "TZ",               "UNIQUE_ID"};
  if (name.starts_with("HTTP_") || name.starts_with("SSL_")) return true;
  for (std::string_view s : kSafe)
    if (name == s) return true;
  return false;
}

}  // namespace

bool CgiExchange::build_launch(std::string& msg) {
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
  c.server_name = req_.host.empty() ? std::string_view(req_.site->cfg->server_name) : std::string_view(req_.host);
  c.server_addr = server_addr;
  c.server_port = core::address_port(local_);
  c.remote_addr = req_.client_ip;
  c.remote_port = core::address_port(req_.client);
  c.https = req_.https;
  c.version_major = h.version_major;
  c.version_minor = h.version_minor;
  c.fields = h.headers;
  c.has_content_length = h.has_content_length;
  c.content_length = h.content_length;
  c.backend = config::FcgiBackendType::Generic;  // the plain file name
  c.pass_auth = false;
  std::vector<http::RequestEnv::Entry> passed;
  if (route_.identity == LaunchRequest::Identity::Server) {
    c.request_env = req_.env.entries();
  } else {
    for (const auto& e : req_.env.entries())
      if (suexec_safe(e.first)) passed.push_back(e);
    c.request_env = passed;
  }
  fastcgi::CgiEnv env;
  fastcgi::build_cgi_env(c, env);
  LaunchRequest lr;
  lr.program = route_.script_filename;
  lr.identity = route_.identity;
  lr.user = route_.user;
  lr.group = route_.group;
  lr.root = route_.root;
  lr.limits = route_.limits;
  lr.env.reserve(env.size() + 1);
  lr.env.push_back(std::string("PATH=") + kSafePath);
  for (const auto& [name, value] : env) {
    if (value.find('\0') != std::string::npos) continue;
    lr.env.push_back(name + "=" + value);
  }
  msg = encode_launch_request(lr);
  return msg.size() <= kLaunchMessageMax;
}

void CgiExchange::start() {
  if (!launcher_address().valid()) return fail(503, "no CGI launcher (its socket could not be opened at start)");
  if (!build_launch(launch_msg_)) return fail(500, "the request's CGI environment is too large for the CGI launcher");
  // The three pipes: the script's ends go to the launcher, ours stay here (non-blocking).
  int p[3][2];
  for (int i = 0; i < 3; ++i) {
    if (pipe2(p[i], O_CLOEXEC) != 0) {
      for (int j = 0; j < i; ++j) {
        core::Fd{p[j][0]}.reset();
        core::Fd{p[j][1]}.reset();
      }
      return fail(503, std::string("pipe: ") + strerror(errno));
    }
  }
  child_ends_[0].reset(p[0][0]);
  fd_[kIn].reset(p[0][1]);
  fd_[kOut].reset(p[1][0]);
  child_ends_[1].reset(p[1][1]);
  fd_[kErr].reset(p[2][0]);
  child_ends_[2].reset(p[2][1]);
  fd_[kCtl].reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_[kCtl]) return fail(503, std::string("socket: ") + strerror(errno));
  int sndbuf = static_cast<int>(2 * kLaunchMessageMax);  // capped by net.core.wmem_max (doubled): enough for the message
  ::setsockopt(fd_[kCtl].get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  const LauncherAddress& a = launcher_address();
  if (::connect(fd_[kCtl].get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0) {
    // EAGAIN: the launcher's backlog is full (it is overloaded or not running).
    return fail(503, std::string("cannot reach the CGI launcher: ") + strerror(errno));
  }
  for (Channel ch : {kIn, kOut, kErr}) set_nonblock(fd_[ch].get());
  w_.loop().add(fd_[kCtl].get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &watch_[kCtl]);
  w_.loop().add(fd_[kIn].get(), EPOLLOUT | EPOLLET, &watch_[kIn]);
  w_.loop().add(fd_[kOut].get(), EPOLLIN | EPOLLRDHUP | EPOLLET, &watch_[kOut]);
  w_.loop().add(fd_[kErr].get(), EPOLLIN | EPOLLRDHUP | EPOLLET, &watch_[kErr]);
  ready_[kCtl] = ready_[kIn] = ready_[kOut] = ready_[kErr] = true;  // try once; EAGAIN clears them
  arm(static_cast<uint64_t>(route_.timeout.count()));
  pump();
}

bool CgiExchange::send_launch() {
  if (launch_msg_.empty() || !ready_[kCtl]) return false;
  iovec iov{launch_msg_.data(), launch_msg_.size()};
  int fds[3] = {child_ends_[0].get(), child_ends_[1].get(), child_ends_[2].get()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof fds)] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  ssize_t n = ::sendmsg(fd_[kCtl].get(), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) {
      ready_[kCtl] = false;
      return false;
    }
    fail(503, std::string("cannot reach the CGI launcher: ") + strerror(errno));
    return true;
  }
  launch_msg_.clear();
  launch_msg_.shrink_to_fit();
  // The launcher (then the script) holds these now: our copies go, so the
  // script's end of stdout is the only writer left (its EOF is the script's).
  for (auto& e : child_ends_) e.reset();
  return true;
}

void CgiExchange::on_io(Channel ch, uint32_t events) {
  if (done_) return;
  (void)events;
  ready_[ch] = true;
  pump();
  host_.wake();
}

void CgiExchange::on_timer() {
  if (done_) return;
  auto& sink = host_.sink();
  const uint64_t secs = static_cast<uint64_t>(route_.timeout.count()) / 1000;
  if (!head_sent_ && !req_done_ && in_pos_ == in_buf_.size() && launch_msg_.empty() && started_) {
    // Everything the client sent so far went to the script, which waits for more: the client stalls.
    host_.close_after();
    fail(408, "request body read timeout");
  } else if (!head_sent_) {
    fail(504, "no output from the script within CGIDScriptTimeout (" + std::to_string(secs) +
                  " s): " + route_.script_filename + "; the script is stopped");
  } else if (!sink.writable() && sink.pending() > 0) {
    core::log(core::LogLevel::Info, "core", "[client {}] send timeout ({} ms)", req_.client_ip,
              w_.runtime().config().timeout.count());
    abort_client(nullptr);
  } else {
    abort_client("the script stalled mid-response (CGIDScriptTimeout); it is stopped");
  }
  host_.wake();
}

void CgiExchange::body_timeout() {
  PILLAR_ASSERT(reading_body());
  host_.close_after();
  if (!head_sent_) fail(408, "request body read timeout");
  else abort_client("request body read timeout");
}

bool CgiExchange::abort(bool) {
  if (!done_) {
    done_ = aborted_ = true;
  }
  release();  // the launcher stops the script
  return false;
}

http::Exchange::Outcome CgiExchange::outcome() const {
  if (aborted_) return {Outcome::Kind::Cut, status_, body_bytes_};
  if (failed_) return {Outcome::Kind::Failed, status_, 0, host_.body().done()};
  if (redirecting_) return {Outcome::Kind::Resume, 0, 0, true};  // the phases run again (local_redirect.h)
  return {Outcome::Kind::Answered, status_, body_bytes_};
}

http::Exchange::Step CgiExchange::proceed() {
  if (!done_) pump();
  return done_ ? Step::Done : Step::Again;
}

void CgiExchange::fail(int status, const std::string& why) {
  core::log(status == 408 || status == 400 ? core::LogLevel::Info : core::LogLevel::Error, "cgid",
            "[client {}] [vhost {}] {} {}", req_.client_ip, req_.site->log_name(), status, why);
  release();
  status_ = status;
  done_ = failed_ = true;
}

void CgiExchange::abort_client(const char* why) {
  if (head_sent_) (void)host_.sink().flush();
  if (why)
    core::log(core::LogLevel::Error, "cgid", "[client {}] [vhost {}] {}: {}; connection closed", req_.client_ip,
              req_.site->log_name(), route_.script_filename, why);
  release();
  done_ = aborted_ = true;
}

void CgiExchange::finish() {
  log_exit();
  release();
  done_ = true;
}

bool CgiExchange::pump_request_body() {
  bool progressed = false;
  auto& body = host_.body();
  while (!req_done_ && fd_[kIn]) {
    if (in_pos_ == in_buf_.size()) {
      in_buf_.clear();
      in_pos_ = 0;
      std::string_view data;
      switch (body.read(data, kBufferMax)) {
        case http::RequestBody::Status::Data:
          in_buf_.assign(data);
          progressed = true;
          break;
        case http::RequestBody::Status::End:
          req_done_ = true;
          close_channel(kIn);  // the script reads EOF
          return true;
        case http::RequestBody::Status::Again:
          return progressed;
        case http::RequestBody::Status::Bad:
          host_.close_after();
          if (head_sent_) abort_client("malformed chunked request body");
          else fail(400, "malformed chunked request body");
          return false;
        case http::RequestBody::Status::Gone:
          abort_client(nullptr);  // the client left mid-upload
          return false;
      }
    }
    if (!ready_[kIn]) return progressed;
    ssize_t n = ::write(fd_[kIn].get(), in_buf_.data() + in_pos_, in_buf_.size() - in_pos_);
    if (n > 0) {
      in_pos_ += static_cast<size_t>(n);
      progressed = true;
      arm(static_cast<uint64_t>(route_.timeout.count()));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      ready_[kIn] = false;
      return progressed;
    }
    // EPIPE: the script does not read its stdin (it may answer anyway);
    // the rest of the body is not read, so the connection ends after.
    close_channel(kIn);
    body_dropped_ = true;
    req_done_ = true;
    host_.close_after();
    return true;
  }
  return progressed;
}

bool CgiExchange::read_stdout() {
  bool progressed = false;
  char buf[kReadChunk];
  while (fd_[kOut] && ready_[kOut] && (!head_sent_ || client_has_room()) && !done_) {
    ssize_t n = ::read(fd_[kOut].get(), buf, sizeof buf);
    if (n > 0) {
      progressed = true;
      arm(static_cast<uint64_t>(route_.timeout.count()));
      if (!on_stdout(std::string_view(buf, static_cast<size_t>(n)))) return true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      ready_[kOut] = false;
      break;
    }
    out_eof_ = true;  // the script closed its stdout (it ended, most likely)
    close_channel(kOut);
    progressed = true;
    break;
  }
  return progressed;
}

bool CgiExchange::read_stderr() {
  bool progressed = false;
  char buf[kReadChunk];
  while (fd_[kErr] && ready_[kErr]) {
    ssize_t n = ::read(fd_[kErr].get(), buf, sizeof buf);
    if (n > 0) {
      on_stderr(std::string_view(buf, static_cast<size_t>(n)), false);
      progressed = true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      ready_[kErr] = false;
      break;
    }
    on_stderr({}, true);
    err_eof_ = true;
    close_channel(kErr);
    progressed = true;
    break;
  }
  return progressed;
}

bool CgiExchange::read_ctl() {
  bool progressed = false;
  while (fd_[kCtl] && ready_[kCtl] && launch_msg_.empty()) {
    char buf[4096];
    ssize_t n = ::recv(fd_[kCtl].get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      ready_[kCtl] = false;
      break;
    }
    progressed = true;
    if (n <= 0) {
      ctl_gone_ = true;  // the launcher went away (killed, restarted)
      close_channel(kCtl);
      break;
    }
    LaunchReply r;
    if (!decode_launch_reply(std::string_view(buf, static_cast<size_t>(n)), r)) {
      fail(500, "malformed message from the CGI launcher");
      return true;
    }
    if (r.kind == LaunchReply::Kind::Started) {
      started_ = true;
      pid_ = r.pid;
    } else if (r.kind == LaunchReply::Kind::Exited) {
      exited_ = true;
      wait_status_ = r.value;
    } else {
      // suexec refused it, or it could not be executed: nothing ran.
      if (!head_sent_) fail(r.value >= 400 && r.value <= 599 ? r.value : 500, r.message);
      else abort_client(r.message.c_str());
      return true;
    }
  }
  return progressed;
}

void CgiExchange::on_stderr(std::string_view data, bool flush_all) {
  // Each line of the script's error stream, as Apache logs it (AH01215).
  auto emit = [&] {
    while (!stderr_line_.empty() && stderr_line_.back() == '\r') stderr_line_.pop_back();
    if (!stderr_line_.empty())
      core::log(core::LogLevel::Error, "cgid", "[client {}] [vhost {}] {}: {}", req_.client_ip, req_.site->log_name(),
                stderr_line_, route_.script_filename);
    stderr_line_.clear();
  };
  for (;;) {
    size_t nl = data.find('\n');
    std::string_view part = data.substr(0, nl);
    size_t room = kStderrLineMax - std::min(kStderrLineMax, stderr_line_.size());
    stderr_line_.append(part.substr(0, room));
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
    emit();
  }
  if (flush_all) emit();
}

// A SIGKILL the exchange saw came from the kernel (Pillar stops a script
// only after the exchange is over): the hard RLimitCPU, or memory.
std::string CgiExchange::kernel_kill_hint() const {
  if (!WIFSIGNALED(wait_status_) || WTERMSIG(wait_status_) != SIGKILL) return {};
  return route_.limits.cpu.set ? ", by the kernel: its CPU time reached the hard RLimitCPU, or memory ran out"
                               : ", by the kernel (out of memory?)";
}

void CgiExchange::log_exit() {
  if (!exited_ || exit_logged_) return;
  exit_logged_ = true;
  if (WIFEXITED(wait_status_)) return;  // its own exit status is the script's business
  core::log(core::LogLevel::Error, "cgid", "[client {}] [vhost {}] script {} (pid {}) {}{}", req_.client_ip,
            req_.site->log_name(), route_.script_filename, pid_, describe_wait_status(wait_status_), kernel_kill_hint());
}

bool CgiExchange::send_head() {
  ScriptHeadOut out;
  switch (write_script_head(host_, req_, head_buf_, kHeadMax, req_done_, w_.loop().http_date(), out)) {
    case ScriptHead::Incomplete: return true;
    case ScriptHead::Malformed:
      fail(500, std::string("malformed header from script ") + route_.script_filename + ": " + out.why);
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

bool CgiExchange::on_stdout(std::string_view data) {
  if (!head_sent_) {
    head_buf_.append(data);
    return send_head();
  }
  if (discard_body_ || data.empty()) return true;
  if (known_length_) {
    if (data.size() > body_left_) {
      if (!excess_logged_)
        core::log(core::LogLevel::Warn, "cgid", "[client {}] [vhost {}] the script wrote more than its Content-Length; "
                  "the rest is dropped: {}", req_.client_ip, req_.site->log_name(), route_.script_filename);
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

bool CgiExchange::decide() {
  if (done_) return true;
  if (!head_sent_) {
    if (ctl_gone_ && !exited_) {
      // The launcher died (its scripts die with it): answer now rather than
      // wait for the script's pipes.
      fail(503, std::string("the CGI launcher went away ") + (started_ ? "while " : "before starting ") +
                    route_.script_filename + (started_ ? " ran" : "") + "; it is restarted");
      return true;
    }
    if (out_eof_ && (exited_ || ctl_gone_)) {
      std::string how = exited_ ? " (" + describe_wait_status(wait_status_) + kernel_kill_hint() + ")" : std::string();
      exit_logged_ = true;
      fail(500, std::string(head_buf_.empty() ? "End of script output before headers: "
                                              : "the script ended inside its response head: ") +
                    route_.script_filename + how);
      return true;
    }
    return false;
  }
  if (!out_eof_) return false;
  if (known_length_ && body_left_ > 0) {
    abort_client("the script's body is shorter than its Content-Length");
    return true;
  }
  return false;  // the last bytes leave, then finish() (pump)
}

void CgiExchange::pump() {
  auto& sink = host_.sink();
  for (int guard = 0; guard < 1000 && !done_; ++guard) {
    bool progressed = false;
    if (head_sent_) {
      uint64_t before = sink.written();
      if (sink.flush() == http::ResponseSink::Result::Error) {
        abort_client(nullptr);  // the client went away
        return;
      }
      progressed = sink.written() != before;
    }
    progressed = send_launch() || progressed;
    if (done_) return;
    if (launch_msg_.empty()) {
      progressed = read_ctl() || progressed;
      if (done_) return;
      progressed = pump_request_body() || progressed;
      if (done_) return;
      progressed = read_stderr() || progressed;
      progressed = read_stdout() || progressed;
      if (done_) return;
      if (decide()) return;
    }
    if (head_sent_ && out_eof_ && !body_ended_) {
      body_ended_ = true;
      on_stderr({}, true);
      if (!redirecting_) sink.end_body();
      progressed = true;
    }
    if (body_ended_) {
      if (sink.flush() == http::ResponseSink::Result::Error) {
        abort_client(nullptr);
        return;
      }
      if (sink.pending() == 0) {
        // The head and body are out; stderr's last lines and the exit status
        // are logged if they are already here (the launcher logs a CPU kill itself).
        // A script writes its stderr before its stdout closes at exit, but the
        // loop may not have reported the stderr pipe readable yet: read it
        // anyway (non-blocking), or its last lines would be lost.
        ready_[kErr] = true;
        (void)read_stderr();
        (void)read_ctl();
        finish();
        return;
      }
    }
    if (!progressed) return;
  }
}

}  // namespace pillar::server

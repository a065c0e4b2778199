// One request answered by a CGI script (mod_cgid): the worker asks the CGI
// launcher (server/process/cgi_launcher.h) to start the script with three
// pipes it made, then, on its own loop, streams the request body into the
// script's stdin while it arrives, parses its stdout as a CGI response
// (fastcgi/cgi_response.h: Status:, Location:, fields) and streams the body
// to the client with back-pressure: stdout is read only while less than
// kBufferMax bytes wait for the client, so a slow client holds the script
// back (its pipe fills, its write blocks) instead of filling memory. Each
// stderr line goes to the error log with the client and the vhost. The
// environment is the CGI/1.1 one of fastcgi/cgi_env.h, plus PATH.
//
// Failures: a refusal by the launcher (suexec's checks, exec failing) is
// the status it gives (500), logged with its reason; no launcher, or the
// launcher gone before the head -> 503 at once; no output within
// CGIDScriptTimeout (default Timeout, re-armed at each byte) -> 504, or a
// cut response once the head went out; a malformed head, or the script
// ending before one -> 500 ("End of script output before headers"). The
// way the script ended (a signal: RLimitCPU's SIGXCPU...) is logged. Closing
// the launcher connection, when the exchange ends for any reason, has the
// launcher stop what is left of the script.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/event_loop.h"
#include "core/fd.h"
#include "core/timer_wheel.h"
#include "http/exchange.h"
#include "server/cgi_launch.h"
#include "server/cgi_route.h"
#include "server/request/request.h"

namespace pillar::server {

class WorkerLoop;

class CgiExchange final : public http::Exchange, public core::TimerNode {
 public:
  static constexpr size_t kBufferMax = 64 * 1024;
  static constexpr size_t kHeadMax = 64 * 1024;

  CgiExchange(http::ExchangeHost& host, WorkerLoop& w, Request& req, const sockaddr_storage& local, CgiRoute route);
  ~CgiExchange() override;

  void start();
  Step proceed() override;
  void on_timer() override;
  Outcome outcome() const override;
  bool reading_body() const override { return !done_ && !req_done_; }
  void body_timeout() override;
  bool abort(bool may_go_on) override;

 private:
  enum Channel : uint8_t { kCtl, kIn, kOut, kErr, kChannels };
  struct Watch final : core::IoWatcher {
    CgiExchange* x = nullptr;
    Channel ch = kCtl;
    void on_io(uint32_t events) override { x->on_io(ch, events); }
  };
  void on_io(Channel ch, uint32_t events);
  bool build_launch(std::string& msg);
  bool send_launch();
  void pump();
  bool pump_request_body();
  bool read_stdout();
  bool read_stderr();
  bool read_ctl();
  bool decide();  // after the channels moved: ends the exchange when it can
  bool on_stdout(std::string_view data);
  bool send_head();
  void on_stderr(std::string_view data, bool flush_all);
  void log_exit();
  std::string kernel_kill_hint() const;
  void fail(int status, const std::string& why);
  void abort_client(const char* why);
  void finish();
  void close_channel(Channel ch);
  void release();
  void arm(uint64_t ms);
  bool client_has_room() const;

  http::ExchangeHost& host_;
  WorkerLoop& w_;
  Request& req_;  // a local redirect sets the path the phases run again for
  const sockaddr_storage& local_;
  CgiRoute route_;
  core::Fd fd_[kChannels];
  Watch watch_[kChannels];
  bool ready_[kChannels] = {};  // edge-triggered readiness not yet used up
  std::string launch_msg_;      // until sent
  core::Fd child_ends_[3];      // the script's stdin, stdout, stderr ends, until sent to the launcher

  // Client -> script.
  std::string in_buf_;
  size_t in_pos_ = 0;
  bool req_done_ = false, body_dropped_ = false;

  // Script -> client.
  std::string head_buf_;
  bool head_sent_ = false, out_eof_ = false, err_eof_ = false, body_ended_ = false;
  bool redirecting_ = false;  // a local redirect: the script's answer is dropped
  bool known_length_ = false, discard_body_ = false, excess_logged_ = false;
  uint64_t body_left_ = 0;
  std::string stderr_line_;

  // The launcher.
  bool started_ = false, exited_ = false, ctl_gone_ = false, exit_logged_ = false;
  int32_t pid_ = 0, wait_status_ = 0;

  int status_ = 0;
  uint64_t body_bytes_ = 0;
  bool done_ = false, failed_ = false, aborted_ = false;
};

}  // namespace pillar::server

// One request answered by a FastCGI application (PHP-FPM), as Apache's
// mod_proxy_fcgi does: BEGIN_REQUEST with FCGI_KEEP_CONN, the CGI/1.1
// environment as PARAMS, the request body streamed as STDIN records while
// it arrives, and the application's STDOUT parsed as a CGI response (the
// head: Status:, Location:, fields) and streamed to the client with
// back-pressure: the application's socket is read only while less than
// kBufferMax bytes wait for the client, so a slow client holds one buffer,
// never the whole response. STDERR lines go to the error log with the
// client and the vhost.
//
// Its own non-blocking socket (unix or TCP) on the worker loop, its own
// timer: connect refused or the socket missing -> 503 at once, logged; no
// answer within ProxyTimeout -> 504; garbage, a truncated record stream or
// a close before END_REQUEST -> 502 (or a cut response once bytes went
// out). A connection that ended its request cleanly goes back to a small
// per-loop pool of idle connections (WorkerLoop::fastcgi_connections) and is reused; one that
// the application closed while pooled is dropped when it is next taken (an
// error before any answer on a reused connection is retried once on a fresh
// one, when the request had no body). A balancer of fcgi:// members picks
// one with the balancer's method (sticky routes included) and, when a
// member refuses the connection, tries another before any body byte was
// taken from the client.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "core/transport.h"
#include "fastcgi/record.h"
#include "core/shm/scoreboard.h"
#include "http/exchange.h"
#include "proxy/member_choice.h"
#include "server/fastcgi_route.h"
#include "server/request/request.h"

namespace pillar::server {

class WorkerLoop;

class FastcgiExchange final : public http::Exchange, public core::IoWatcher, public core::TimerNode {
 public:
  static constexpr size_t kBufferMax = 64 * 1024;
  static constexpr size_t kHeadMax = 64 * 1024;  // a CGI head larger than this is the application's fault (502)

  // `slot`: the connection's scoreboard slot, where the busy count on a
  // balancer's member is recorded (SetHandler "proxy:balancer://...").
  FastcgiExchange(http::ExchangeHost& host, WorkerLoop& w, Request& req, const sockaddr_storage& local,
                  core::shm::ConnSlot& slot, FastcgiRoute route);
  ~FastcgiExchange() override;

  void start();
  Step proceed() override;               // the client's socket is ready, or after wake()
  void on_io(uint32_t events) override;  // the application's socket
  void on_timer() override;

  bool finished() const { return state_ == State::Done; }
  // Done without a response: the connection answers `status()` itself.
  bool failed() const { return failed_; }
  // Done after response bytes went out, or the client left: close.
  bool aborted() const { return aborted_; }
  int status() const { return status_; }
  uint64_t body_bytes() const { return body_bytes_; }
  // Still reading the client's request body (the connection runs its
  // RequestReadTimeout body= timer meanwhile); body_timeout(): it ran out:
  // 408 before the head, else the response is cut.
  bool reading_body() const override { return state_ != State::Done && !req_done_; }
  void body_timeout() override;
  Outcome outcome() const override;

 private:
  enum class State : uint8_t { Spooling, Queued, Connecting, Exchanging, Done };
  // A chunked request body is read whole first (up to kSpoolMax), as
  // nginx does: PHP reads a body only as long as CONTENT_LENGTH says.
  static constexpr size_t kSpoolMax = 8 * 1024 * 1024;
  bool spool_body();  // false while more is to come
  std::string spool_;
  bool spooled_ = false;
  bool connect();
  // A pool of fcgi:// members: the member that takes the request (false:
  // none now; answered 503, or Queued until one at its max= frees up).
  bool choose_member();
  bool begin_exchange();  // choose (if pooled), build the records, connect
  bool connect_failed(const std::string& why);  // another member, or 503
  void build_request();
  void pump();
  bool pump_request_body();
  bool flush_upstream();
  bool read_upstream();
  bool decode();
  bool on_stdout(std::string_view data);
  void on_stderr(std::string_view data, bool flush_all);
  bool send_head();  // once head_buf_ holds a complete CGI head
  void fail(int status, const char* why);
  void abort_client(const char* why);
  void finish();
  void release_upstream(bool reusable);  // and the busy count on a pool's member
  void close_upstream(bool reusable);
  void retry_fresh();
  uint64_t timeout_ms() const;
  void arm(uint64_t ms);
  bool client_has_room() const;

  http::ExchangeHost& host_;
  WorkerLoop& w_;
  Request& req_;  // a local redirect sets the path the phases run again for
  const sockaddr_storage& local_;
  FastcgiRoute route_;
  const config::FcgiBackend* app_;            // the application connected to: the route's, or the chosen member's
  std::unique_ptr<proxy::MemberChoice> choice_;  // a balancer's pool: its members
  State state_ = State::Connecting;
  std::unique_ptr<core::Transport> up_;
  bool up_reused_ = false, retried_ = false;
  bool up_writable_ = false, up_readable_ = false, up_eof_ = false;

  // Pillar -> application: records not yet written.
  std::string up_out_;
  size_t up_out_pos_ = 0;
  bool has_body_ = false, body_started_ = false, req_done_ = false;

  // Application -> Pillar.
  std::string up_in_;
  size_t up_in_pos_ = 0;
  fastcgi::RecordDecoder decoder_;
  std::string head_buf_;  // STDOUT bytes until the CGI head is complete
  bool head_sent_ = false;
  bool got_bytes_ = false;
  bool ended_ = false;
  bool known_length_ = false;
  bool redirecting_ = false;   // a local redirect: the script's answer is dropped
  bool discard_body_ = false;  // HEAD, 204, 304: the script's body is not sent
  bool excess_logged_ = false;
  uint64_t body_left_ = 0;  // the script's Content-Length, when it gave one
  std::string stderr_line_;

  int status_ = 0;
  uint64_t body_bytes_ = 0;
  bool failed_ = false, aborted_ = false;
};

}  // namespace pillar::server

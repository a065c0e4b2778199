// One proxied request: the client's request is streamed to a balancer
// member and the member's response streamed back, both with back-pressure
// (at most kBufferMax bytes are held each way), re-framed for each side
// (Content-Length, chunked or close-delimited), hop-by-hop headers removed,
// X-Forwarded-For/-Proto/-Host and Via added. A reused upstream connection
// that fails before any response byte goes again to the same member on a
// fresh connection; a connect failure, or a fresh connection that fails
// before any response byte of an idempotent request, is retried on another
// member. 502/503/504 as Apache. Under CacheEnable it also does the cache's
// share of the relay: interim responses passed on (cache::forward_interim),
// targeted cache-control fields left out of the client's head (RFC 9213),
// and an unsafe method's invalidation once the origin's head is in (RFC 9111
// §4.4).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/event_loop.h"
#include "core/fd.h"
#include "core/shm/scoreboard.h"
#include "core/timer_wheel.h"
#include "core/transport.h"
#include "http/chunked_decoder.h"
#include "http/exchange.h"
#include "http/response_parser.h"
#include "proxy/balancer.h"
#include "proxy/member_choice.h"
#include "server/request/request.h"

namespace pillar::proxy {
struct BalancerRuntime;
}

namespace pillar::server {

class WorkerLoop;
struct LocationRoute;
struct CacheFill;

class ProxyExchange final : public core::IoWatcher, public core::TimerNode, public http::Exchange {
 public:
  // Drops this thread's spare exchange buffers (a loop's memory trim).
  static void release_spare_buffers();
  static constexpr size_t kBufferMax = 64 * 1024;

  // `host` carries the client (its sink and body); the exchange reports
  // progress through it. `slot` records the member busy count it holds.
  ProxyExchange(http::ExchangeHost& host, WorkerLoop& w, proxy::BalancerRuntime& b, const Request& req,
                const sockaddr_storage& local, core::shm::ConnSlot& slot, std::string upstream_target);
  ~ProxyExchange() override;

  // The member's path for a request routed to `route`: ProxyPassMatch's
  // template filled with the groups, or ProxyPass's path + what follows the
  // prefix (as received, still encoded), and the query.
  static std::string target_for(const LocationRoute& route, const Request& req);

  void start();
  void on_client_io();           // the client is readable or writable
  // http::Exchange
  Step proceed() override {
    on_client_io();
    return finished() ? Step::Done : Step::Again;
  }
  Outcome outcome() const override;
  bool abort(bool may_go_on) override;
  void on_io(uint32_t events) override;  // the upstream socket
  void on_timer() override;
  bool finished() const { return state_ == State::Done; }
  // Still reading the client's request body: the connection runs its
  // RequestReadTimeout body= timer (and MinRate) meanwhile.
  bool reading_body() const override { return state_ != State::Done && !req_done_ && !tunnel_; }
  // That timer ran out: 408 if the member has not answered yet, else the
  // response is cut; the member connection is closed either way.
  void body_timeout() override;
  // Done without a response: the connection answers `status()` itself.
  bool failed() const { return failed_; }
  // Done after response bytes went out: the connection must just close.
  bool aborted() const { return aborted_; }
  int status() const { return status_; }
  uint64_t body_bytes() const { return body_bytes_; }
  // The cache phase: tee the response into the store; X-Cache for the client.
  void set_fill(std::unique_ptr<CacheFill> f);
  const CacheFill* fill() const { return fill_.get(); }
  // The client is slower than the member while the store fills: it is
  // served from the store from here on, after what is already queued for it
  // (body offset, the body's end if known, status; the framing stays the sink's).
  using Handover = std::function<void(uint64_t offset, uint64_t body_end, int status)>;
  void set_handover(Handover h) { handover_ = std::move(h); }
  void set_x_cache(const char* v) { x_cache_ = v; }
  // Filling the store for others after its client was handed over or left.
  bool filling_for_store() const;

 private:
  enum class State : uint8_t { Queued, Connecting, Exchanging, Done };

  bool pick_and_connect();
  void build_request_head(const std::string& member_host);
  uint64_t timeout_ms() const;  // the member's time to answer (ProxyTimeout or timeout=)
  // Bytes wait for a client that does not take them: Timeout applies, as on
  // the static path, and its expiry is the client's stall, not the member's.
  bool client_blocked();
  uint64_t wait_ms();
  void retry();
  bool can_retry() const;
  bool idempotent() const;
  void note_failure(int slot, const char* why);
  void fail(int status, const char* why);  // before any response byte reached the client
  void abort_client();                     // after: the client sees a cut response and a close
  void pump();
  bool pump_request_body();
  bool flush_upstream();
  bool read_upstream();
  bool handle_response_head();
  void relay_interim();
  void invalidate(const http::ResponseHead& resp);
  void relay_body();
  bool pump_tunnel();
  // Content-Length bodies beyond what the first reads brought: moved from the
  // member's socket to the client's through a pipe (splice), never copied
  // through user space (plain TCP clients only).
  bool splicing();
  bool splice_body();
  core::Fd pipe_out_, pipe_in_;  // the pipe's read and write ends
  size_t pipe_bytes_ = 0;
  bool flush_client();
  void finish();
  void release_upstream(bool reusable);
  void arm(uint64_t ms);

  http::ExchangeHost& host_;
  WorkerLoop& w_;
  proxy::BalancerRuntime& b_;
  const Request& req_;
  const sockaddr_storage& local_;
  core::shm::ConnSlot& slot_;
  Handover handover_;
  std::string target_;            // path + query sent upstream
  State state_ = State::Connecting;
  int member_ = -1;
  bool answered_badly_ = false;  // a member failed after it connected (its 502, if no other answers)
  std::unique_ptr<core::Transport> up_;  // the member connection
  bool up_reused_ = false;
  bool up_writable_ = false, up_readable_ = false, up_eof_ = false;
  // The member answering, and the busy count the request holds there
  // (recorded in the connection's scoreboard slot: the master gives it
  // back if this worker dies).
  proxy::MemberChoice choice_;

  // Client -> upstream.
  std::string up_out_;            // request head + body bytes not yet written
  size_t up_out_pos_ = 0;
  bool req_chunked_ = false;
  bool req_done_ = false;         // the whole request (head and body) is in up_out_

  // Upstream -> client.
  std::string up_in_;             // response bytes read, not yet relayed
  size_t up_in_pos_ = 0;
  http::ResponseHead resp_;
  bool head_seen_ = false;
  int status_ = 0;
  http::ResponseHead::Framing framing_ = http::ResponseHead::Framing::None;
  uint64_t resp_left_ = 0;
  http::ChunkedDecoder resp_chunks_;
  bool resp_done_ = false;
  http::ResponseSink& out();      // the client's, through the host
  void to_client(std::string_view bytes);
  bool client_has_room();
  uint64_t body_bytes_ = 0;
  bool terminator_sent_ = false;
  bool has_body_ = false;
  bool failed_ = false, aborted_ = false;
  bool client_gone_ = false, bad_request_body_ = false;
  bool up_write_failed_ = false, got_response_bytes_ = false;
  bool tunnel_ = false;
  static constexpr uint64_t kRetryBodyMax = 64 * 1024;
  bool bufferable_ = false;
  std::string retry_body_;  // a small body, kept for a retry on another member
  std::unique_ptr<CacheFill> fill_;
  const char* x_cache_ = nullptr;
  bool client_dead_ = false;  // the client left mid-body, or reads from the store now; the fill continues
  void decouple();
};

}  // namespace pillar::server

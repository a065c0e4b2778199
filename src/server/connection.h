// One client connection: an HTTP/1.1 state machine over a Transport.
//
//   Idle --bytes--> ReadHead --head--> phases --> Exchange --> Write --> [DrainBody] --> Idle
//                       \--error--> Write(close) --> Linger --> closed
//
// One request is in flight at a time; pipelined requests wait in the read
// buffer and are answered in order. The request's views point into the read
// buffer, which is compacted only between requests. Every phase has a
// deadline on the loop's timer wheel (RequestReadTimeout, KeepAliveTimeout,
// Timeout), so slow or idle clients cost memory, never service.
#pragma once
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/shm/scoreboard.h"
#include "core/transport.h"
#include "server/http1/output.h"
#include "server/http1/response_head.h"
#include "server/request/handler_exchange.h"
#include "server/request/phases.h"
#include "server/request/request.h"
#include "http/chunked_decoder.h"
#include "http/handler.h"
#include "http/request.h"
#include "http/response.h"

namespace pillar::server {

namespace http2 {
class Session;
}
class WorkerLoop;
struct Site;
struct LocationRoute;

class Connection final : public core::IoWatcher, public core::TimerNode, public RequestCarrier {
 public:
  // `transport`: the stream over `fd` when it is not plain TCP (TLS).
  Connection(WorkerLoop& w, int fd, const sockaddr_storage& peer, const sockaddr_storage& local,
             core::shm::ConnSlot* slot, uint32_t slot_index, std::unique_ptr<core::Transport> transport = nullptr,
             std::unique_ptr<RequestSeed> seed = nullptr);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;


  void start();
  void on_io(uint32_t events) override;
  void on_timer() override;
  // The loop is stopping: no more keep-alive. Not graceful: an idle
  // connection closes now. Graceful: it stays until its next request (answered
  // with Connection: close) or its idle timeout.
  void drain(bool graceful);
  // Closes the connection if it waits for a request with nothing received
  // (the master needs this generation's scoreboard rows back).
  void close_if_idle();
  void close_now_external() { close_now(); }
  bool idle_keep_alive() const { return phase_ == Phase::Idle && requests_ > 0 && rend_ == rbegin_; }
  uint64_t idle_seq() const { return idle_seq_; }  // order in which connections went idle
  uint32_t slot_index() const { return slot_index_; }

  Connection* prev_ = nullptr;  // WorkerLoop's intrusive list
  Connection* next_ = nullptr;

 private:
  // Exchange: an asynchronous exchange answers the request (the proxy, the
  // cache). Detached: the client is gone, the exchange goes on without it
  // (a fetch for the store) and the connection, socket closed, holds its
  // slot until it ends.
  enum class Phase : uint8_t { Idle, ReadHead, Write, DrainBody, Linger, Closed, Exchange, Detached };

 public:
  // http::ExchangeHost: what an exchange sees of its client.
  http::ResponseSink& sink() override { return req_.filters.top(sink_); }
  http::RequestBody& body() override { return body_; }
  // The exchange made progress on its own (its socket, its timer, the store).
  void wake() override;
  void close_after() override { keep_alive_ = false; }
  void client_gone() override { close_now(); }

  // RequestCarrier: what the request phases (request/phases.h) see of it.
  WorkerLoop& worker() override { return w_; }
  Request& request() override { return req_; }
  const sockaddr_storage& local_address() const override { return local_; }
  uint16_t local_port() const override { return local_port_; }
  core::Transport& transport() override { return *transport_; }
  core::shm::ConnSlot& slot() override { return *slot_; }
  HandlerExchange& content() override { return content_; }
  bool flush_ahead() override;
  bool over_client_limit() const override { return over_client_limit_; }
  void respond() override { queue_response(); }
  void respond_error(int status, const char* reason) override;
  void run_exchange(std::unique_ptr<http::Exchange> x) override;  // an exchange of its own (the proxy, the cache)
  void run_exchange(http::Exchange& x) override;                  // content_

 private:
  void end_exchange();
  void release_exchange();
  http::Exchange* exchange_ = nullptr;  // the exchange answering the request, if any
  std::unique_ptr<http::Exchange> owned_exchange_;
  HandlerExchange content_{*this};  // the location's synchronous handler, reused request after request

  void drive();
  // HTTP/2 (server/http2/handover.cpp): true when the connection went to an
  // HTTP/2 session (or waits for the rest of the client preface).
  bool start_http2();
  std::unique_ptr<http2::Session> h2_;  // set: every event goes to the session
  // Reads what the socket has; false when nothing more can come (EOF/error/EAGAIN -> see flags).
  bool fill();
  void process_request(size_t head_len);
  void queue_response();
  bool flush_output();
  void finish_request();
  void record_request(char conn_status);  // counters and the access-log line (%X = conn_status)
  void abort_request();
  void begin_next();
  void start_linger();
  void close_now();
  void arm_read_timer(bool body);
  // Ends every response head (queue_response, the proxy exchange, the cache
  // delivery): the one place keep-alive is decided, so a head written after
  // draining began says Connection: close, and the connection is kept open
  // after any head that did not say it.
  http1::HeadEnd finish_head(std::string& out, http1::BodyLength body, uint64_t length);

  // The response side of an exchange: heads and body pieces into output_,
  // chunk-framed when the head chose chunked (connection_exchange.cpp).
  class ClientSink final : public http::ResponseSink {
   public:
    explicit ClientSink(Connection& c) : c_(c) {}
    std::string& begin_head(int status, std::string_view reason) override;
    void end_head(http::BodyLength body, uint64_t length) override;
    void raw(std::string_view bytes) override { c_.output_.append(bytes); }
    void body(std::string_view data) override;
    bool file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) override;
    bool can_pass_through() const override { return !chunked_; }
    Result pass_through(std::span<const iovec> data, size_t& taken) override;
    bool can_splice() const override { return !chunked_ && c_.output_.zero_copy(); }
    Result splice(int pipe_fd, size_t len, size_t& moved) override;
    void end_body() override;
    Result flush() override;
    uint64_t pending() const override { return c_.output_.pending(); }
    bool writable() const override { return c_.output_.writable(); }
    uint64_t written() const override { return c_.output_.written(); }
    void drop() override { c_.output_.clear(); }
    void reset() { chunked_ = ended_ = false; }

   private:
    Connection& c_;
    bool chunked_ = false, ended_ = false;
  };
  // The request body of an exchange: decoded from the read buffer's bytes
  // after the head, then from the socket; what is left when the exchange
  // ends is discarded (DrainBody) or closes the connection.
  class ClientBody final : public http::RequestBody {
   public:
    explicit ClientBody(Connection& c) : c_(c) {}
    Status read(std::string_view& data, size_t max) override;
    Status read_raw(std::string_view& data, size_t max) override;
    bool chunked() const override { return c_.req_.body_chunked; }
    uint64_t left() const override { return c_.req_.body_left; }
    bool done() const override { return !c_.req_.body_chunked && c_.req_.body_left == 0; }
    // A new request: its body starts at `cursor` of the read buffer.
    void reset(size_t cursor, bool expect_continue);
    // The exchange is over: the read buffer's unread bytes begin here, and
    // bytes read from the socket past the body mean the connection cannot
    // go on (they are a next request the buffer no longer holds in order).
    size_t cursor() const { return cursor_; }
    bool overread() const { return buf_pos_ < buf_len_; }

   private:
    // Bytes after the cursor, from the read buffer or the socket; Again/Gone when none.
    Status next_bytes(std::string_view& avail, bool& from_buffer, size_t want);
    void consumed(size_t n, bool from_buffer);
    Connection& c_;
    size_t cursor_ = 0;
    bool expect_continue_ = false;
    std::unique_ptr<char[]> buf_;  // body bytes read from the socket (the read buffer holds the head)
    size_t buf_pos_ = 0, buf_len_ = 0;
  };
  ClientSink sink_{*this};
  ClientBody body_{*this};
  void mark(core::shm::SlotState st) {
    slot_->state.store(static_cast<char>(st), std::memory_order_relaxed);
  }
  void publish_request();  // ExtendedStatus: client, vhost, request line
  void note_read_progress(size_t n);
  void note_read_end(const core::Io& r);  // a read that moved nothing: would block, or the end
  bool drain_body();  // true when the request body has been fully consumed

  WorkerLoop& w_;
  core::shm::ConnSlot* slot_;
  uint32_t slot_index_;
  uint64_t idle_seq_ = 0;
  uint64_t idle_since_ms_ = 0;  // when it last went idle (keep-alive)
  std::unique_ptr<core::Transport> transport_;
  http1::Output output_;  // the only writer to the client socket
  sockaddr_storage conn_peer_;     // the connection's client (after a PROXY header)
  std::string conn_peer_ip_;
  bool proxy_header_pending_ = false;
  bool over_client_limit_ = false;  // PillarMaxConnectionsPerClient (counted once the client is known)
  bool read_proxy_header();
  sockaddr_storage local_;
  uint16_t local_port_ = 0;
  Phase phase_ = Phase::Idle;
  bool readable_ = true;
  bool peer_eof_ = false;
  bool keep_alive_ = false;
  bool draining_server_ = false;
  bool drain_graceful_ = false;

  // Read buffer: [rbegin_, rend_) unprocessed bytes; the current request's head starts at rbegin_.
  std::unique_ptr<char[]> rbuf_;
  size_t rcap_ = 0;
  size_t rbegin_ = 0;
  size_t rend_ = 0;

  Request req_;  // the request in progress (one at a time on HTTP/1.1)
  uint32_t requests_ = 0;

  // Read-timeout accounting (mod_reqtimeout: initial, extended by MinRate up to a maximum).
  uint64_t read_deadline_ = 0;
  uint64_t read_max_deadline_ = 0;
  uint64_t read_rate_bytes_ = 0;
  uint32_t read_min_rate_ = 0;

  // Bytes of the current request written (head, body, an interim 100).
  // Counted as queued, so a response batched behind the next pipelined one
  // is logged with its size; a cut response only with what went out.
  uint64_t bytes_out(bool cut = false) const {
    uint64_t queued = output_.written() + output_.pending() - req_.out_mark;
    uint64_t sent = output_.written() > req_.out_mark ? output_.written() - req_.out_mark : 0;
    return cut ? std::min(queued, sent) : queued;
  }
  // Pipelined batch: the answer waits in the output for the next request's,
  // so the batch leaves in one write (DESIGN: cork a pipelined batch).
  bool batch_with_next();
  uint32_t batched_ = 0;
};

}  // namespace pillar::server

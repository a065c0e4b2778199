// One HTTP/2 stream: one request, run through the same phases as an
// HTTP/1.1 request (request/phases.h) with the stream as its
// RequestCarrier. The stream owns what the request's views point at (the
// head's text, request_head.h), its Request, its scoreboard slot, its
// HandlerExchange and the exchange that answers it.
//
//   Headers --END_HEADERS--> Ready --run()--> Running --answer--> Answered --END_STREAM sent--> Done
//      \______________ RST_STREAM (either side) / connection closed ______________/--> Closed
//
// The response: the exchange writes into the stream's sink (Sink below) as
// into an HTTP/1.1 connection's; end_head submits HEADERS (response_head.h),
// body bytes and file ranges wait in a queue that nghttp2's data provider
// drains into DATA frames as flow control allows (a provider with nothing
// to give defers, and is resumed when more comes). The queue holds at most
// H2StreamMaxMemSize: over it the sink reports !writable() and Again, and
// the exchange waits to be run again when DATA frames have taken some.
//
// The request body: DATA frames queue here, bounded by the stream's receive
// window (H2WindowSize): the window opens again (WINDOW_UPDATE) only as the
// exchange reads, so a slow member slows the client, never the memory.
//
// A stream runs only outside nghttp2's callbacks (Session::drive), so an
// exchange may submit frames and flush at any time.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "core/shm/scoreboard.h"
#include "core/timer_wheel.h"
#include "http/exchange.h"
#include "server/http2/request_head.h"
#include "server/http2/response_head.h"
#include "server/request/handler_exchange.h"
#include "server/request/phases.h"
#include "server/request/request.h"

namespace pillar::core {
struct OpenFile;
}

namespace pillar::server::http2 {

class Session;

class Stream final : public RequestCarrier, public core::TimerNode {
 public:
  Stream(Session& s, int32_t id);
  ~Stream() override;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  // A stream is a few KiB, made and freed by the hundred per connection
  // and always on its loop's thread: the memory of freed ones is kept per
  // thread (a bounded number) and used again, instead of going through
  // malloc's large-chunk bins each time.
  static void* operator new(size_t size);
  static void operator delete(void* p, size_t size);

  int32_t id() const { return id_; }

  // --- From the session's nghttp2 callbacks (nothing runs here).
  // A decoded request field; false: the list is malformed (reset the stream).
  bool on_field(std::string_view name, std::string_view value) { return builder_.add(name, value); }
  void on_head_end(bool end_stream);  // the request's header block is in
  void on_data(const uint8_t* data, size_t len);
  void on_end_stream();               // the client's END_STREAM (after DATA or trailers)
  void on_response_end();             // our END_STREAM went out
  void on_closed(uint32_t error_code);  // nghttp2 closed the stream (either side, any reason)
  // nghttp2's data provider: the next DATA payload.
  ssize_t read_data(uint8_t* buf, size_t len, uint32_t* flags);

  // --- From the session's loop.
  void run();  // start the request, or run its exchange
  bool queued = false;   // in the session's ready list
  bool closed() const { return state_ == State::Closed; }
  bool answered() const { return state_ == State::Answered || state_ == State::Done; }
  // Drop everything without answering (the connection is closing).
  void abandon();

  // --- http::ExchangeHost
  http::ResponseSink& sink() override { return req_.filters.top(sink_); }
  http::RequestBody& body() override { return body_; }
  void wake() override;
  void close_after() override {}  // one stream never spoils the connection: nothing to do
  void client_gone() override;

  // --- RequestCarrier
  WorkerLoop& worker() override;
  Request& request() override { return req_; }
  const sockaddr_storage& local_address() const override;
  uint16_t local_port() const override;
  core::Transport& transport() override;
  core::shm::ConnSlot& slot() override { return *slot_; }
  HandlerExchange& content() override { return content_; }
  bool flush_ahead() override { return true; }  // nothing is queued ahead of a stream's answer
  bool over_client_limit() const override;
  void respond() override;
  void respond_error(int status, const char* reason) override;
  void run_exchange(std::unique_ptr<http::Exchange> x) override;
  void run_exchange(http::Exchange& x) override;

  void on_timer() override;

 private:
  enum class State : uint8_t { Headers, Ready, Running, Answered, Done, Closed };

  class Sink final : public http::ResponseSink {
   public:
    explicit Sink(Stream& st) : st_(st) {}
    std::string& begin_head(int status, std::string_view reason) override;
    void end_head(http::BodyLength body, uint64_t length) override;
    void raw(std::string_view bytes) override;
    void body(std::string_view data) override;
    bool file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) override;
    bool can_pass_through() const override { return true; }
    Result pass_through(std::span<const iovec> data, size_t& taken) override;
    bool can_splice() const override { return false; }
    Result splice(int, size_t, size_t& moved) override {
      moved = 0;
      return Result::Error;
    }
    void end_body() override;
    Result flush() override;
    uint64_t pending() const override { return st_.queued_bytes_; }
    bool writable() const override;
    uint64_t written() const override { return st_.sent_body_; }
    void drop() override;

   private:
    Stream& st_;
  };

  class Body final : public http::RequestBody {
   public:
    explicit Body(Stream& st) : st_(st) {}
    Status read(std::string_view& data, size_t max) override;
    Status read_raw(std::string_view&, size_t) override { return Status::Gone; }  // no upgrade over HTTP/2
    bool chunked() const override { return st_.req_.body_chunked; }
    uint64_t left() const override { return st_.req_.body_left; }
    bool done() const override { return st_.in_ended_ && st_.in_chunks_.empty(); }

   private:
    Stream& st_;
  };

  struct Part {
    std::string text;                             // bytes, or
    std::shared_ptr<const core::OpenFile> file;   // a range of a file
    uint64_t offset = 0, length = 0;
  };

  void start_request();
  void end_exchange();
  void finish();      // the answer is out: log, release the slot
  void release_exchange();
  void queue_more();  // the response queue grew: resume a deferred provider
  void reset(uint32_t error_code);
  void record(char conn_status);  // counters and the access-log line
  void publish();                 // ExtendedStatus: client, vhost, request line
  void arm(uint64_t ms);
  void note_progress();           // data moved: the stall timer starts again
  bool take_slot();

  Session& s_;
  int32_t id_;
  State state_ = State::Headers;
  RequestHeadBuilder builder_;
  Request req_;
  core::shm::ConnSlot* slot_ = nullptr;
  uint32_t slot_index_ = 0;
  HandlerExchange content_{*this};
  http::Exchange* exchange_ = nullptr;
  std::unique_ptr<http::Exchange> owned_exchange_;
  Sink sink_{*this};
  Body body_{*this};
  bool logged_ = false;
  int refused_status_ = 0;        // the header list was over the limits: answered with this (431, 414)
  const char* refused_reason_ = "";

  // The response.
  std::string head_text_;
  int head_status_ = 0;
  bool head_sent_ = false;   // HEADERS submitted
  bool has_body_ = false;    // a data provider is attached
  bool out_ended_ = false;   // end_body(): the queue's end is the body's
  bool deferred_ = false;    // the provider said DEFERRED: resume when the queue grows
  bool response_end_ = false;  // our END_STREAM went out
  // Lists, not deques: a stream that never queues (no request body) must
  // not pay for them, and libstdc++'s deque allocates when it is made.
  std::list<Part> out_;
  uint64_t queued_bytes_ = 0;
  uint64_t sent_body_ = 0;   // body bytes given to nghttp2
  uint64_t sent_total_ = 0;  // with the head's estimate, for %O
  ResponseFields fields_;

  // The request body.
  std::list<std::string> in_chunks_;  // DATA payloads not read yet (the front one from in_pos_)
  size_t in_pos_ = 0;
  uint64_t in_received_ = 0;
  bool in_ended_ = false;     // the client's END_STREAM
  bool continue_sent_ = false;
  bool body_discarded_ = false;  // the answer is done: DATA is consumed as it comes
  uint64_t discard_left_ = 0;    // of it, what we still drop before RST_STREAM(NO_ERROR)
};

}  // namespace pillar::server::http2

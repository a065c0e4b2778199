// The asynchronous handler interface, in the way of h2o's generators and
// nginx's NGX_AGAIN: a request is answered by an Exchange that runs until it
// must wait (for its own socket, its timer, the client's socket), returns
// Again, and is run again when something it waits on is ready; it may answer
// at once, or later, and produce the body in pieces. Destroying an
// unfinished exchange aborts it (it releases what it holds).
//
// The exchange sees its client only through its ExchangeHost: the response
// goes into a ResponseSink, the request body comes from a RequestBody. The
// host is the HTTP/1.1 connection now (an HTTP/2 stream next), which frames
// both, decides keep-alive and owns the socket, so no handler writes to or
// reads from a client socket, and none knows which protocol carries it.
#pragma once
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace pillar::core {
struct OpenFile;
}

namespace pillar::http {

enum class BodyLength : uint8_t {
  None,     // no body and no framing field (1xx, 204, 304; a HEAD answer that wrote its own Content-Length)
  Known,    // exactly `length` bytes
  Unknown,  // until the end (chunked to an HTTP/1.1 client; the close ends it for HTTP/1.0)
};

class ResponseSink {
 public:
  enum class Result : uint8_t {
    Done,   // everything queued has been written
    Again,  // the client's socket is full: run again when it drains
    Error,  // the client is gone
  };
  virtual ~ResponseSink() = default;

  // The head: fields are appended ("Name: value\r\n"...) to the buffer
  // begin_head returns, without framing fields or Connection, which
  // end_head adds (it decides keep-alive).
  virtual std::string& begin_head(int status, std::string_view reason = {}) = 0;
  virtual void end_head(BodyLength body, uint64_t length) = 0;
  // Bytes that are not a response body: an interim 100 Continue, a 101's
  // head, a tunnel's bytes after it.
  virtual void raw(std::string_view bytes) = 0;

  // Body bytes, framed as the head said (copied into the queue).
  virtual void body(std::string_view data) = 0;
  // A range of an open file (a static file's body): sent by the kernel
  // (sendfile) where the transport allows, else read and copied. Only in a
  // body of known length (a handler that sends files announces it). False
  // when the file is shorter than the range now: the response is cut.
  virtual bool file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) = 0;
  // Body bytes sent without a copy when the framing allows it (not chunked):
  // the queue first, then `data` in the same write; `taken` of them went out.
  virtual bool can_pass_through() const = 0;
  virtual Result pass_through(std::span<const iovec> data, size_t& taken) = 0;
  // Body bytes moved by the kernel from a pipe, with nothing queued, when
  // the client's transport allows it (not TLS).
  virtual bool can_splice() const = 0;
  virtual Result splice(int pipe_fd, size_t len, size_t& moved) = 0;
  // After the last body byte (the chunked terminator).
  virtual void end_body() = 0;

  virtual Result flush() = 0;
  virtual uint64_t pending() const = 0;  // queued, not yet written
  virtual bool writable() const = 0;
  virtual uint64_t written() const = 0;  // bytes written for this response so far
  // The response was cut off: what is queued is dropped.
  virtual void drop() = 0;
};

class RequestBody {
 public:
  enum class Status : uint8_t {
    Data,   // `data` holds the next bytes
    Again,  // nothing yet: run again when the client sends more
    End,    // the whole body has been read
    Bad,    // malformed framing (a bad chunk): answer 400 and close
    Gone,   // the client closed or reset before the end
  };
  // A body nobody reads, up to this size, is read and dropped after the
  // response to keep the connection; larger ones close it.
  static constexpr uint64_t kDiscardMax = 64 * 1024;
  virtual ~RequestBody() = default;
  // The next decoded body bytes, at most `max`; `data` stays valid until the
  // next call. The first read answers an Expect: 100-continue.
  virtual Status read(std::string_view& data, size_t max) = 0;
  // After a 101 Switching Protocols: the client's raw bytes.
  virtual Status read_raw(std::string_view& data, size_t max) = 0;
  virtual bool chunked() const = 0;
  virtual uint64_t left() const = 0;  // Content-Length bytes not yet read
  virtual bool done() const = 0;
};

class ExchangeHost {
 public:
  virtual ~ExchangeHost() = default;
  virtual ResponseSink& sink() = 0;
  virtual RequestBody& body() = 0;
  // The exchange made progress on its own (its socket, its timer): the host
  // runs it (and what waits on it) now.
  virtual void wake() = 0;
  // The connection must not carry another request after this response.
  virtual void close_after() = 0;
  // The exchange found its client gone (the sink failed): the host closes
  // the client's side now and aborts the exchange, which may go on alone.
  virtual void client_gone() = 0;
};

class Exchange {
 public:
  enum class Step : uint8_t { Again, Done };
  // How a finished exchange ended, for the host to log and go on.
  struct Outcome {
    enum class Kind : uint8_t {
      Answered,  // the response is in the sink (queued or written)
      Cut,       // a response was cut off (or the client left): the host closes
      Failed,    // nothing was sent: the host answers `status` itself (its error page)
      Resume,    // nothing was sent: the request's phases go on where they were suspended
    };
    Kind kind = Kind::Answered;
    int status = 0;           // the response's status (0: no head was sent)
    uint64_t body_bytes = 0;  // response body bytes, for %B
    bool keep_alive = true;   // Failed: whether the connection may carry another request
  };
  virtual ~Exchange() = default;
  // Called when the client's socket is ready and after wake().
  virtual Step proceed() = 0;
  // After proceed() answered Done.
  virtual Outcome outcome() const = 0;
  // Still reading the client's request body: the host runs its request-body
  // read timeout (RequestReadTimeout body=, MinRate) meanwhile, and calls
  // body_timeout() when it runs out.
  virtual bool reading_body() const { return false; }
  virtual void body_timeout() {}
  // The client is gone. The exchange releases what is tied to it now (it is
  // deleted later, outside its own callbacks) and answers whether it goes
  // on without the client (a fetch that fills the cache for others): then
  // the host keeps it, waking it, until proceed() answers Done. With
  // `may_go_on` false (the server is stopping) it releases everything.
  virtual bool abort(bool may_go_on) {
    (void)may_go_on;
    return false;
  }
};

}  // namespace pillar::http

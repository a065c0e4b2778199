// Connection as the host of an exchange: the response sink and the request
// body an exchange (the proxy) sees instead of the socket.
#include "core/assert.h"
#include "server/connection.h"
#include "server/worker_loop.h"

#include <algorithm>
#include <cstdio>

namespace pillar::server {

namespace {
constexpr size_t kBodyChunk = 16 * 1024;  // one socket read of request body
}  // namespace

// --- ClientSink ----------------------------------------------------------

std::string& Connection::ClientSink::begin_head(int status, std::string_view reason) {
  reset();
  http1::begin_head(c_.output_.text(), status, reason);
  return c_.output_.text();
}

void Connection::ClientSink::end_head(http::BodyLength body, uint64_t length) {
  chunked_ = c_.finish_head(c_.output_.text(), body, length).chunked;
}

void Connection::ClientSink::body(std::string_view data) {
  if (data.empty()) return;  // an empty chunk would end a chunked body
  PILLAR_ASSERT(!ended_);
  std::string& o = c_.output_.text();
  if (!chunked_) {
    o.append(data);
    return;
  }
  char hex[20];
  int n = std::snprintf(hex, sizeof hex, "%zx\r\n", data.size());
  o.append(hex, static_cast<size_t>(n));
  o.append(data);
  o.append("\r\n");
}

bool Connection::ClientSink::file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) {
  PILLAR_ASSERT(!chunked_ && !ended_);
  return c_.output_.add_file(std::move(f), offset, length);
}

void Connection::ClientSink::end_body() {
  if (chunked_ && !ended_) c_.output_.append("0\r\n\r\n");
  ended_ = true;
}

namespace {
http::ResponseSink::Result as_sink_result(http1::Output::Result r) {
  switch (r) {
    case http1::Output::Result::Done: return http::ResponseSink::Result::Done;
    case http1::Output::Result::Again: return http::ResponseSink::Result::Again;
    case http1::Output::Result::Error: break;
  }
  return http::ResponseSink::Result::Error;
}
}  // namespace

http::ResponseSink::Result Connection::ClientSink::pass_through(std::span<const iovec> data, size_t& taken) {
  PILLAR_ASSERT(!chunked_);
  return as_sink_result(c_.output_.write_through(data, taken));
}

http::ResponseSink::Result Connection::ClientSink::splice(int pipe_fd, size_t len, size_t& moved) {
  PILLAR_ASSERT(!chunked_);
  return as_sink_result(c_.output_.splice_from_pipe(pipe_fd, len, moved));
}

http::ResponseSink::Result Connection::ClientSink::flush() { return as_sink_result(c_.output_.flush()); }

// --- ClientBody ----------------------------------------------------------

void Connection::ClientBody::reset(size_t cursor, bool expect_continue) {
  cursor_ = cursor;
  expect_continue_ = expect_continue && !done();
  buf_pos_ = buf_len_ = 0;
}

http::RequestBody::Status Connection::ClientBody::next_bytes(std::string_view& avail, bool& from_buffer, size_t want) {
  if (buf_pos_ < buf_len_) {
    avail = {buf_.get() + buf_pos_, buf_len_ - buf_pos_};
    from_buffer = false;
    return Status::Data;
  }
  if (cursor_ < c_.rend_) {
    avail = {c_.rbuf_.get() + cursor_, c_.rend_ - cursor_};
    from_buffer = true;
    return Status::Data;
  }
  if (!c_.readable_) return Status::Again;
  // The read buffer holds the head (the request's views point into it), so
  // body bytes from the socket go to a buffer of their own.
  if (!buf_) buf_ = std::make_unique<char[]>(kBodyChunk);
  core::Io r = c_.transport_->read(buf_.get(), std::min(want, kBodyChunk));
  if (!r.ok()) {
    c_.note_read_end(r);
    return r.again() ? Status::Again : Status::Gone;
  }
  c_.req_.bytes_in += r.n;
  c_.note_read_progress(r.n);  // MinRate extends the body timeout
  buf_pos_ = 0;
  buf_len_ = r.n;
  avail = {buf_.get(), r.n};
  from_buffer = false;
  return Status::Data;
}

void Connection::ClientBody::consumed(size_t n, bool from_buffer) {
  if (from_buffer) cursor_ += n;
  else buf_pos_ += n;
}

http::RequestBody::Status Connection::ClientBody::read(std::string_view& data, size_t max) {
  Request& req = c_.req_;
  if (expect_continue_) {
    // RFC 9110 §10.1.1: the client waits for this before it sends the body;
    // it goes out only once somebody reads the body.
    expect_continue_ = false;
    c_.output_.append("HTTP/1.1 100 Continue\r\n\r\n");
    if (c_.output_.flush() == http1::Output::Result::Error) return Status::Gone;
  }
  for (;;) {
    if (done()) return Status::End;
    if (max == 0) return Status::Again;
    std::string_view avail;
    bool from_buffer = false;
    // A Content-Length body is read no further than its end, so the socket
    // never gives up bytes of a next request here.
    size_t want = req.body_chunked ? kBodyChunk : static_cast<size_t>(std::min<uint64_t>(req.body_left, max));
    if (Status st = next_bytes(avail, from_buffer, want); st != Status::Data) return st;
    if (!req.body_chunked) {
      size_t n = static_cast<size_t>(std::min<uint64_t>({avail.size(), req.body_left, max}));
      data = avail.substr(0, n);
      consumed(n, from_buffer);
      req.body_left -= n;
      return Status::Data;
    }
    auto step = req.chunked.next(avail);
    consumed(step.consumed, from_buffer);
    switch (step.kind) {
      case http::ChunkedDecoder::Step::Data:
        data = step.data;
        return Status::Data;
      case http::ChunkedDecoder::Step::Done:
        req.body_chunked = false;
        return Status::End;
      case http::ChunkedDecoder::Step::Error:
        return Status::Bad;
      case http::ChunkedDecoder::Step::NeedMore:
        PILLAR_ASSERT(step.consumed == avail.size());  // the decoder keeps partial lines itself
        continue;
    }
  }
}

http::RequestBody::Status Connection::ClientBody::read_raw(std::string_view& data, size_t max) {
  if (max == 0) return Status::Again;
  bool from_buffer = false;
  std::string_view avail;
  if (Status st = next_bytes(avail, from_buffer, max); st != Status::Data) return st;
  data = avail.substr(0, std::min(avail.size(), max));
  consumed(data.size(), from_buffer);
  return Status::Data;
}

}  // namespace pillar::server

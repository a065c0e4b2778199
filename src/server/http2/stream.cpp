// An HTTP/2 stream as the carrier of one request (stream.h).
#include "server/http2/stream.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/assert.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/open_file.h"
#include "core/socket_address.h"
#include "server/request/access_logging.h"
#include "server/http1/client_address.h"
#include "server/http2/session.h"
#include "server/request/error_document.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server::http2 {

namespace {

ssize_t provide(nghttp2_session*, int32_t, uint8_t* buf, size_t len, uint32_t* flags, nghttp2_data_source* src,
                void*) {
  return static_cast<Stream*>(src->ptr)->read_data(buf, len, flags);
}

constexpr size_t kTextPart = 16 * 1024;  // body text is appended to the last part up to this size
constexpr size_t kHeadText = 512;  // a response head's lines, so that writing them rarely grows the string
constexpr uint64_t kDiscardMax = 1024 * 1024;  // request body read and dropped after a complete answer

constexpr size_t kKeptStreams = 1024;  // freed streams' memory kept per thread for new ones (~2.5 MiB at most)

// The memory of freed streams, this thread's (every stream of a session
// lives and dies on its loop's thread). Plain data, so that a stream freed
// after the thread's destructors ran still finds it (`closed`: then it goes
// straight back to the heap).
struct KeptStreams {
  void* blocks[kKeptStreams];
  size_t n = 0;
  bool closed = false;
  ~KeptStreams() {
    while (n > 0) ::operator delete(blocks[--n], sizeof(Stream));
    closed = true;
  }
};
thread_local KeptStreams kept_streams;

}  // namespace

void* Stream::operator new(size_t size) {
  PILLAR_ASSERT(size == sizeof(Stream));
  KeptStreams& k = kept_streams;
  return k.n > 0 ? k.blocks[--k.n] : ::operator new(size);
}

void Stream::operator delete(void* p, size_t size) {
#if defined(__SANITIZE_ADDRESS__)
  return ::operator delete(p, size);  // under ASan freed streams go back at once, so a use after free is caught
#endif
  KeptStreams& k = kept_streams;
  if (k.closed || k.n == kKeptStreams) return ::operator delete(p, size);
  k.blocks[k.n++] = p;
}

Stream::Stream(Session& s, int32_t id) : s_(s), id_(id), builder_(s.limits()) {
  req_.client = s.peer();
  req_.client_ip = s.peer_ip();
  req_.meta.local_ip = s.local_ip();  // the connection's, formatted once (the metadata step would per request)
  // A header block that never ends (HEADERS without END_HEADERS, then
  // nothing) is bounded by Timeout.
  arm(s.limits().timeout_ms);
}

Stream::~Stream() {
  core::TimerWheel::cancel(*this);
  release_exchange();
  if (slot_) s_.worker().release_slot(slot_index_);
}

WorkerLoop& Stream::worker() { return s_.worker(); }
const sockaddr_storage& Stream::local_address() const { return s_.local(); }
uint16_t Stream::local_port() const { return s_.local_port(); }
core::Transport& Stream::transport() { return s_.transport(); }
bool Stream::over_client_limit() const { return s_.over_client_limit; }

void Stream::arm(uint64_t ms) {
  auto& loop = s_.worker().loop();
  loop.timers().arm(*this, loop.now_ms() + ms);
}

// --- From nghttp2 ----------------------------------------------------------

void Stream::on_head_end(bool end_stream) {
  if (state_ != State::Headers) return;
  core::TimerWheel::cancel(*this);
  in_ended_ = end_stream;
  auto r = builder_.finish(req_.head, end_stream);
  if (r.verdict == RequestHeadBuilder::Verdict::Malformed) {
    core::log(core::LogLevel::Info, "http2", "[client {}] malformed request (stream {}): {}", req_.client_ip, id_,
              r.reason);
    reset(NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  if (r.verdict == RequestHeadBuilder::Verdict::Refused) {
    s_.note_hostile(Session::Hostile::HeaderFlood, r.reason);
    refused_status_ = r.status;
    refused_reason_ = r.reason;
  }
  state_ = State::Ready;
  s_.ready(*this);
}

void Stream::on_data(const uint8_t* data, size_t len) {
  in_received_ += len;
  req_.bytes_in += len;
  if (state_ == State::Closed || body_discarded_ || state_ == State::Done) {
    // Nobody will read it: the window opens again at once.
    nghttp2_session_consume(s_.ng(), id_, len);
    if (body_discarded_) {
      discard_left_ -= std::min<uint64_t>(discard_left_, len);
      if (discard_left_ == 0) reset(NGHTTP2_NO_ERROR);  // more than we drop for a client's sake
    }
    return;
  }
  if (req_.head.has_content_length && in_received_ > req_.head.content_length) {
    reset(NGHTTP2_PROTOCOL_ERROR);  // RFC 9113 §8.1.1: more DATA than Content-Length
    nghttp2_session_consume(s_.ng(), id_, len);
    return;
  }
  in_chunks_.emplace_back(reinterpret_cast<const char*>(data), len);
  if (exchange_ && exchange_->reading_body()) arm(s_.limits().timeout_ms);  // the body moves: its timeout starts again
  s_.ready(*this);
}

void Stream::on_end_stream() {
  if (in_ended_) return;
  in_ended_ = true;
  if (req_.head.has_content_length && in_received_ != req_.head.content_length) {
    reset(NGHTTP2_PROTOCOL_ERROR);  // RFC 9113 §8.1.1: the body ended short of its Content-Length
    return;
  }
  s_.ready(*this);
}

void Stream::on_response_end() {
  response_end_ = true;
  if (state_ == State::Answered) finish();
}

void Stream::on_closed(uint32_t error_code) {
  if (state_ == State::Closed) return;
  core::TimerWheel::cancel(*this);
  if (exchange_) exchange_->abort(false);
  release_exchange();
  if (!logged_ && head_sent_) record(response_end_ ? '+' : 'X');
  (void)error_code;
  // Body bytes nobody read: they still count against the connection's window.
  uint64_t unread = 0;
  for (const auto& c : in_chunks_) unread += c.size();
  unread -= std::min<uint64_t>(unread, in_pos_);
  if (unread) nghttp2_session_consume_connection(s_.ng(), unread);
  in_chunks_.clear();
  in_pos_ = 0;
  state_ = State::Closed;
  if (slot_) {
    s_.worker().release_slot(slot_index_);
    slot_ = nullptr;
  }
}

void Stream::abandon() {
  if (state_ == State::Closed) return;
  core::TimerWheel::cancel(*this);
  if (exchange_) exchange_->abort(false);
  release_exchange();
  if (!logged_ && head_sent_) record('X');
  state_ = State::Closed;
  if (slot_) {
    s_.worker().release_slot(slot_index_);
    slot_ = nullptr;
  }
}

void Stream::reset(uint32_t error_code) {
  if (state_ == State::Closed) return;
  nghttp2_submit_rst_stream(s_.ng(), NGHTTP2_FLAG_NONE, id_, error_code);
  s_.want_send();
}

// --- Running the request -------------------------------------------------------

bool Stream::take_slot() {
  // A slot per stream, as Apache gives each HTTP/2 stream a worker: the
  // proxy and the cache record what they hold in it, so a dead worker's
  // holdings come back whatever stream held them.
  slot_ = s_.worker().reserve_slot(slot_index_, false);
  return slot_ != nullptr;
}

void Stream::start_request() {
  if (!take_slot()) {
    core::log(core::LogLevel::Info, "http2", "[client {}] no connection slot free for stream {}: refused",
              req_.client_ip, id_);
    reset(NGHTTP2_REFUSED_STREAM);
    state_ = State::Done;
    return;
  }
  state_ = State::Running;
  auto& w = s_.worker();
  const auto& cfg = w.runtime().config();
  ++w.stats().requests;
  s_.counters().streams.fetch_add(1, std::memory_order_relaxed);
  req_.start_ms = w.loop().now_ms();
  req_.start_us = core::mono_us();
  req_.wall = w.loop().wall_time();
  req_.bytes_in += builder_.text().size();
  slot_->state.store(static_cast<char>(core::shm::SlotState::Writing), std::memory_order_relaxed);
  if (refused_status_) return respond_error(refused_status_, refused_reason_);
  req_.set_head_length(builder_.line_length());
  http1::apply_remote_ip(cfg, s_.peer(), s_.peer_ip(), req_.head, req_.client, req_.client_ip);
  req_.body_chunked = req_.head.chunked;
  req_.body_left = req_.head.has_content_length ? req_.head.content_length : 0;
  if (req_.body_left > 0 && in_ended_) req_.body_left = 0;  // (refused by the builder: a length with no DATA)
  run_request_phases(*this);
}

void Stream::run() {
  if (state_ == State::Ready) start_request();
  // An exchange that ends by resuming the phases (Outcome::Kind::Resume)
  // may leave another one running: that one proceeds now too.
  while (state_ == State::Running && exchange_) {
    if (exchange_->proceed() != http::Exchange::Step::Done) break;
    end_exchange();
  }
  // Answered, with a response filter still holding part of the body (a
  // RATE_LIMIT's bucket, deflate's file pieces): it passes more on now.
  if (state_ == State::Answered && !out_ended_ && !req_.filters.empty()) sink().flush();
}

void Stream::wake() {
  if (state_ == State::Closed) return;
  s_.ready(*this);
  s_.wake();
}

void Stream::client_gone() {
  if (exchange_) exchange_->abort(false);
  release_exchange();
  reset(NGHTTP2_INTERNAL_ERROR);
}

void Stream::run_exchange(std::unique_ptr<http::Exchange> x) {
  owned_exchange_ = std::move(x);
  run_exchange(*owned_exchange_);
}

void Stream::run_exchange(http::Exchange& x) {
  exchange_ = &x;
  state_ = State::Running;
  if (!in_ended_) arm(s_.limits().timeout_ms);  // the request body's timeout (on_timer)
  // run() proceeds it next.
}

void Stream::release_exchange() {
  exchange_ = nullptr;
  if (owned_exchange_) s_.worker().retire(std::move(owned_exchange_));  // it may be inside its own callback
}

void Stream::end_exchange() {
  http::Exchange::Outcome o = exchange_->outcome();
  release_exchange();
  using Kind = http::Exchange::Outcome::Kind;
  switch (o.kind) {
    case Kind::Resume:  // a suspended step goes on
      resume_request_phases(*this);
      return;
    case Kind::Failed:
      set_error_answer(req_, o.status);
      respond();
      return;
    case Kind::Cut:
      req_.resp.status = o.status;
      req_.body_bytes = o.body_bytes;
      if (o.status != 0 && !logged_) record('X');
      reset(o.status != 0 ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CANCEL);
      state_ = State::Done;
      return;
    case Kind::Answered:
      req_.resp.status = o.status;
      req_.body_bytes = o.body_bytes;
      state_ = State::Answered;
      if (response_end_) finish();
      else if (queued_bytes_ > 0 || !out_ended_) arm(s_.limits().timeout_ms);  // see on_timer: a stalled window
      return;
  }
}

void Stream::respond() {
  write_response(*this, req_, head_defaults(s_.worker()));
  state_ = State::Answered;
  if (response_end_) finish();
  else arm(s_.limits().timeout_ms);
}

void Stream::respond_error(int status, const char* reason) {
  core::log(core::LogLevel::Info, "core", "[client {}] {} {}", req_.client_ip, status, reason);
  if (!req_.site) req_.site = &s_.worker().runtime().site_for(s_.local(), {});
  req_.body_left = 0;
  req_.body_chunked = false;
  req_.resp.clear();
  set_error_answer(req_, status);
  respond();
}

// The last byte of the answer went out.
void Stream::finish() {
  state_ = State::Done;
  core::TimerWheel::cancel(*this);
  if (!logged_) record('+');
  if (!in_ended_) {
    // The answer is complete and the rest of the request body is not
    // wanted. RFC 9113 §8.1 allows RST_STREAM(NO_ERROR) now, but some
    // clients (curl 7.88) then drop the answer they already have: a body
    // of up to kDiscardMax more bytes is read and dropped, within Timeout.
    body_discarded_ = true;
    uint64_t unread = 0;
    for (const auto& c : in_chunks_) unread += c.size();
    unread -= std::min<uint64_t>(unread, in_pos_);
    if (unread) nghttp2_session_consume(s_.ng(), id_, unread);
    in_chunks_.clear();
    in_pos_ = 0;
    discard_left_ = kDiscardMax;
    if (req_.head.has_content_length && req_.head.content_length - std::min(in_received_, req_.head.content_length) > kDiscardMax)
      reset(NGHTTP2_NO_ERROR);
    else
      arm(s_.limits().timeout_ms);
  }
  if (slot_) {
    s_.worker().release_slot(slot_index_);
    slot_ = nullptr;
  }
}

void Stream::on_timer() {
  switch (state_) {
    case State::Headers:
      core::log(core::LogLevel::Info, "http2", "[client {}] request header timeout (stream {})", req_.client_ip, id_);
      reset(NGHTTP2_CANCEL);
      s_.wake();
      return;
    case State::Running:
      if (exchange_ && exchange_->reading_body()) {
        exchange_->body_timeout();
        s_.ready(*this);
        s_.wake();
        return;
      }
      [[fallthrough]];
    case State::Answered: {
      if (queued_bytes_ == 0 && (out_ended_ || state_ == State::Running)) return;  // waiting on the exchange: its own timers
      // The answer could not move for Timeout. A window the client keeps
      // shut is an attack on our memory (the zero-window stall); a socket
      // that does not drain is the session's to time out.
      int32_t window = std::min(nghttp2_session_get_stream_remote_window_size(s_.ng(), id_),
                                nghttp2_session_get_remote_window_size(s_.ng()));
      if (window <= 0) s_.note_hostile(Session::Hostile::Stall, "a flow-control window kept closed for Timeout");
      else core::log(core::LogLevel::Info, "http2", "[client {}] send timeout (stream {})", req_.client_ip, id_);
      if (exchange_) exchange_->abort(false);
      release_exchange();
      if (!logged_ && head_sent_) record('X');
      reset(NGHTTP2_CANCEL);
      state_ = State::Done;
      s_.wake();
      return;
    }
    case State::Done:
      if (body_discarded_ && !in_ended_) reset(NGHTTP2_NO_ERROR);  // the dropped body took too long
      s_.wake();
      return;
    case State::Ready:
    case State::Closed:
      return;
  }
}

void Stream::note_progress() {
  if (state_ == State::Answered || state_ == State::Running) {
    if (armed()) arm(s_.limits().timeout_ms);
  }
}

// --- The response ----------------------------------------------------------------

std::string& Stream::Sink::begin_head(int status, std::string_view) {
  PILLAR_ASSERT(!st_.head_sent_);
  st_.head_status_ = status;
  st_.head_text_.clear();
  st_.head_text_.reserve(kHeadText);
  return st_.head_text_;
}

void Stream::Sink::end_head(http::BodyLength body, uint64_t length) {
  Stream& st = st_;
  if (st.head_sent_ || st.state_ == State::Closed) return;
  st.head_sent_ = true;
  st.fields_.build(st.head_status_, st.head_text_, body, length);
  st.sent_total_ += st.head_text_.size() + 16;  // roughly what HPACK sends, for %O
  const int status = st.head_status_;
  st.has_body_ = !(st.req_.head.method == http::Method::Head || body == http::BodyLength::None || status == 204 ||
                   status == 304 || (body == http::BodyLength::Known && length == 0));
  nghttp2_data_provider prd{};
  prd.source.ptr = &st;
  prd.read_callback = provide;
  const auto& nv = st.fields_.nv();
  int rv = nghttp2_submit_response(st.s_.ng(), st.id_, nv.data(), nv.size(), st.has_body_ ? &prd : nullptr);
  if (rv != 0) {
    core::log(core::LogLevel::Debug, "http2", "stream {}: response not submitted: {}", st.id_, nghttp2_strerror(rv));
    st.reset(NGHTTP2_INTERNAL_ERROR);
  }
  if (!st.has_body_) st.out_ended_ = true;
  st.s_.want_send();
}

void Stream::Sink::raw(std::string_view bytes) {
  // Interim answers (a member's 103 Early Hints, 100 Continue) are HEADERS
  // without END_STREAM; anything else has no meaning over HTTP/2.
  Stream& st = st_;
  if (st.head_sent_ || st.state_ == State::Closed) return;
  ResponseFields f;
  if (!f.build_interim(bytes)) return;
  if (f.status() == 100) {
    if (st.continue_sent_) return;
    st.continue_sent_ = true;
  }
  nghttp2_submit_headers(st.s_.ng(), NGHTTP2_FLAG_NONE, st.id_, nullptr, f.nv().data(), f.nv().size(), nullptr);
  st.s_.want_send();
}

void Stream::Sink::body(std::string_view data) {
  Stream& st = st_;
  if (data.empty() || !st.has_body_ || st.out_ended_ || st.state_ == State::Closed) return;
  if (!st.out_.empty() && !st.out_.back().file && st.out_.back().text.size() < kTextPart) {
    st.out_.back().text.append(data);
  } else {
    st.out_.emplace_back();
    st.out_.back().text.assign(data);
  }
  st.queued_bytes_ += data.size();
  st.queue_more();
}

bool Stream::Sink::file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) {
  Stream& st = st_;
  // The size is the one the handler took from its fstat at open; a file
  // that shrinks after that is caught by read_data's pread (stream reset).
  if (f->size < offset + length) return false;
  if (length == 0 || !st.has_body_ || st.out_ended_ || st.state_ == State::Closed) return true;
  Part p;
  p.file = std::move(f);
  p.offset = offset;
  p.length = length;
  st.out_.push_back(std::move(p));
  st.queued_bytes_ += length;
  st.queue_more();
  return true;
}

http::ResponseSink::Result Stream::Sink::pass_through(std::span<const iovec> data, size_t& taken) {
  Stream& st = st_;
  taken = 0;
  if (st.state_ == State::Closed) return Result::Error;
  const uint64_t limit = st.s_.limits().stream_buffer;
  size_t total = 0;
  for (const auto& v : data) total += v.iov_len;
  for (const auto& v : data) {
    if (st.queued_bytes_ >= limit) break;
    size_t n = static_cast<size_t>(std::min<uint64_t>(v.iov_len, limit - st.queued_bytes_));
    body({static_cast<const char*>(v.iov_base), n});
    taken += n;
    if (n < v.iov_len) break;
  }
  if (!st.has_body_) taken = total;  // a HEAD answer: nothing goes, all is taken
  return taken == total ? Result::Done : Result::Again;
}

void Stream::Sink::end_body() {
  Stream& st = st_;
  if (st.out_ended_) return;
  st.out_ended_ = true;
  st.queue_more();
}

http::ResponseSink::Result Stream::Sink::flush() {
  Stream& st = st_;
  if (st.state_ == State::Closed || !st.s_.send_now() || st.state_ == State::Closed) return Result::Error;
  return st.queued_bytes_ == 0 ? Result::Done : Result::Again;
}

bool Stream::Sink::writable() const {
  return st_.state_ != State::Closed && st_.queued_bytes_ < st_.s_.limits().stream_buffer;
}

void Stream::Sink::drop() {
  st_.out_.clear();
  st_.queued_bytes_ = 0;
}

void Stream::queue_more() {
  // Queued bytes that cannot leave within Timeout end the stream (on_timer).
  if (queued_bytes_ > 0 && !armed() && state_ != State::Closed) arm(s_.limits().timeout_ms);
  if (deferred_ && state_ != State::Closed) {
    deferred_ = false;
    nghttp2_session_resume_data(s_.ng(), id_);
  }
  s_.want_send();
}

ssize_t Stream::read_data(uint8_t* buf, size_t len, uint32_t* flags) {
  size_t done = 0;
  while (done < len && !out_.empty()) {
    Part& p = out_.front();
    size_t n;
    if (!p.file) {
      n = std::min(len - done, p.text.size());
      std::memcpy(buf + done, p.text.data(), n);
      p.text.erase(0, n);
      if (p.text.empty()) out_.pop_front();
    } else {
      n = static_cast<size_t>(std::min<uint64_t>(len - done, p.length));
      ssize_t r = ::pread(p.file->fd, buf + done, n, static_cast<off_t>(p.offset));
      if (r <= 0) {
        core::log(core::LogLevel::Info, "http2", "[client {}] file read failed or the file shrank (stream {})",
                  req_.client_ip, id_);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // the stream is reset: a short body never looks whole
      }
      n = static_cast<size_t>(r);
      p.offset += n;
      p.length -= n;
      if (p.length == 0) out_.pop_front();
    }
    done += n;
    queued_bytes_ -= n;
  }
  sent_body_ += done;
  sent_total_ += done;
  if (done > 0) {
    note_progress();
    // Room in the queue again: an exchange waiting for it goes on.
    if ((exchange_ || !req_.filters.empty()) && queued_bytes_ < s_.limits().stream_buffer) s_.ready(*this);
  }
  if (out_.empty() && out_ended_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(done);
  }
  if (done == 0) {
    deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(done);
}

// --- The request body --------------------------------------------------------------

http::RequestBody::Status Stream::Body::read(std::string_view& data, size_t max) {
  Stream& st = st_;
  if (st.state_ == State::Closed || st.state_ == State::Done) return Status::Gone;
  // The chunk handed out last time is done with now.
  while (!st.in_chunks_.empty() && st.in_pos_ >= st.in_chunks_.front().size()) {
    st.in_chunks_.pop_front();
    st.in_pos_ = 0;
  }
  if (st.in_chunks_.empty()) {
    if (st.in_ended_) {
      st.req_.body_chunked = false;
      st.req_.body_left = 0;
      return Status::End;
    }
    if (st.req_.head.expect_continue && !st.continue_sent_) {
      // RFC 9110 §10.1.1: the client waits for it before it sends the body.
      st.continue_sent_ = true;
      static const nghttp2_nv kContinue[] = {
          {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(":status")),
           const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>("100")), 7, 3, NGHTTP2_NV_FLAG_NONE}};
      nghttp2_submit_headers(st.s_.ng(), NGHTTP2_FLAG_NONE, st.id_, nullptr, kContinue, 1, nullptr);
      st.s_.want_send();
    }
    return Status::Again;
  }
  if (max == 0) return Status::Again;
  const std::string& c = st.in_chunks_.front();
  size_t n = std::min(max, c.size() - st.in_pos_);
  data = std::string_view(c).substr(st.in_pos_, n);
  st.in_pos_ += n;
  if (st.req_.body_left >= n) st.req_.body_left -= n;
  // What the exchange took opens the window for more (WINDOW_UPDATE).
  nghttp2_session_consume(st.s_.ng(), st.id_, n);
  st.s_.want_send();
  return Status::Data;
}

// --- Accounting ------------------------------------------------------------------------

void Stream::publish() {
  auto copy = [](char* dst, size_t cap, std::string_view v) {
    size_t n = std::min(cap - 1, v.size());
    if (n > 0) std::memcpy(dst, v.data(), n);
    dst[n] = '\0';
  };
  copy(slot_->client, sizeof slot_->client, req_.client_ip);
  copy(slot_->vhost, sizeof slot_->vhost,
       req_.site ? std::string_view(req_.site->cfg->server_name) : std::string_view());
  std::string_view line = std::string_view(builder_.text()).substr(0, req_.head_len);
  copy(slot_->request, sizeof slot_->request, line.substr(0, line.find('\r')));
}

void Stream::record(char conn_status) {
  logged_ = true;
  req_.seed.reset();
  req_.filters.clear();
  auto& w = s_.worker();
  const uint64_t sent = sent_total_;
  const uint64_t took_us = core::mono_us() - req_.start_us;
  count_request(w, req_, slot_, sent, took_us);  // request/access_logging.h
  if (slot_ && w.extended_status()) publish();
  std::string_view line = std::string_view(builder_.text()).substr(0, req_.head_len);
  write_access_logs(req_, {line.substr(0, line.find('\r')), s_.local_port(), &s_.local(), sent, took_us,
                           w.loop().wall_time(), 0, conn_status, &s_.transport()});
}

}  // namespace pillar::server::http2

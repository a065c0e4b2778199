// The HTTP/2 session (session.h): nghttp2's callbacks, the read/run/send
// loop, the connection's timers and the hostile-peer limits.
#include "server/http2/session.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

#include "config/model.h"
#include "core/assert.h"
#include "core/log.h"
#include "core/socket_address.h"
#include "server/http2/stream.h"
#include "server/worker_loop.h"

namespace pillar::server::http2 {

namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kReadsPerPass = 4;        // 64 KiB read per loop pass, then the others get a turn
constexpr size_t kWriteBatch = 64 * 1024;  // frames gathered for one write

Session& of(void* user_data) { return *static_cast<Session*>(user_data); }

Stream* stream_of(nghttp2_session* ng, int32_t id) {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(ng, id));
}

int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  return of(ud).begin_stream(frame->hd.stream_id) ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

int on_header(nghttp2_session* ng, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
              const uint8_t* value, size_t valuelen, uint8_t, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: ignored
  Stream* st = stream_of(ng, frame->hd.stream_id);
  if (!st) return 0;
  if (st->on_field({reinterpret_cast<const char*>(name), namelen}, {reinterpret_cast<const char*>(value), valuelen}))
    return 0;
  // Malformed (RFC 9113 §8.1.1): a stream error of type PROTOCOL_ERROR.
  nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
  return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  of(ud).frame_received(*frame);
  return 0;
}

int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  of(ud).frame_sent(*frame);
  return 0;
}

int on_data_chunk(nghttp2_session* ng, uint8_t, int32_t id, const uint8_t* data, size_t len, void*) {
  if (Stream* st = stream_of(ng, id)) st->on_data(data, len);
  else nghttp2_session_consume_connection(ng, len);  // a stream we let go: its bytes open the window again
  return 0;
}

int on_stream_close(nghttp2_session*, int32_t id, uint32_t error_code, void* ud) {
  of(ud).stream_closed(id, error_code);
  return 0;
}

// The callbacks, made once (they are the same for every session).
const nghttp2_session_callbacks* callbacks() {
  static nghttp2_session_callbacks* cbs = [] {
    nghttp2_session_callbacks* c = nullptr;
    nghttp2_session_callbacks_new(&c);
    nghttp2_session_callbacks_set_on_begin_headers_callback(c, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(c, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(c, on_frame_send);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, on_stream_close);
    return c;
  }();
  return cbs;
}

const char* kind_name(Session::Hostile k) {
  switch (k) {
    case Session::Hostile::RapidReset: return "rapid reset";
    case Session::Hostile::HeaderFlood: return "header flood";
    case Session::Hostile::ControlFlood: return "control-frame flood";
    case Session::Hostile::Stall: return "stalled stream";
    case Session::Hostile::Protocol: return "protocol error";
    case Session::Hostile::Refused: return "refused stream";
  }
  return "?";
}

}  // namespace

Session::Session(WorkerLoop& w, core::Transport& t, core::shm::ConnSlot& conn_slot, core::shm::Http2Counters& counters,
                 const sockaddr_storage& peer, std::string peer_ip, const sockaddr_storage& local,
                 const config::VirtualHost& vhost, std::function<void()> on_close)
    : w_(w), t_(t), conn_slot_(conn_slot), counters_(counters), peer_(peer), peer_ip_(std::move(peer_ip)), local_(local),
      limits_(Limits::from(w.runtime().config(), vhost.h2)), on_close_(std::move(on_close)),
      resets_(limits_.resets_per_window, Limits::kWindowMs), control_(limits_.control_per_window, Limits::kWindowMs) {
  local_port_ = core::address_port(local_);
  local_ip_ = core::address_text(local_);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // The request body's window opens as exchanges read it (Stream::Body).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_outbound_ack(opt, Limits::kMaxOutboundAcks);
  nghttp2_option_set_max_settings(opt, Limits::kMaxSettingsEntries);
  nghttp2_option_set_max_continuations(opt, Limits::kMaxContinuations);
  // nghttp2's own rapid-reset bucket backs ours up (frame_received counts first).
  nghttp2_option_set_stream_reset_rate_limit(opt, 2ull * limits_.resets_per_window,
                                             2ull * limits_.resets_per_window * 1000 / Limits::kWindowMs + 1);
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_session_server_new2(&ng_, callbacks(), this, opt);
  nghttp2_option_del(opt);
  PILLAR_ASSERT(ng_ != nullptr);
  rbuf_ = std::make_unique<char[]>(kReadChunk);
  counters_.sessions.fetch_add(1, std::memory_order_relaxed);
}

Session::~Session() {
  core::TimerWheel::cancel(*this);
  for (auto& [id, st] : streams_) st->abandon();
  streams_.clear();
  graveyard_.clear();
  nghttp2_session_del(ng_);
}

void Session::start(std::string_view received) {
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(std::min<uint64_t>(limits_.header_list, UINT32_MAX))},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  int rv = nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings, sizeof settings / sizeof settings[0]);
  PILLAR_ASSERT(rv == 0);
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, static_cast<int32_t>(limits_.connection_window));
  conn_slot_.state.store(static_cast<char>(core::shm::SlotState::KeepAlive), std::memory_order_relaxed);
  in_drive_ = true;
  if (!received.empty()) feed(reinterpret_cast<const uint8_t*>(received.data()), received.size());
  in_drive_ = false;
  drive();
}

void Session::on_io(uint32_t events) {
  // Streams closed since the last event go now: this is an event of our
  // own, not a call from inside some exchange's callback (an exchange that
  // woke its stream may still be on the stack after wake() returns).
  graveyard_.clear();
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) readable_ = true;
  drive();  // a write that waited goes on in flush()
}

void Session::wake() {
  if (in_drive_) {
    again_ = true;
    return;
  }
  drive();
}

void Session::ready(Stream& s) {
  again_ = true;
  if (s.queued) return;
  s.queued = true;
  ready_.push_back(&s);
}

void Session::drive() {
  if (closed_) return;
  if (in_drive_) {
    again_ = true;
    return;
  }
  in_drive_ = true;
  do {
    again_ = false;
    read_some();
    if (closed_) break;
    run_ready();
    if (closed_) break;
    flush();
  } while (again_ && !closed_);
  in_drive_ = false;
  if (closed_) return;
  check_done();
  if (!closed_) arm_timer();
}

void Session::read_some() {
  for (size_t i = 0; i < kReadsPerPass; ++i) {
    // While the socket does not take what was written, nothing more is
    // read: a peer that does not read cannot make us queue acks or answers.
    if (!readable_ || out_pos_ < out_.size() || closed_ || terminating_) return;
    core::Io r = t_.read(rbuf_.get(), kReadChunk);
    if (r.again()) {
      readable_ = false;
      return;
    }
    if (!r.ok()) {  // the client closed or the connection broke: nothing more can be said
      close();
      return;
    }
    feed(reinterpret_cast<const uint8_t*>(rbuf_.get()), r.n);
  }
  again_ = true;  // more may be waiting
}

void Session::feed(const uint8_t* data, size_t len) {
  ssize_t rv = nghttp2_session_mem_recv(ng_, data, len);
  if (rv < 0) failed(rv);
}

void Session::failed(ssize_t rv) {
  switch (rv) {
    case NGHTTP2_ERR_FLOODED:
      note_hostile(Hostile::ControlFlood, "too many SETTINGS or PING acks waiting for a client that does not read");
      return terminate(NGHTTP2_ENHANCE_YOUR_CALM, "flood");
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
      note_hostile(Hostile::HeaderFlood, "CONTINUATION flood");
      return terminate(NGHTTP2_ENHANCE_YOUR_CALM, "continuation flood");
    case NGHTTP2_ERR_TOO_MANY_SETTINGS:
      note_hostile(Hostile::ControlFlood, "SETTINGS frame with too many entries");
      return terminate(NGHTTP2_ENHANCE_YOUR_CALM, "settings");
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
      core::log(core::LogLevel::Info, "http2", "[client {}] not an HTTP/2 client preface; connection closed", peer_ip_);
      return close();
    default:
      note_hostile(Hostile::Protocol, nghttp2_strerror(static_cast<int>(rv)));
      return terminate(NGHTTP2_PROTOCOL_ERROR, nghttp2_strerror(static_cast<int>(rv)));
  }
}

// GOAWAY with an error, sent as the last frame; the connection closes when
// it is out (check_done), or at the write timeout.
void Session::terminate(uint32_t error_code, std::string_view) {
  if (terminating_ || closed_) return;
  terminating_ = true;
  nghttp2_session_terminate_session(ng_, error_code);
  again_ = true;
}

void Session::run_ready() {
  // Streams run in the order they became ready; one that becomes ready
  // again while it runs goes to the back.
  // The two lists trade places and keep their capacity: no allocation per pass.
  std::vector<Stream*>& batch = running_;
  batch.clear();
  batch.swap(ready_);
  for (Stream* s : batch) {
    s->queued = false;
    if (closed_) return;
    if (!s->closed()) s->run();
  }
  batch.clear();
}

bool Session::send_now() {
  if (closed_) return false;
  flush();
  return !closed_;
}

void Session::flush() {
  for (;;) {
    if (closed_) return;
    if (out_pos_ < out_.size()) {
      core::Io r = t_.write(out_.data() + out_pos_, out_.size() - out_pos_);
      if (r.ok()) {
        out_pos_ += r.n;
        last_write_ms_ = w_.loop().now_ms();
        continue;
      }
      if (r.again()) return;  // EPOLLOUT runs drive() again
      close();
      return;
    }
    out_.clear();
    out_pos_ = 0;
    while (out_.size() < kWriteBatch) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(ng_, &data);
      if (n < 0) {
        failed(n);
        if (n != NGHTTP2_ERR_FLOODED) {
          close();
          return;
        }
        break;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (out_.empty()) return;
  }
}

// Closes when nothing more can happen: nghttp2 wants neither to read nor
// to write (a GOAWAY went out and no stream is open), or we drain and the
// last stream is done.
void Session::check_done() {
  if (closed_ || out_pos_ < out_.size()) return;
  bool want = nghttp2_session_want_read(ng_) || nghttp2_session_want_write(ng_);
  if (!want || (terminating_ && !nghttp2_session_want_write(ng_)) || (draining_ && streams_.empty() &&
                                                                      !nghttp2_session_want_write(ng_)))
    close();
}

void Session::arm_timer() {
  const uint64_t now = w_.loop().now_ms();
  if (out_pos_ < out_.size()) {
    // A socket that does not drain: Timeout since the last write that moved bytes.
    w_.loop().timers().arm(*this, std::max(now, last_write_ms_) + limits_.timeout_ms);
    return;
  }
  if (streams_.empty()) {
    conn_slot_.state.store(static_cast<char>(draining_ ? core::shm::SlotState::Graceful : core::shm::SlotState::KeepAlive),
                           std::memory_order_relaxed);
    w_.loop().timers().arm(*this, now + (draining_ ? 100 : limits_.idle_ms));
    return;
  }
  conn_slot_.state.store(static_cast<char>(core::shm::SlotState::Writing), std::memory_order_relaxed);
  core::TimerWheel::cancel(*this);  // each stream times itself
}

void Session::on_timer() {
  graveyard_.clear();  // see on_io
  if (closed_) return;
  const uint64_t now = w_.loop().now_ms();
  if (out_pos_ < out_.size()) {
    if (now < last_write_ms_ + limits_.timeout_ms) return arm_timer();
    core::log(core::LogLevel::Info, "http2", "[client {}] send timeout ({} ms); connection closed", peer_ip_,
              limits_.timeout_ms);
    return close();
  }
  if (!streams_.empty()) return;
  if (terminating_) return close();
  // Idle (KeepAliveTimeout) or draining: GOAWAY, then close.
  terminate(NGHTTP2_NO_ERROR, "idle");
  drive();
}

void Session::drain(bool graceful) {
  (void)graceful;  // either way the open streams finish; a hard stop's deadline closes what is left
  if (closed_ || draining_) return;
  draining_ = true;
  if (streams_.empty()) {
    terminate(NGHTTP2_NO_ERROR, "drain");
  } else {
    // RFC 9113 §6.8: the last stream id we took; higher ones the client
    // sends again elsewhere.
    nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }
  drive();
}

void Session::close_if_idle() {
  if (!closed_ && streams_.empty()) {
    terminate(NGHTTP2_NO_ERROR, "idle");
    flush();
    close();
  }
}

void Session::shutdown() {
  if (closed_) return;
  closed_ = true;
  core::TimerWheel::cancel(*this);
  for (auto& [id, st] : streams_) {
    st->abandon();
    graveyard_.push_back(std::move(st));
  }
  streams_.clear();
  ready_.clear();
}

void Session::close() {
  if (closed_) return;
  shutdown();
  on_close_();  // the connection closes (and deletes us after the event batch)
}

Stream* Session::begin_stream(int32_t id) {
  if (closed_ || draining_) return nullptr;
  auto st = std::make_unique<Stream>(*this, id);
  Stream* p = st.get();
  streams_[id] = std::move(st);
  nghttp2_session_set_stream_user_data(ng_, id, p);
  return p;
}

void Session::bury(int32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  graveyard_.push_back(std::move(it->second));
  streams_.erase(it);
}

void Session::stream_closed(int32_t id, uint32_t error_code) {
  Stream* st = stream_of(ng_, id);
  if (!st) return;
  st->on_closed(error_code);
  nghttp2_session_set_stream_user_data(ng_, id, nullptr);
  bury(id);
  again_ = true;
}

void Session::frame_received(const nghttp2_frame& f) {
  const uint64_t now = w_.loop().now_ms();
  Stream* st = f.hd.stream_id ? stream_of(ng_, f.hd.stream_id) : nullptr;
  switch (f.hd.type) {
    case NGHTTP2_HEADERS:
      if (st && f.headers.cat == NGHTTP2_HCAT_REQUEST) {
        st->on_head_end(f.hd.flags & NGHTTP2_FLAG_END_STREAM);
      } else if (st && (f.hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        st->on_end_stream();  // trailers end the body
      }
      return;
    case NGHTTP2_DATA:
      if (f.hd.length == 0 && !(f.hd.flags & NGHTTP2_FLAG_END_STREAM) && control_.note(now)) {
        note_hostile(Hostile::ControlFlood, "empty DATA frames");
        return terminate(NGHTTP2_ENHANCE_YOUR_CALM, "empty data");
      }
      if (st && (f.hd.flags & NGHTTP2_FLAG_END_STREAM)) st->on_end_stream();
      return;
    case NGHTTP2_RST_STREAM:
      // CVE-2023-44487: streams opened and reset at once cost us their
      // start-up and cost the client nothing.
      if (resets_.note(now)) {
        note_hostile(Hostile::RapidReset, "too many RST_STREAM frames");
        terminate(NGHTTP2_ENHANCE_YOUR_CALM, "rapid reset");
      }
      return;
    case NGHTTP2_SETTINGS:
    case NGHTTP2_PING:
      if (f.hd.flags & NGHTTP2_FLAG_ACK) return;
      [[fallthrough]];
    case NGHTTP2_PRIORITY:
      if (control_.note(now)) {
        note_hostile(Hostile::ControlFlood, f.hd.type == NGHTTP2_PING       ? "PING flood"
                                            : f.hd.type == NGHTTP2_SETTINGS ? "SETTINGS flood"
                                                                            : "PRIORITY flood");
        terminate(NGHTTP2_ENHANCE_YOUR_CALM, "control flood");
      }
      return;
    case NGHTTP2_WINDOW_UPDATE:
      // Updates answer the DATA we sent (one for the stream, one for the
      // connection per frame at most); those beyond that are counted.
      if (window_update_credit_ > 0) {
        --window_update_credit_;
      } else if (control_.note(now)) {
        note_hostile(Hostile::ControlFlood, "WINDOW_UPDATE flood");
        terminate(NGHTTP2_ENHANCE_YOUR_CALM, "window update flood");
      }
      return;  // nghttp2 sends what the window held back at the next mem_send
    default:
      return;
  }
}

void Session::frame_sent(const nghttp2_frame& f) {
  switch (f.hd.type) {
    case NGHTTP2_DATA:
      window_update_credit_ = std::min<uint64_t>(window_update_credit_ + 2, 1u << 20);
      [[fallthrough]];
    case NGHTTP2_HEADERS:
      if (f.hd.flags & NGHTTP2_FLAG_END_STREAM) {
        if (Stream* st = stream_of(ng_, f.hd.stream_id)) st->on_response_end();
      }
      return;
    case NGHTTP2_RST_STREAM:
      if (f.rst_stream.error_code == NGHTTP2_REFUSED_STREAM) {
        counters().refused_streams.fetch_add(1, std::memory_order_relaxed);
        note_hostile(Hostile::Refused, "more concurrent streams than H2MaxSessionStreams");
      }
      return;
    case NGHTTP2_GOAWAY:
      // nghttp2 ends a connection whose client broke the protocol (stream
      // ids out of order or even, frames on idle streams, bad sizes...)
      // with GOAWAY; our own floods say ENHANCE_YOUR_CALM (counted above).
      if (f.goaway.error_code != NGHTTP2_NO_ERROR && f.goaway.error_code != NGHTTP2_ENHANCE_YOUR_CALM) {
        note_hostile(Hostile::Protocol, nghttp2_http2_strerror(f.goaway.error_code));
        terminating_ = true;
      }
      return;
    default:
      return;
  }
}

void Session::note_hostile(Hostile kind, std::string_view what) {
  auto& c = counters();
  switch (kind) {
    case Hostile::RapidReset: c.rapid_resets.fetch_add(1, std::memory_order_relaxed); break;
    case Hostile::HeaderFlood: c.header_floods.fetch_add(1, std::memory_order_relaxed); break;
    case Hostile::ControlFlood: c.control_floods.fetch_add(1, std::memory_order_relaxed); break;
    case Hostile::Stall: c.stalled_streams.fetch_add(1, std::memory_order_relaxed); break;
    case Hostile::Protocol: c.protocol_errors.fetch_add(1, std::memory_order_relaxed); break;
    case Hostile::Refused: break;  // counted in frame_sent, where nghttp2's own refusals are seen too
  }
  const uint8_t bit = static_cast<uint8_t>(1u << static_cast<unsigned>(kind));
  if (logged_ & bit) return;
  logged_ |= bit;
  core::log(core::LogLevel::Info, "http2", "[client {}] {}: {}", peer_ip_, kind_name(kind), what);
}

}  // namespace pillar::server::http2

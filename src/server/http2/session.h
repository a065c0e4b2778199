// One HTTP/2 connection: an nghttp2 server session over the connection's
// core::Transport, on the worker's event loop. The Connection that accepted
// the socket hands it over once it knows the client speaks HTTP/2 (ALPN
// "h2" over TLS, or the client preface on a cleartext port whose vhost
// lists h2c: handover.cpp) and from then on forwards its events here; it
// keeps the socket, its scoreboard slot and its place in the loop's list.
//
// The loop (drive):  read what the socket has -> nghttp2_session_mem_recv
// (callbacks only record: a stream's fields, its body, that it is ready) ->
// run the ready streams (their exchanges) -> nghttp2_session_mem_send, in
// batches of frames, -> write. Back-pressure: while the socket does not
// take what was written, nothing more is read (so acks and answers cannot
// pile up), and a stream's exchange waits for its queue to drain.
//
// Timers on the loop's wheel: KeepAliveTimeout with no stream open (then
// GOAWAY and close), Timeout for a socket that stops draining; each stream
// has its own (stream.h). Hostile peers meet the limits of limits.h; each
// case is counted (core/shm Http2Counters, /metrics) and logged once per
// connection. Drain (a graceful reload or stop): GOAWAY naming the last
// stream taken, the open streams finish, then the connection closes.
#pragma once
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/shm/scoreboard.h"
#include "core/timer_wheel.h"
#include "core/transport.h"
#include "server/http2/limits.h"

namespace pillar::config {
struct VirtualHost;
}

namespace pillar::server {
class WorkerLoop;
}

namespace pillar::server::http2 {

class Stream;

class Session final : public core::TimerNode {
 public:
  // The connection's: loop, transport, slot, client and local address; its
  // vhost's HTTP/2 settings (`vhost`: SNI's over TLS, the address's default
  // for h2c). `on_close` closes the connection (never called from the
  // destructor).
  Session(WorkerLoop& w, core::Transport& t, core::shm::ConnSlot& conn_slot, core::shm::Http2Counters& counters,
          const sockaddr_storage& peer, std::string peer_ip, const sockaddr_storage& local,
          const config::VirtualHost& vhost, std::function<void()> on_close);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Begins with the bytes the connection already read (the client preface
  // and maybe frames after it).
  void start(std::string_view received);
  void on_io(uint32_t events);  // the transport's readiness (Transport::readiness applied)
  void on_timer() override;
  // Graceful or not, GOAWAY goes out and the open streams finish; with
  // none open the connection closes at once.
  void drain(bool graceful);
  void close_if_idle();
  // The connection is closing: every stream is dropped now.
  void shutdown();

  // --- For the streams.
  WorkerLoop& worker() { return w_; }
  core::Transport& transport() { return t_; }
  nghttp2_session* ng() { return ng_; }
  const Limits& limits() const { return limits_; }
  const sockaddr_storage& peer() const { return peer_; }
  bool over_client_limit = false;  // the connection's (Connection::over_client_limit): every stream is refused
  const std::string& peer_ip() const { return peer_ip_; }
  const sockaddr_storage& local() const { return local_; }
  const std::string& local_ip() const { return local_ip_; }  // local() as text (Server_Addr), made once
  uint16_t local_port() const { return local_port_; }
  core::shm::Http2Counters& counters() { return counters_; }
  // The stream has something to do (its head is in, body came, its queue
  // drained, its exchange woke): run it from the loop.
  void ready(Stream& s);
  // The stream woke up outside the loop (its exchange's own socket or
  // timer): run the loop now.
  void wake();
  // Frames were submitted: send them when the loop gets there.
  void want_send() { again_ = true; }
  // Sends what nghttp2 has now (an exchange's flush()); false when the
  // connection is gone.
  bool send_now();
  // A hostile peer met a limit: counted once per event, logged once per
  // connection and kind.
  enum class Hostile : uint8_t { RapidReset, HeaderFlood, ControlFlood, Stall, Protocol, Refused };
  void note_hostile(Hostile kind, std::string_view what);

  // nghttp2's callbacks (session.cpp) reach these.
  void frame_received(const nghttp2_frame& f);
  void frame_sent(const nghttp2_frame& f);
  void stream_closed(int32_t id, uint32_t error_code);
  Stream* begin_stream(int32_t id);

 private:
  void drive();
  void read_some();
  void feed(const uint8_t* data, size_t len);
  void failed(ssize_t rv);  // mem_recv/mem_send's fatal error
  void run_ready();
  void flush();
  void terminate(uint32_t error_code, std::string_view why);  // GOAWAY, then close once it is out
  void check_done();
  void close();
  void arm_timer();
  void bury(int32_t id);

  WorkerLoop& w_;
  core::Transport& t_;
  core::shm::ConnSlot& conn_slot_;
  core::shm::Http2Counters& counters_;
  sockaddr_storage peer_;
  std::string peer_ip_;
  sockaddr_storage local_;
  std::string local_ip_;
  uint16_t local_port_ = 0;
  Limits limits_;
  std::function<void()> on_close_;
  nghttp2_session* ng_ = nullptr;

  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<Stream*> ready_;
  std::vector<Stream*> running_;  // run_ready's batch (ready_'s previous storage)
  // Closed streams, deleted at the session's next own event (on_io,
  // on_timer) or with it: never under a callback that may still use them.
  std::vector<std::unique_ptr<Stream>> graveyard_;

  std::unique_ptr<char[]> rbuf_;
  std::string out_;  // frames for the socket
  size_t out_pos_ = 0;
  uint64_t last_write_ms_ = 0;

  bool readable_ = true;
  bool closed_ = false;
  bool draining_ = false;
  bool terminating_ = false;  // a GOAWAY with an error: close once it is out
  bool in_drive_ = false;
  bool again_ = false;
  uint64_t window_update_credit_ = 0;  // WINDOW_UPDATEs our DATA frames may have asked for
  WindowCounter resets_;
  WindowCounter control_;
  uint8_t logged_ = 0;  // Hostile kinds already logged on this connection
};

}  // namespace pillar::server::http2

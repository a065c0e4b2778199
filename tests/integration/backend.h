// A tiny scriptable HTTP/1.x backend for the proxy integration tests: one
// thread in the test process, listening on 127.0.0.1:0, raw sockets + poll.
//
// Every request is parsed (Content-Length or chunked body), recorded, and
// answered by a handler. The default handler is scripted by the last segment
// of the request path (what the proxy sends, after its path mapping):
//
//   .../chunked        the echo, sent with Transfer-Encoding: chunked (uneven chunks)
//   .../http10         the echo as an HTTP/1.0 response without Content-Length,
//                      delimited by closing the connection
//   .../sleep-MS       waits MS milliseconds, then the echo
//   .../mirror         the request body itself, Content-Length framed
//   .../big-N          N bytes of pattern_bytes(N), Content-Length framed
//   .../bigchunked-N   the same, chunked
//   .../malformed      a malformed status line ("HTTP/1.1 abc Nope")
//   .../bigheaders     a 200 whose head holds one 64 KiB header field
//   .../cut            Content-Length: 100000, 1000 body bytes, then close
//   .../cutchunked     a chunked body cut after a few chunks (no last chunk), then close
//   .../upgrade        101 Switching Protocols (Upgrade: websocket) followed by
//                      "hello-from-backend"; afterwards every byte received is echoed
//   .../redirect       302 with Location: http://127.0.0.1:PORT/sub/landed?x=1
//   .../redirect2      302 with a Location whose query holds "http://example.com//x"
//   .../hopresp        a 200 with "Connection: X-Hop-Resp", "X-Hop-Resp: secret",
//                      "Keep-Alive: timeout=5" and the end-to-end "X-Kept: yes"
//   .../close          the echo, with Connection: close, then close
//   anything else      the echo, Content-Length framed
//
// The echo body is text: "backend NAME\n", "method M\n", "target T\n",
// "version V\n", "body-length N\n", then "header NAME: VALUE\n" per field.
// Every response carries "X-Backend: NAME".
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "harness.h"

namespace itest {

struct BackendRequest {
  std::string method, target, version;
  std::vector<std::pair<std::string, std::string>> headers;  // in order
  std::string body;                                          // decoded (chunked removed)
  bool chunked = false;                                      // arrived with Transfer-Encoding: chunked
  uint64_t connection = 0;                                   // 1-based id of the connection it came on

  bool has(const std::string& name) const;
  std::string header(const std::string& name) const;  // first value, "" when absent
  size_t count(const std::string& name) const;
};

// What the backend does with one request.
struct BackendReply {
  std::string bytes;                          // written as they are
  std::chrono::milliseconds delay{0};         // before writing anything
  bool close_after = false;                   // close once written (else keep the connection)
  bool tunnel_echo = false;                   // once written, echo every byte received (an upgraded connection)
};

class Backend {
 public:
  using Handler = std::function<BackendReply(const BackendRequest&)>;

  // Starts listening at once; ok() says whether it did. With no handler the
  // scripted default above is used.
  explicit Backend(std::string name, Handler handler = nullptr);
  ~Backend();  // stops the thread and closes every socket
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  uint16_t port() const { return port_; }
  const std::string& name() const { return name_; }
  std::string url() const;  // "http://127.0.0.1:PORT"

  std::vector<BackendRequest> requests() const;  // all recorded so far
  size_t request_count() const;
  uint64_t connections_accepted() const { return accepted_.load(); }
  uint64_t connections_open() const { return accepted_.load() - closed_.load(); }
  void clear();  // forgets the recorded requests

  // The default handler, usable from custom ones.
  BackendReply scripted(const BackendRequest& r) const;
  std::string echo_text(const BackendRequest& r) const;

 private:
  struct Conn;
  void run();

  std::string name_;
  Handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0}, closed_{0};
  mutable std::mutex mu_;
  std::vector<BackendRequest> requests_;
  std::thread thread_;
};

// Deterministic, not very compressible test bytes.
std::string pattern_bytes(size_t n, uint32_t seed = 1);

// Parses "name: value" lines of an echo body: "header NAME: VALUE" entries
// (name lowercased) and the other "key value" lines.
struct EchoInfo {
  std::string backend, method, target, version;
  size_t body_length = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  bool valid = false;

  bool has(const std::string& lname) const;
  std::string header(const std::string& lname) const;
  size_t count(const std::string& lname) const;
};
EchoInfo parse_echo(const std::string& body);

// A 200 (Content-Length framed) naming `backend` in X-Backend, after `delay`.
BackendReply text_reply(const std::string& backend, const std::string& body,
                        std::chrono::milliseconds delay = std::chrono::milliseconds(0));

// ---- proxy test helpers ----------------------------------------------------------------

// A real pillar instance as a balancer member: its docroot's index.html (and
// name.txt) hold "member NAME\n".
class PillarMember {
 public:
  explicit PillarMember(const std::string& name, const std::string& extra = "");
  bool ok() const { return srv_ && srv_->ok(); }
  std::string error() const { return srv_ ? srv_->error() : "not started"; }
  uint16_t port() const { return srv_->port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  const std::string& name() const { return name_; }
  ServerProcess& server() { return *srv_; }
  // SIGKILL to the workers and the master at once (a crashed machine).
  void kill9();

 private:
  std::string name_;
  TempTree tree_;
  std::unique_ptr<ServerProcess> srv_;
};

// The configuration of a proxy front: Listen 127.0.0.1:0, ServerName localhost,
// DocumentRoot `docroot`, one worker process (StartServers 1, ServerLimit 1) so
// per-node balancer state is observable from one connection, then `extra`.
std::string proxy_front_config(const std::string& docroot, const std::string& extra, int workers = 1);

// "member NAME" -> "NAME" (the first line of a member's index.html), "" otherwise.
std::string member_of(const std::string& body);

}  // namespace itest

// Integration-test harness: starts real pillar processes on ephemeral ports
// and talks to them with raw sockets and libcurl.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace itest {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// ---- temporary directories -------------------------------------------------

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when the object goes away.
class TempTree {
 public:
  TempTree();
  ~TempTree();
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& root() const { return root_; }
  std::string path(std::string_view rel) const;  // root + "/" + rel

  // Each creates missing parent directories. Returns the absolute path.
  std::string write(std::string_view rel, std::string_view content);
  std::string mkdir(std::string_view rel);
  std::string symlink(std::string_view target, std::string_view rel);  // rel -> target
  void set_mtime(std::string_view rel, time_t t);
  std::string read(std::string_view rel) const;  // "" when missing

 private:
  std::string root_;
};

// ---- running the server ------------------------------------------------------

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out, err;
};

// Runs PILLAR_BINARY with args, stdin closed, bounded by `timeout`.
RunResult run_pillar(const std::vector<std::string>& args, Millis timeout = 10s);

// Writes `config` to a file in a temp dir and runs `pillar -t -f FILE`.
// The file path is returned through *path when given.
RunResult check_config(const std::string& config, std::string* path = nullptr);

// A pillar process running `pillar -f CONFIG` in the foreground.
// The constructor waits (up to 10 s) for `listeners` lines
// "pillar: listening on http://IP:PORT/" on stderr; check ok() afterwards.
// stderr keeps being drained by a thread (readable with stderr_text()).
// The destructor sends SIGTERM, then SIGKILL after 5 s, and reaps the child.
class ServerProcess {
 public:
  // `env`: extra "NAME=value" entries for the server's environment (fault points).
  explicit ServerProcess(const std::string& config, size_t listeners = 1, const std::vector<std::string>& env = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }  // why !ok(), with stderr
  uint16_t port(size_t i = 0) const { return i < ports_.size() ? ports_[i] : 0; }
  std::string base_url(size_t i = 0) const;  // "http://127.0.0.1:PORT"
  const std::string& config_path() const { return config_path_; }
  std::string stderr_text() const;
  pid_t pid() const { return pid_; }

  // SIGTERM, wait (then SIGKILL); returns the exit status (-1 when killed).
  int stop(Millis grace = 5s);

 private:
  void drain_loop();

  TempTree dir_;
  std::string config_path_;
  pid_t pid_ = -1;
  int err_fd_ = -1;
  bool ok_ = false;
  std::string error_;
  std::vector<uint16_t> ports_;
  mutable std::mutex mu_;
  std::string stderr_;
  std::thread drain_;
  int exit_code_ = -1;
  bool reaped_ = false;
};

// ---- HTTP responses ------------------------------------------------------------

struct HttpResponse {
  int status = 0;
  std::string version;  // "HTTP/1.1"
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as sent
  std::string body;

  bool has(std::string_view name) const;
  std::string header(std::string_view name) const;  // first value, "" when absent
  size_t count(std::string_view name) const;
};

// Parses one response from the front of `data`. `head_request`: no body.
// Returns bytes consumed, 0 when `data` does not hold a complete response.
size_t parse_response(std::string_view data, HttpResponse& out, bool head_request = false);

// All complete responses in `data` (bodies framed by Content-Length; none for
// 1xx/204/304). `head_flags[i]` says whether response i answers a HEAD.
std::vector<HttpResponse> parse_responses(std::string_view data, const std::vector<bool>& head_flags = {});

// ---- raw sockets ---------------------------------------------------------------

enum class CloseKind { Open, Eof, Reset, Timeout, Error };
const char* to_string(CloseKind k);

// A TCP connection to 127.0.0.1:port for hand-written (also malformed) requests.
// A listening TCP socket on 127.0.0.1:`port` (0: an ephemeral port), with
// SO_REUSEADDR and close-on-exec plus `extra_flags` (e.g. SOCK_NONBLOCK);
// `port` is set to the bound port. -1 on failure.
int listen_loopback(uint16_t& port, int backlog, int extra_flags = 0);

class RawConnection {
 public:
  explicit RawConnection(uint16_t port, Millis connect_timeout = 3s);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(std::string_view bytes);  // all of it (false on error)
  void shutdown_write();

  // Reads until the peer closes or `timeout` passes; returns everything read
  // (including what was buffered by read_response). close_kind() says why it stopped.
  std::string read_until_close(Millis timeout = 5s);

  // Reads exactly one response (headers + Content-Length body). Extra bytes
  // stay buffered for the next call. status 0 when none arrived in time.
  HttpResponse read_response(Millis timeout = 5s, bool head_request = false);

  // True when the peer closes (EOF or reset) within `timeout` without sending
  // anything more; extra bytes go to *extra.
  bool wait_closed(Millis timeout = 3s, std::string* extra = nullptr);

  CloseKind close_kind() const { return close_; }
  const std::string& buffered() const { return buf_; }

 private:
  // One poll+read; false on close/timeout (close_ updated).
  bool read_some(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buf_;
  CloseKind close_ = CloseKind::Open;
};

// Connects, sends `request`, reads until the server closes (bounded).
struct RawExchange {
  std::string data;
  CloseKind close = CloseKind::Open;
  std::vector<HttpResponse> responses;  // parsed from data
  const HttpResponse& first() const;
};
RawExchange raw_exchange(uint16_t port, std::string_view request, Millis timeout = 5s, bool head_request = false);

// ---- libcurl ---------------------------------------------------------------------

struct CurlOptions {
  std::string method = "GET";               // GET, HEAD, POST, PUT, DELETE, ...
  std::vector<std::string> headers;         // "Name: value"
  std::string body;                         // for POST/PUT
  bool http10 = false;
  Millis timeout = 5s;
};

struct CurlResult {
  int curl_code = 0;  // CURLcode; 0 = OK
  std::string curl_error;
  int status = 0;
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers;  // of the final response
  std::string body;

  bool has(std::string_view name) const;
  std::string header(std::string_view name) const;
  size_t count(std::string_view name) const;
};

CurlResult curl_request(const std::string& url, const CurlOptions& opt = {});
inline CurlResult curl_get(const std::string& url, std::vector<std::string> headers = {}) {
  CurlOptions o;
  o.headers = std::move(headers);
  return curl_request(url, o);
}
inline CurlResult curl_head(const std::string& url, std::vector<std::string> headers = {}) {
  CurlOptions o;
  o.method = "HEAD";
  o.headers = std::move(headers);
  return curl_request(url, o);
}

// ---- small helpers -----------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b);
std::string lower(std::string_view s);
bool icontains(std::string_view hay, std::string_view needle);

// Polls `pred` every 20 ms until true or `timeout`; returns its last value.
template <typename Pred>
bool eventually(Pred pred, Millis timeout = 3s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return pred();
    std::this_thread::sleep_for(20ms);
  }
}

// An HTTP date (IMF-fixdate) for t.
std::string http_date(time_t t);

}  // namespace itest

// The shared cache in front of the proxy (CacheEnable mem): coalescing of
// concurrent misses, Vary, what is never stored, Authorization, grace and
// stale-if-error with the origin gone, PURGE and pillarctl bans across
// workers, survival of a graceful reload, the CacheSize bound, conditional /
// Range / HEAD answered from the store, revalidation, hit-for-pass and cut
// origin responses; the metrics and server-status figures, a fetching worker
// killed, a fetching client that leaves, CacheLockMaxAge, a 5xx within
// stale-if-error, `ban vhost` and <IfModule cache_module>. Every test counts
// what reached the origin (a Backend in this process) and reads X-Cache
// (CacheHeader on).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "backend.h"
#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
}

// Polls the clock until `t`. Only for tests whose subject is an age (a fetch
// N ms old, a point in the wall-clock second): the time itself is what is
// tested there, not an order of events, which is waited for by its condition.
void wait_until(Clock::time_point t) {
  const auto left = std::chrono::duration_cast<Millis>(t - Clock::now());
  eventually([&] { return Clock::now() >= t; }, std::max(left, 0ms) + 100ms);
}

// ---- the origin's answers ----------------------------------------------------------

// A complete response: `fields` are "Name: value\r\n" lines. No Content-Length
// for 304 (no body).
BackendReply reply(int status, const std::string& fields, const std::string& body, Millis delay = 0ms) {
  const char* reason = status == 200 ? "OK" : status == 304 ? "Not Modified" : status == 404 ? "Not Found" : "Other";
  BackendReply r;
  r.bytes = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n" + fields;
  if (status != 304) r.bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r.bytes += "\r\n";
  if (status != 304) r.bytes += body;
  r.delay = delay;
  return r;
}

// The path of a request target (without the query).
std::string path_of(const std::string& target) { return target.substr(0, target.find('?')); }

// How many requests for exactly `target` reached the origin.
size_t origin_count(const Backend& be, const std::string& target) {
  size_t n = 0;
  for (const auto& r : be.requests()) n += r.target == target ? 1 : 0;
  return n;
}

// The requests for `target` the origin received, in order.
std::vector<BackendRequest> origin_requests(const Backend& be, const std::string& target) {
  std::vector<BackendRequest> v;
  for (const auto& r : be.requests())
    if (r.target == target) v.push_back(r);
  return v;
}

// ---- talking to the front -------------------------------------------------------------

// One request on a fresh connection (Connection: close). status 0 when no
// complete response arrived; then body holds what did.
HttpResponse request(uint16_t port, const std::string& method, const std::string& target,
                     const std::string& fields = "", const std::string& host = "localhost", Millis timeout = 5s) {
  RawExchange ex = raw_exchange(port,
                                method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + fields +
                                    "Connection: close\r\n\r\n",
                                timeout, method == "HEAD");
  if (ex.responses.empty()) {
    HttpResponse r;
    r.body = ex.data;
    return r;
  }
  return ex.first();
}

HttpResponse get(uint16_t port, const std::string& target, const std::string& fields = "",
                 const std::string& host = "localhost") {
  return request(port, "GET", target, fields, host);
}

// For failure messages: the status line and fields, and the body's size.
std::string describe(const HttpResponse& r) {
  std::string s = "status " + std::to_string(r.status) + "\n";
  for (const auto& [n, v] : r.headers) s += "  " + n + ": " + v + "\n";
  s += "  (body " + std::to_string(r.body.size()) + " bytes)";
  if (r.status == 0) s += ": " + r.body.substr(0, 300);
  return s;
}

std::string xcache(const HttpResponse& r) { return r.header("X-Cache"); }

// A number field of a JSON text ("key": 123); -1 when absent.
long long json_num(const std::string& json, const std::string& key) {
  size_t k = json.find("\"" + key + "\"");
  if (k == std::string::npos) return -1;
  size_t c = json.find(':', k);
  if (c == std::string::npos) return -1;
  size_t d = json.find_first_not_of(" \t\r\n", c + 1);
  if (d == std::string::npos || !std::isdigit(static_cast<unsigned char>(json[d]))) return -1;
  return std::strtoll(json.c_str() + d, nullptr, 10);
}

// Every value of a number field, in order of appearance.
std::vector<long long> json_nums(const std::string& json, const std::string& key) {
  std::vector<long long> v;
  for (size_t at = 0; (at = json.find("\"" + key + "\"", at)) != std::string::npos; ++at) {
    long long n = json_num(json.substr(at), key);
    if (n >= 0) v.push_back(n);
  }
  return v;
}

// ---- an origin that can be killed and brought back on the same port -------------------

// A TCP relay 127.0.0.1:port() -> 127.0.0.1:target. down() closes the
// listening socket and every relayed connection (new connections are
// refused, as with a dead origin); up() listens on the same port again.
class Relay {
 public:
  explicit Relay(uint16_t target) : target_(target) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
    up();
  }
  ~Relay() {
    down();
    if (wake_[0] >= 0) ::close(wake_[0]), ::close(wake_[1]);
  }
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  bool up() {
    if (thread_.joinable()) return true;
    int fd = listen_loopback(port_, 512);
    if (fd < 0) return false;
    char drain[64];
    while (::read(wake_[0], drain, sizeof drain) > 0) {
    }
    thread_ = std::thread([this, fd] { run(fd); });
    return true;
  }

  void down() {
    if (!thread_.joinable()) return;
    char b = 1;
    (void)!::write(wake_[1], &b, 1);
    thread_.join();
  }

 private:
  struct Pair {
    int fd[2];
    bool eof[2] = {false, false};
  };

  int connect_target() const {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(target_);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  static void bounded_send_timeout(int fd) {
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  // Blocking sockets: poll for readability, forward with bounded blocking sends.
  void run(int lfd) {
    std::vector<Pair> pairs;
    for (;;) {
      std::vector<pollfd> p;
      p.push_back({wake_[0], POLLIN, 0});
      p.push_back({lfd, POLLIN, 0});
      for (auto& pr : pairs)
        for (int s = 0; s < 2; ++s) p.push_back({pr.eof[s] ? -1 : pr.fd[s], POLLIN, 0});
      const size_t polled = pairs.size();
      if (::poll(p.data(), p.size(), 200) < 0 && errno != EINTR) break;
      if (p[0].revents) break;
      if (p[1].revents & POLLIN) {
        int c = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          int t = connect_target();
          if (t < 0) {
            ::close(c);
          } else {
            bounded_send_timeout(c);
            bounded_send_timeout(t);
            pairs.push_back(Pair{{c, t}});
          }
        }
      }
      for (size_t i = 0; i < polled; ++i) {
        Pair& pr = pairs[i];
        bool broken = false;
        for (int s = 0; s < 2 && !broken; ++s) {
          short rev = p[2 + 2 * i + static_cast<size_t>(s)].revents;
          if (!rev) continue;
          char buf[65536];
          ssize_t n = ::recv(pr.fd[s], buf, sizeof buf, 0);
          if (n > 0) {
            for (ssize_t off = 0; off < n;) {
              ssize_t w = ::send(pr.fd[1 - s], buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
              if (w <= 0) {
                broken = true;
                break;
              }
              off += w;
            }
          } else if (n == 0) {
            pr.eof[s] = true;
            ::shutdown(pr.fd[1 - s], SHUT_WR);
          } else if (errno != EINTR) {
            broken = true;
          }
        }
        if (broken || (pr.eof[0] && pr.eof[1])) pr.eof[0] = pr.eof[1] = true;
      }
      // Drop finished pairs (indices into p are rebuilt next round).
      for (auto it = pairs.begin(); it != pairs.end();) {
        if (it->eof[0] && it->eof[1]) {
          ::close(it->fd[0]);
          ::close(it->fd[1]);
          it = pairs.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& pr : pairs) {
      ::close(pr.fd[0]);
      ::close(pr.fd[1]);
    }
    ::close(lfd);
  }

  uint16_t target_;
  uint16_t port_ = 0;
  int wake_[2] = {-1, -1};
  std::thread thread_;
};

// ---- an origin that answers in scripted steps -------------------------------------------

// An origin whose answers are code run on the connection's socket: one
// thread per connection reads one request head, records its target and runs
// the script, then closes the connection (scripts send Connection: close).
// A script may hold part of its answer until the test calls release()
// (wait_released() is bounded). Every socket operation is bounded in time.
class ScriptedOrigin {
 public:
  using Script = std::function<void(ScriptedOrigin&, int fd, const std::string& target)>;

  explicit ScriptedOrigin(Script script) : script_(std::move(script)) {
    int fd = listen_loopback(port_, 64);
    if (fd < 0) return;
    listen_fd_ = fd;
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedOrigin() {
    stop_ = true;
    release();
    if (accept_thread_.joinable()) accept_thread_.join();
    std::vector<std::thread> ts;
    {
      std::lock_guard<std::mutex> g(mu_);
      ts.swap(conn_threads_);
    }
    for (auto& t : ts) t.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }
  ScriptedOrigin(const ScriptedOrigin&) = delete;
  ScriptedOrigin& operator=(const ScriptedOrigin&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  size_t count(const std::string& target) const {
    std::lock_guard<std::mutex> g(mu_);
    size_t n = 0;
    for (const auto& t : targets_) n += t == target ? 1 : 0;
    return n;
  }

  void release() {
    std::lock_guard<std::mutex> g(mu_);
    released_ = true;
    cv_.notify_all();
  }
  // True once release() was called (false after `timeout`, or when stopping).
  bool wait_released(Millis timeout) {
    std::unique_lock<std::mutex> g(mu_);
    return cv_.wait_for(g, timeout, [this] { return released_; }) && !stop_;
  }

  // All of `bytes` on a blocking socket whose sends time out after 5 s.
  static bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t w = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(w));
    }
    return true;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::lock_guard<std::mutex> g(mu_);
      conn_threads_.emplace_back([this, c] { serve(c); });
    }
  }

  void serve(int fd) {
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::string in;
    auto end = Clock::now() + 5s;
    while (in.find("\r\n\r\n") == std::string::npos && !stop_ && Clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[8192];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    size_t sp = in.find(' '), sp2 = sp == std::string::npos ? sp : in.find(' ', sp + 1);
    if (in.find("\r\n\r\n") != std::string::npos && sp2 != std::string::npos) {
      std::string target = in.substr(sp + 1, sp2 - sp - 1);
      {
        std::lock_guard<std::mutex> g(mu_);
        targets_.push_back(target);
      }
      script_(*this, fd, target);
    }
    ::close(fd);
  }

  Script script_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<std::string> targets_;
  std::vector<std::thread> conn_threads_;
  std::thread accept_thread_;
};

// ---- monitoring pages ---------------------------------------------------------------

// The value of the Prometheus sample `series` (e.g. `pillar_cache_objects` or
// `name{label="v"}`, exactly as printed); -1 when absent.
long long metric(const std::string& text, const std::string& series) {
  for (size_t at = 0; (at = text.find(series + " ", at)) != std::string::npos; ++at) {
    if (at != 0 && text[at - 1] != '\n') continue;
    return std::strtoll(text.c_str() + at + series.size() + 1, nullptr, 10);
  }
  return -1;
}

// The value of a "Name: value" line of server-status?auto; -1 when absent.
long long status_field(const std::string& text, const std::string& name) {
  for (size_t at = 0; (at = text.find(name + ": ", at)) != std::string::npos; ++at) {
    if (at != 0 && text[at - 1] != '\n') continue;
    return std::strtoll(text.c_str() + at + name.size() + 2, nullptr, 10);
  }
  return -1;
}

// ---- what a worker is watching ------------------------------------------------------------

// How many descriptors the epoll instances of process `pid` watch ("tfd:"
// lines of /proc/PID/fdinfo/EPFD); -1 when unreadable. A connection the
// worker has seen go leaves its epoll set, so a drop orders "the server saw
// the client leave" before what the test does next, without a sleep.
long watched_fds(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  long n = 0;
  while (dirent* e = ::readdir(d)) {
    char link[64];
    ssize_t len = ::readlink((dir + "/" + e->d_name).c_str(), link, sizeof link - 1);
    if (len <= 0 || std::string_view(link, static_cast<size_t>(len)) != "anon_inode:[eventpoll]") continue;
    std::ifstream info("/proc/" + std::to_string(pid) + "/fdinfo/" + e->d_name);
    for (std::string line; std::getline(info, line);) n += line.rfind("tfd:", 0) == 0 ? 1 : 0;
  }
  ::closedir(d);
  return n;
}

// The front's only worker (the tests that use this start one); -1 when not exactly one.
pid_t only_worker(const ServerProcess& srv) {
  std::vector<pid_t> w = child_pids(srv.pid());
  return w.size() == 1 ? w[0] : -1;
}

// ---- the front ------------------------------------------------------------------------

// A front with one <VirtualHost> proxying / to an origin through the cache:
//   ProxyPass / ORIGIN/ retry=0, CacheEnable mem /, CacheHeader on, then `vhost_extra`.
// `server_extra` goes before the vhost (CacheSize etc.), `more` after it
// (further vhosts). A PidFile and a PillarControlSocket are in the tree.
class CacheFront {
 public:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::string sock = tree.path("ctl.sock");
  std::unique_ptr<ServerProcess> srv;

  static std::string vhost(const std::string& name, const std::string& origin_url, const std::string& extra,
                           const std::string& enable = "  CacheEnable mem /\n") {
    return "<VirtualHost *>\n"
           "  ServerName " + name + "\n"
           "  ProxyPass / " + origin_url + "/ retry=0\n" + enable +
           "  CacheHeader on\n" + extra + "\n</VirtualHost>\n";
  }

  std::string config(const std::string& origin_url, const std::string& vhost_extra, const std::string& server_extra,
                     int workers, const std::string& more) const {
    return proxy_front_config(docroot,
                              "PidFile " + tree.path("pillar.pid") + "\nPillarControlSocket " + sock +
                                  "\nCacheSize 16M\n" + server_extra + "\n" + vhost("localhost", origin_url, vhost_extra) +
                                  more,
                              workers);
  }

  void start(const std::string& origin_url, const std::string& vhost_extra = "", const std::string& server_extra = "",
             int workers = 1, const std::string& more = "") {
    srv = std::make_unique<ServerProcess>(config(origin_url, vhost_extra, server_extra, workers, more));
    ASSERT_TRUE(srv->ok()) << srv->error();
  }
  uint16_t port() const { return srv->port(); }
  std::string ctl(const std::string& args) const { return pillarctl(sock, args); }
};

// Polls `target` (fresh connections, GET) while it answers HIT, until
// something else answers or `timeout` passes; returns that answer. Used to
// wait for a short max-age to run out without a blind sleep.
HttpResponse first_non_hit(uint16_t port, const std::string& target, Millis timeout = 4s,
                           long long* last_ms = nullptr, const std::string& host = "localhost") {
  HttpResponse r;
  eventually(
      [&] {
        auto t = Clock::now();
        r = get(port, target, "", host);
        if (last_ms) *last_ms = ms_since(t);
        return xcache(r) != "HIT";
      },
      timeout);
  return r;
}

// =========================================================================================
// 1. Coalescing: 200 clients, one origin request, every body whole.
// =========================================================================================

TEST(CacheCoalesce, TwoHundredConcurrentMissesMakeOneOriginRequest) {
  const std::string body = pattern_bytes(300 * 1024, 7);  // > 100 KiB: streamed to the waiters
  const Millis origin_delay = 500ms;
  Backend be("origin", [&](const BackendRequest&) {
    return reply(200, "Cache-Control: max-age=60\r\nContent-Type: application/octet-stream\r\n", body, origin_delay);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));

  constexpr int kClients = 200;
  std::vector<HttpResponse> got(kClients);
  std::vector<long long> sent_at(kClients, -1);
  std::latch connected(kClients), gate(1);
  Clock::time_point t0;
  std::vector<std::thread> ts;
  for (int i = 0; i < kClients; ++i) {
    ts.emplace_back([&, i] {
      RawConnection c(f.port());
      connected.count_down();
      gate.wait();
      if (!c.connected()) return;
      if (!c.send("GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")) return;
      sent_at[static_cast<size_t>(i)] = ms_since(t0);
      std::string data = c.read_until_close(10s);
      parse_response(data, got[static_cast<size_t>(i)]);
    });
  }
  connected.wait();
  t0 = Clock::now();
  gate.count_down();
  for (auto& t : ts) t.join();

  // Precondition: most requests were sent while the one fetch was in
  // flight, so they really waited on it (and were streamed the body).
  int early = 0;
  for (long long s : sent_at) early += s >= 0 && s < origin_delay.count() / 2 ? 1 : 0;
  EXPECT_GE(early, kClients * 3 / 4) << "too few requests were sent before the origin answered";

  EXPECT_EQ(origin_count(be, "/big"), 1u) << "concurrent misses must be coalesced into one origin request";
  std::map<std::string, int> labels;
  int whole = 0, shown = 0;
  for (int i = 0; i < kClients; ++i) {
    const HttpResponse& r = got[static_cast<size_t>(i)];
    ++labels[xcache(r)];
    if (r.status == 200 && r.body == body) ++whole;
    else if (shown++ < 3) ADD_FAILURE() << "client " << i << ": " << describe(r);
  }
  EXPECT_EQ(whole, kClients) << "every client gets the full, byte-exact body";
  EXPECT_EQ(labels["MISS"], 1);
  EXPECT_EQ(labels["HIT"], kClients - 1);
  // And afterwards it is simply in the store.
  auto after = get(f.port(), "/big");
  EXPECT_EQ(xcache(after), "HIT") << describe(after);
  EXPECT_TRUE(after.body == body);
  EXPECT_EQ(origin_count(be, "/big"), 1u);
}

// =========================================================================================
// 2. Vary
// =========================================================================================

TEST(CacheVary, AcceptEncodingVariantsAreStoredSeparatelyAndVaryStarIsNot) {
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest& r) {
    std::string ae = r.header("Accept-Encoding");
    if (path_of(r.target) == "/star")
      return reply(200, "Cache-Control: max-age=60\r\nVary: *\r\n", "star #" + std::to_string(++n));
    return reply(200, "Cache-Control: max-age=60\r\nVary: Accept-Encoding\r\n", "variant [" + ae + "]");
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));

  auto g1 = get(f.port(), "/v", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(g1.body, "variant [gzip]");
  EXPECT_EQ(xcache(g1), "MISS") << describe(g1);
  auto b1 = get(f.port(), "/v", "Accept-Encoding: br\r\n");
  EXPECT_EQ(b1.body, "variant [br]") << "a request for another variant must not get the gzip one";
  EXPECT_EQ(xcache(b1), "MISS") << describe(b1);
  EXPECT_EQ(origin_count(be, "/v"), 2u);

  auto g2 = get(f.port(), "/v", "Accept-Encoding: gzip\r\n");
  auto b2 = get(f.port(), "/v", "Accept-Encoding: br\r\n");
  EXPECT_EQ(xcache(g2), "HIT") << describe(g2);
  EXPECT_EQ(g2.body, "variant [gzip]");
  EXPECT_EQ(xcache(b2), "HIT") << describe(b2);
  EXPECT_EQ(b2.body, "variant [br]");
  EXPECT_EQ(g2.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(origin_count(be, "/v"), 2u) << "both variants are served from the store";

  // A third, absent Accept-Encoding, is its own variant.
  auto none = get(f.port(), "/v");
  EXPECT_EQ(none.body, "variant []");
  EXPECT_EQ(origin_count(be, "/v"), 3u);

  // Vary: * is never stored: every request reaches the origin.
  auto s1 = get(f.port(), "/star");
  auto s2 = get(f.port(), "/star");
  EXPECT_EQ(s1.status, 200);
  EXPECT_EQ(s2.status, 200);
  EXPECT_NE(xcache(s2), "HIT") << describe(s2);
  EXPECT_NE(s1.body, s2.body) << "the second answer must be the origin's own";
  EXPECT_EQ(origin_count(be, "/star"), 2u);
}

// =========================================================================================
// 3. private / no-store / Set-Cookie
// =========================================================================================

TEST(CacheNotStored, PrivateNoStoreAndSetCookie) {
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest& r) {
    std::string p = path_of(r.target);
    std::string body = "body " + p + " #" + std::to_string(++n);
    if (p == "/private") return reply(200, "Cache-Control: private, max-age=60\r\n", body);
    if (p == "/nostore") return reply(200, "Cache-Control: no-store, max-age=60\r\n", body);
    if (p == "/cookie") return reply(200, "Cache-Control: max-age=60\r\nSet-Cookie: sid=secret; Path=/\r\n", body);
    return reply(200, "Cache-Control: max-age=60\r\n", body);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "", "", 1,
                                  CacheFront::vhost("cookies.test", be.url(), "  CacheStoreCookies On\n")));

  for (std::string p : {"/private", "/nostore", "/cookie"}) {
    auto a = get(f.port(), p);
    auto b = get(f.port(), p);
    EXPECT_EQ(a.status, 200) << p;
    EXPECT_EQ(b.status, 200) << p;
    EXPECT_NE(xcache(b), "HIT") << p << ": " << describe(b);
    EXPECT_NE(a.body, b.body) << p << ": the second request must get the origin's new answer";
    EXPECT_EQ(origin_count(be, p), 2u) << p << " must not be stored";
  }
  // The cookie reached the client on both origin answers.
  EXPECT_EQ(get(f.port(), "/cookie").header("Set-Cookie"), "sid=secret; Path=/");

  // Control: a plain response at the same front is stored.
  auto c1 = get(f.port(), "/plain");
  auto c2 = get(f.port(), "/plain");
  EXPECT_EQ(xcache(c2), "HIT") << describe(c2);
  EXPECT_EQ(c1.body, c2.body);
  EXPECT_EQ(origin_count(be, "/plain"), 1u);

  // CacheStoreCookies On: stored, and the stored copy has no Set-Cookie.
  be.clear();
  auto k1 = get(f.port(), "/cookie", "", "cookies.test");
  EXPECT_EQ(k1.status, 200) << describe(k1);
  EXPECT_EQ(k1.header("Set-Cookie"), "sid=secret; Path=/") << "the fetching client gets the origin's cookie";
  auto k2 = get(f.port(), "/cookie", "", "cookies.test");
  EXPECT_EQ(xcache(k2), "HIT") << describe(k2);
  EXPECT_EQ(k2.body, k1.body);
  EXPECT_FALSE(k2.has("Set-Cookie")) << "a cookie must never be served from the store: " << describe(k2);
  EXPECT_EQ(origin_count(be, "/cookie"), 1u);
}

// =========================================================================================
// 4. Authorization
// =========================================================================================

TEST(CacheAuthorization, ServedFromStoreOnlyWhenTheResponseWasPublic) {
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest& r) {
    std::string p = path_of(r.target);
    std::string body = "body " + p + " #" + std::to_string(++n);
    if (p == "/public") return reply(200, "Cache-Control: public, max-age=60\r\n", body);
    return reply(200, "Cache-Control: max-age=60\r\n", body);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  const std::string auth = "Authorization: Basic dXNlcjpwYXNz\r\n";

  // A plain entry is in the store...
  auto p1 = get(f.port(), "/plain");
  auto p2 = get(f.port(), "/plain");
  ASSERT_EQ(xcache(p2), "HIT") << describe(p2);
  // ...but a request with credentials goes to the origin, credentials and all.
  auto pa = get(f.port(), "/plain", auth);
  EXPECT_EQ(pa.status, 200);
  EXPECT_NE(xcache(pa), "HIT") << describe(pa);
  EXPECT_NE(pa.body, p1.body);
  auto reqs = origin_requests(be, "/plain");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].header("Authorization"), "Basic dXNlcjpwYXNz");
  EXPECT_FALSE(reqs[0].has("Authorization"));
  // The plain entry is still served to requests without credentials.
  auto p3 = get(f.port(), "/plain");
  EXPECT_EQ(xcache(p3), "HIT");
  EXPECT_EQ(p3.body, p1.body) << "the response to the authorized request must not replace the shared entry";

  // public, max-age=60: the stored response may answer requests with credentials.
  auto u1 = get(f.port(), "/public");
  EXPECT_EQ(xcache(u1), "MISS");
  auto ua = get(f.port(), "/public", auth);
  EXPECT_EQ(xcache(ua), "HIT") << describe(ua);
  EXPECT_EQ(ua.body, u1.body);
  EXPECT_EQ(origin_count(be, "/public"), 1u);
}

// =========================================================================================
// 5. Grace and stale-if-error
// =========================================================================================

// max-age=1 content; the origin dies; within the 2 s window after expiry
// (`vhost_extra` says which: CacheStaleIfError or CacheGrace) the stale copy
// is served, then 502/503; the origin comes back with new content.
void origin_down_cycle(const std::string& vhost_extra) {
  std::atomic<int> version{1};
  Backend be("origin", [&](const BackendRequest&) {
    return reply(200, "Cache-Control: max-age=1\r\n", "content v" + std::to_string(version.load()));
  });
  ASSERT_TRUE(be.ok());
  Relay origin(be.port());
  ASSERT_NE(origin.port(), 0);
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(origin.url(), vhost_extra));

  auto m = get(f.port(), "/doc");
  ASSERT_EQ(m.body, "content v1") << describe(m);
  EXPECT_EQ(xcache(m), "MISS");

  origin.down();  // the origin dies: connections are refused
  // Still fresh for up to 1 s: HITs; the first request after that finds the
  // origin gone and gets the stale copy.
  auto s = first_non_hit(f.port(), "/doc", 3s);
  EXPECT_EQ(s.status, 200) << describe(s);
  EXPECT_EQ(xcache(s), "STALE") << describe(s);
  EXPECT_EQ(s.body, "content v1");
  EXPECT_GE(std::atoi(s.header("Age").c_str()), 1) << describe(s);
  const auto stale_from = Clock::now();

  // Stale copies until the 2 s window after expiry closes, then 5xx.
  HttpResponse e;
  int stale_served = 1;
  bool ended = eventually(
      [&] {
        e = get(f.port(), "/doc");
        if (e.status == 200) {
          EXPECT_EQ(xcache(e), "STALE") << describe(e);
          EXPECT_EQ(e.body, "content v1");
          ++stale_served;
          return false;
        }
        return true;
      },
      5s);
  ASSERT_TRUE(ended) << "stale copies were served for more than 5 s";
  EXPECT_TRUE(e.status == 503 || e.status == 502) << describe(e);
  EXPECT_GE(ms_since(stale_from), 1000) << "the 2 s window after expiry closed too early";
  EXPECT_GE(stale_served, 2);
  EXPECT_EQ(origin_count(be, "/doc"), 1u);

  // The origin comes back with new content: fetched, stored, served.
  version = 2;
  ASSERT_TRUE(origin.up());
  HttpResponse back;
  ASSERT_TRUE(eventually([&] { return (back = get(f.port(), "/doc")).status == 200; }, 3s)) << describe(back);
  EXPECT_EQ(back.body, "content v2");
  EXPECT_EQ(xcache(back), "MISS") << describe(back);
  EXPECT_EQ(origin_count(be, "/doc"), 2u);
  auto hit = get(f.port(), "/doc");
  EXPECT_EQ(xcache(hit), "HIT") << describe(hit);
  EXPECT_EQ(hit.body, "content v2");
  EXPECT_EQ(origin_count(be, "/doc"), 2u);
}

TEST(CacheStale, OriginDownServesStaleWithinStaleIfErrorThenErrorsThenRefreshes) {
  // No grace: stale-if-error alone; a 2 s window keeps the test short.
  origin_down_cycle("  CacheGrace 0\n  CacheStaleIfError 2\n");
}

TEST(CacheStale, OriginDownServesStaleWithinGraceThenErrorsThenRefreshes) {
  // Grace alone: the background refreshes fail, the stale copy keeps being served.
  origin_down_cycle("  CacheGrace 2\n  CacheStaleIfError 0\n");
}

// The response's own stale-if-error=N is a permission without CacheStaleIfError.
TEST(CacheStale, ResponseStaleIfErrorDirectiveWithOriginDown) {
  Backend be("origin", [&](const BackendRequest&) {
    return reply(200, "Cache-Control: max-age=1, stale-if-error=30\r\n", "from the origin");
  });
  ASSERT_TRUE(be.ok());
  Relay origin(be.port());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(origin.url(), "  CacheGrace 0\n"));
  ASSERT_EQ(get(f.port(), "/r").body, "from the origin");
  origin.down();
  auto s = first_non_hit(f.port(), "/r", 3s);
  EXPECT_EQ(s.status, 200) << describe(s);
  EXPECT_EQ(xcache(s), "STALE") << describe(s);
  EXPECT_EQ(s.body, "from the origin");
  EXPECT_EQ(origin_count(be, "/r"), 1u);
}

// Grace (stale-while-revalidate): a stale object within CacheGrace is served
// at once, and exactly one background refresh goes to the origin.
TEST(CacheStale, GraceServesStaleAtOnceWithOneBackgroundRefresh) {
  std::atomic<int> version{1};
  const Millis refresh_delay = 800ms;
  Backend be("origin", [&](const BackendRequest&) {
    int v = version.load();
    return reply(200, "Cache-Control: max-age=1\r\n", "graced v" + std::to_string(v), v == 1 ? 0ms : refresh_delay);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheGrace 10\n"));
  ASSERT_EQ(get(f.port(), "/g").body, "graced v1");
  version = 2;  // the next origin answer is new, and slow

  long long took = -1;
  auto s = first_non_hit(f.port(), "/g", 3s, &took);
  EXPECT_EQ(xcache(s), "STALE") << "a stale object within grace must be served at once: " << describe(s);
  EXPECT_EQ(s.body, "graced v1") << describe(s);
  EXPECT_LT(took, refresh_delay.count() / 2) << "the first stale request waited for the origin's refresh";
  // More requests while the refresh is in flight: STALE at once, no further origin request.
  for (int i = 0; i < 3; ++i) {
    auto t = Clock::now();
    auto r = get(f.port(), "/g");
    EXPECT_LT(ms_since(t), refresh_delay.count() / 2) << "request " << i << " waited for the origin";
    EXPECT_EQ(xcache(r), "STALE") << describe(r);
    EXPECT_EQ(r.body, "graced v1");
  }
  // Exactly one background refresh.
  EXPECT_TRUE(eventually([&] { return origin_count(be, "/g") >= 2; }, 2s));
  HttpResponse h;
  EXPECT_TRUE(eventually([&] { return (h = get(f.port(), "/g")).body == "graced v2"; }, 3s))
      << "the refreshed copy never appeared: " << describe(h);
  EXPECT_EQ(xcache(h), "HIT") << describe(h);
  EXPECT_EQ(origin_count(be, "/g"), 2u) << "exactly one refresh for a graced object";
}

// =========================================================================================
// 6. PURGE and pillarctl bans, on every worker
// =========================================================================================

class CacheInvalidate : public ::testing::Test {
 protected:
  std::atomic<int> n{0};
  std::mutex script_mu;
  Backend::Handler script;  // when set (set_script), answers every request but /pin
  Backend be{"origin", [this](const BackendRequest& r) {
               {
                 std::lock_guard<std::mutex> g(script_mu);
                 if (script && path_of(r.target) != "/pin") return script(r);
               }
               return reply(200, "Cache-Control: max-age=300\r\n", r.target + " #" + std::to_string(++n));
             }};
  CacheFront f;
  std::vector<std::unique_ptr<RawConnection>> held;  // keep-alive connections kept open
  RawConnection* on[2] = {nullptr, nullptr};         // one served by each of the two workers
  long long pid_of[2] = {-1, -1};                    // the worker serving on[w]
  std::vector<RawConnection*> pinned[2];             // every held connection of worker w (on[w] first)

  // Held connections wanted on each worker.
  virtual size_t pins_per_worker() const { return 1; }

  // The script captures by value: it may outlive the test body.
  void set_script(Backend::Handler h) {
    std::lock_guard<std::mutex> g(script_mu);
    script = std::move(h);
  }

  void SetUp() override {
    ASSERT_TRUE(be.ok());
    // Two workers of one event loop and 4 connection slots each: a worker
    // whose slots are all held stops accepting, so connections reach both.
    // The held connections carry every request of a test (no request limit).
    // localhost also answers /server-status itself; a.test has an alias.
    ASSERT_NO_FATAL_FAILURE(f.start(be.url(),
                                    "  ProxyPass /server-status !\n  <Location /server-status>\n"
                                    "    SetHandler server-status\n  </Location>\n",
                                    "ThreadsPerChild 4\nEventThreadsPerChild 1\nMaxSpareThreads 100\nMaxKeepAliveRequests 0\n", 2,
                                    CacheFront::vhost("locked.test", be.url(), "  CachePurgeRequire ip 192.0.2.1\n") +
                                        CacheFront::vhost("a.test", be.url(), "  ServerAlias b.test\n")));
    ASSERT_NO_FATAL_FAILURE(pin_workers());
  }

  // worker pid -> requests served (pillarctl workers).
  std::map<long long, long long> requests_by_pid() const {
    std::string js = f.ctl("-j workers");
    auto pids = json_nums(js, "pid"), reqs = json_nums(js, "requests");
    std::map<long long, long long> m;
    for (size_t i = 0; i < pids.size() && i < reqs.size(); ++i) m[pids[i]] = reqs[i];
    return m;
  }

  // Opens keep-alive connections until pins_per_worker() are known to be
  // served by each worker (the worker whose request count moves after a
  // request on it).
  void pin_workers() {
    // The control socket opens just after the listening line.
    ASSERT_TRUE(eventually([&] { return requests_by_pid().size() == 2; }, 5s)) << f.ctl("-j workers");
    const size_t want = pins_per_worker();
    std::map<long long, std::vector<RawConnection*>> by_pid;
    auto enough = [&] {
      if (by_pid.size() < 2) return false;
      for (const auto& [pid, v] : by_pid)
        if (v.size() < want) return false;
      return true;
    };
    for (int k = 0; k < 16 && !enough(); ++k) {
      auto before = requests_by_pid();
      auto c = std::make_unique<RawConnection>(f.port());
      ASSERT_TRUE(c->connected());
      HttpResponse r = on_conn(*c, "GET", "/pin");
      ASSERT_EQ(r.status, 200) << describe(r);
      long long moved = -1;
      ASSERT_TRUE(eventually(
          [&] {
            for (const auto& [pid, count] : requests_by_pid())
              if (count > before[pid]) moved = pid;
            return moved >= 0;
          },
          2s));
      by_pid[moved].push_back(c.get());
      held.push_back(std::move(c));
    }
    ASSERT_EQ(by_pid.size(), 2u) << "every connection went to one worker: " << f.ctl("-j workers");
    ASSERT_TRUE(enough()) << "fewer than " << want << " connections on a worker: " << f.ctl("-j workers");
    int w = 0;
    for (const auto& [pid, v] : by_pid) {
      pid_of[w] = pid;
      pinned[w] = v;
      on[w] = v.front();
      ++w;
    }
  }

  // One request on a held keep-alive connection.
  static HttpResponse on_conn(RawConnection& c, const std::string& method, const std::string& target,
                              const std::string& host = "localhost") {
    if (!c.send(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")) return {};
    HttpResponse r = c.read_response(5s, method == "HEAD");
    EXPECT_FALSE(iequals(r.header("Connection"), "close")) << "the server ended a held connection: " << describe(r);
    return r;
  }
  std::string on_worker(int w, const std::string& target, const std::string& host = "localhost") {
    return xcache(on_conn(*on[w], "GET", target, host));
  }

  // Stores target through worker w; the other worker then has it too.
  void warm(const std::string& target, int w = 0, const std::string& host = "localhost") {
    on_conn(*on[w], "GET", target, host);
    ASSERT_EQ(on_worker(w, target, host), "HIT") << host << target;
    ASSERT_EQ(on_worker(1 - w, target, host), "HIT") << host << target << " on the other worker";
  }
};

TEST_F(CacheInvalidate, PurgeMethod) {
  ASSERT_NO_FATAL_FAILURE(warm("/p?x=1", 0));
  // A PURGE served by one worker...
  auto pu = on_conn(*on[0], "PURGE", "/p?x=1");
  EXPECT_EQ(pu.status, 200) << describe(pu);
  // ...is seen by the other at once.
  EXPECT_EQ(on_worker(1, "/p?x=1"), "MISS");
  EXPECT_EQ(on_worker(0, "/p?x=1"), "HIT");
  EXPECT_EQ(origin_count(be, "/p?x=1"), 2u);
  // And the other way round.
  EXPECT_EQ(on_conn(*on[1], "PURGE", "/p?x=1").status, 200);
  EXPECT_EQ(on_worker(0, "/p?x=1"), "MISS");
  EXPECT_EQ(origin_count(be, "/p?x=1"), 3u);
  // Over a fresh connection, too (PURGE from 127.0.0.1).
  auto fresh = request(f.port(), "PURGE", "/p?x=1");
  EXPECT_EQ(fresh.status, 200) << describe(fresh);
  EXPECT_EQ(on_worker(1, "/p?x=1"), "MISS");

  // Nothing stored: 404. Another query string is another key.
  EXPECT_EQ(on_conn(*on[0], "PURGE", "/p?x=2").status, 404);
  EXPECT_EQ(on_conn(*on[1], "PURGE", "/never").status, 404);

  // A vhost whose CachePurgeRequire leaves 127.0.0.1 out: 403, entry kept.
  ASSERT_NO_FATAL_FAILURE(warm("/locked", 0, "locked.test"));
  auto denied = on_conn(*on[1], "PURGE", "/locked", "locked.test");
  EXPECT_EQ(denied.status, 403) << describe(denied);
  EXPECT_EQ(on_worker(0, "/locked", "locked.test"), "HIT");
  EXPECT_EQ(on_worker(1, "/locked", "locked.test"), "HIT");

  // pillarctl cache purge URL (through the master).
  ASSERT_NO_FATAL_FAILURE(warm("/ctl", 1));
  std::string out = f.ctl("-j cache purge http://localhost/ctl");
  EXPECT_EQ(json_num(out, "purged"), 1) << out;
  EXPECT_EQ(on_worker(0, "/ctl"), "MISS");
  EXPECT_EQ(on_worker(1, "/ctl"), "HIT");
}

// pillarctl cache purge keys its URL's host as a request's Host is keyed
// (one parser, http/authority.h): port split off an IPv6 literal, one
// trailing dot dropped, lower case. The master once kept "[::1]:8080" and
// "example.com." as written, so those purges found nothing.
TEST_F(CacheInvalidate, PillarctlPurgeKeysHostsAsHttpRequests) {
  struct Case {
    std::string request_host, purge_authority, key_host;
  };
  const Case cases[] = {
      {"[::1]:8080", "[::1]:8080", "[::1]"},
      {"[::1]", "[::1]:9", "[::1]"},
      {"example.com.", "Example.com", "example.com"},
      {"Example.COM", "example.com.:8080", "example.com"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const auto& c = cases[i];
    const std::string target = "/authority/" + std::to_string(i);
    ASSERT_NO_FATAL_FAILURE(warm(target, static_cast<int>(i % 2), c.request_host));
    std::string out = f.ctl("-j cache purge 'http://" + c.purge_authority + target + "'");
    EXPECT_EQ(json_num(out, "purged"), 1) << c.request_host << " vs " << c.purge_authority << ": " << out;
    EXPECT_NE(out.find("\"host\": \"" + c.key_host + "\""), std::string::npos) << out;
    EXPECT_EQ(on_worker(0, target, c.request_host), "MISS") << c.request_host << target;
    // What pillarctl purged, an HTTP PURGE with the other form finds again.
    EXPECT_EQ(on_worker(1, target, c.request_host), "HIT") << c.request_host << target;
    auto pu = on_conn(*on[1], "PURGE", target, c.purge_authority);
    EXPECT_EQ(pu.status, 200) << c.purge_authority << target << ": " << describe(pu);
    EXPECT_EQ(on_worker(0, target, c.request_host), "MISS") << c.request_host << target;
  }
  // A URL whose host is no host at all is refused, not keyed.
  EXPECT_NE(f.ctl("cache purge http://user@host/x").find("valid host"), std::string::npos);
}

TEST_F(CacheInvalidate, BansReachEveryWorkerAtOnce) {
  // 20 keys under /p/, 4 under /q/, 20 under /r/ (half .css), 20 on another host.
  for (int i = 0; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(warm("/p/" + std::to_string(i), i % 2));
  for (int i = 0; i < 4; ++i) ASSERT_NO_FATAL_FAILURE(warm("/q/" + std::to_string(i), i % 2));
  for (int i = 0; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(warm("/r/" + std::to_string(i) + (i % 2 ? ".css" : ".js"), i % 2));
  for (int i = 0; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(warm("/h/" + std::to_string(i), i % 2, "other.test"));
  ASSERT_NO_FATAL_FAILURE(warm("/h/0"));
  const size_t before = be.request_count();

  // ban prefix: every banned key, asked once, alternately on each worker: MISS.
  std::string out = f.ctl("cache ban prefix /p/");
  EXPECT_NE(out.find("ban: "), std::string::npos) << out;
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(on_worker((i + 1) % 2, "/p/" + std::to_string(i)), "MISS") << "/p/" << i << " on worker " << (i + 1) % 2;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(on_worker(0, "/q/" + std::to_string(i)), "HIT") << "/q/" << i;
    EXPECT_EQ(on_worker(1, "/q/" + std::to_string(i)), "HIT") << "/q/" << i;
  }
  EXPECT_EQ(be.request_count(), before + 20);

  // ban regex: only the .css ones.
  out = f.ctl("cache ban regex '\\.css$'");
  EXPECT_NE(out.find("ban: "), std::string::npos) << out;
  for (int i = 0; i < 20; ++i) {
    std::string t = "/r/" + std::to_string(i) + (i % 2 ? ".css" : ".js");
    EXPECT_EQ(on_worker(i / 2 % 2, t), i % 2 ? "MISS" : "HIT") << t << " on worker " << i / 2 % 2;
  }
  EXPECT_EQ(be.request_count(), before + 30);

  // ban host: other.test's objects, not localhost's.
  out = f.ctl("-j cache ban host other.test");
  EXPECT_GT(json_num(out, "ban"), 0) << out;
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(on_worker(i % 2, "/h/" + std::to_string(i), "other.test"), "MISS") << "other.test/h/" << i;
  EXPECT_EQ(on_worker(0, "/h/0"), "HIT") << "localhost's copy is not banned";
  EXPECT_EQ(on_worker(1, "/h/0"), "HIT") << "localhost's copy is not banned";
  EXPECT_EQ(be.request_count(), before + 50);

  // Objects stored after a ban are not affected by it.
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(on_worker(i % 2, "/p/" + std::to_string(i)), "HIT") << "/p/" << i << " stored after the ban";
  EXPECT_EQ(be.request_count(), before + 50);

  // Bad arguments are refused with a message.
  EXPECT_NE(f.ctl("cache ban prefix nope").find("starts with '/'"), std::string::npos);
}

// =========================================================================================
// 7. A graceful reload keeps the store
// =========================================================================================

TEST(CacheReload, StoreSurvivesGracefulReload) {
  const std::string body = pattern_bytes(50 * 1024, 3);
  Backend be("origin", [&](const BackendRequest&) { return reply(200, "Cache-Control: max-age=300\r\n", body); });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "", "", 2));
  EXPECT_EQ(xcache(get(f.port(), "/keep")), "MISS");
  EXPECT_EQ(xcache(get(f.port(), "/keep")), "HIT");

  ASSERT_EQ(::kill(f.srv->pid(), SIGUSR1), 0);
  std::string st;
  ASSERT_TRUE(eventually(
      [&] {
        st = f.ctl("status");
        return st.find("generation: 1") != std::string::npos && st.find("workers_draining: 0") != std::string::npos;
      },
      10s))
      << st;
  // Only new-generation workers are left: they see the old store.
  for (int i = 0; i < 6; ++i) {
    auto r = get(f.port(), "/keep");
    EXPECT_EQ(xcache(r), "HIT") << "after the reload, request " << i << ": " << describe(r);
    EXPECT_TRUE(r.body == body);
  }
  EXPECT_EQ(origin_count(be, "/keep"), 1u);
}

// =========================================================================================
// 8. CacheSize bounds the store
// =========================================================================================

TEST(CacheSize, DistinctKeysStayWithinCacheSizeAndEvict) {
  const size_t kObj = 20 * 1024;
  Backend be("origin", [&](const BackendRequest& r) {
    uint32_t seed = static_cast<uint32_t>(std::strtoul(r.target.c_str() + 3, nullptr, 10)) + 1;  // "/o/N"
    return reply(200, "Cache-Control: max-age=300\r\n", pattern_bytes(kObj, seed));
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "", "CacheSize 2M\n"));
  // 500 distinct keys over keep-alive connections (a new one when the server
  // ends one at MaxKeepAliveRequests).
  {
    auto c = std::make_unique<RawConnection>(f.port());
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(c->connected());
      ASSERT_TRUE(c->send("GET /o/" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      HttpResponse r = c->read_response(5s);
      ASSERT_EQ(r.status, 200) << "object " << i << ": " << describe(r);
      ASSERT_TRUE(r.body == pattern_bytes(kObj, static_cast<uint32_t>(i) + 1)) << "object " << i;
      if (iequals(r.header("Connection"), "close")) c = std::make_unique<RawConnection>(f.port());
    }
  }
  EXPECT_EQ(be.request_count(), 500u);
  std::string js = f.ctl("-j cache");
  long long used = json_num(js, "bytes_used"), total = json_num(js, "bytes_total"), ev = json_num(js, "evictions"),
            objects = json_num(js, "objects");
  ASSERT_GE(used, 0) << js;
  ASSERT_GE(total, 0) << js;
  EXPECT_LE(used, total) << js;
  EXPECT_LE(total, 2LL << 20) << "the store must fit in CacheSize 2M: " << js;
  EXPECT_GT(ev, 0) << js;
  EXPECT_GT(objects, 10) << js;
  EXPECT_LT(objects, 110) << "2M cannot hold more than ~100 objects of 20 KiB: " << js;
  EXPECT_GE(used, 10LL * static_cast<long long>(kObj)) << js;

  // The most recent keys are still served from the store; the first one is gone.
  for (int i = 495; i < 500; ++i) {
    auto r = get(f.port(), "/o/" + std::to_string(i));
    EXPECT_EQ(xcache(r), "HIT") << "/o/" << i << ": " << describe(r);
    EXPECT_TRUE(r.body == pattern_bytes(kObj, static_cast<uint32_t>(i) + 1)) << "/o/" << i;
  }
  EXPECT_EQ(be.request_count(), 500u);
  auto old = get(f.port(), "/o/0");
  EXPECT_EQ(xcache(old), "MISS") << describe(old);
  EXPECT_TRUE(old.body == pattern_bytes(kObj, 1));
  EXPECT_EQ(xcache(get(f.port(), "/o/0")), "HIT");
}

// =========================================================================================
// Where the cache applies: CacheEnable prefixes, CacheDisable, <Location>
// =========================================================================================

// CacheEnable mem /cached, CacheDisable /cached/no, and the <Location> forms
// (with the Location's own ProxyPass, as in Apache).
TEST(CacheScope, EnablePrefixDisableAndLocation) {
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest& r) {
    return reply(200, "Cache-Control: max-age=300\r\n", r.target + " #" + std::to_string(++n));
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  const std::string o = be.url();
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "", "", 1,
                                  CacheFront::vhost("scoped.test", o, "",
                                                    "  CacheEnable mem /cached\n  CacheDisable /cached/no\n"
                                                    "  <Location /loc>\n    ProxyPass " + o + "/loc\n    CacheEnable mem\n  </Location>\n"
                                                    "  <Location /loc/off>\n    ProxyPass " + o + "/loc/off\n    CacheDisable on\n  </Location>\n")));
  auto twice = [&](const std::string& t) {
    auto a = get(f.port(), t, "", "scoped.test");
    auto b = get(f.port(), t, "", "scoped.test");
    EXPECT_EQ(a.status, 200) << t << ": " << describe(a);
    return std::make_pair(a, b);
  };
  for (std::string t : {"/cached/x", "/loc/y"}) {
    auto [a, b] = twice(t);
    EXPECT_EQ(xcache(a), "MISS") << t;
    EXPECT_EQ(xcache(b), "HIT") << t << ": " << describe(b);
    EXPECT_EQ(a.body, b.body) << t;
    EXPECT_EQ(origin_count(be, t), 1u) << t;
  }
  for (std::string t : {"/cached/no/z", "/loc/off/w", "/elsewhere"}) {
    auto [a, b] = twice(t);
    EXPECT_FALSE(b.has("X-Cache")) << t << " is outside the cache: " << describe(b);
    EXPECT_NE(a.body, b.body) << t;
    EXPECT_EQ(origin_count(be, t), 2u) << t;
  }
}

// A <Location> holding only cache directives must not take the path away
// from the virtual host's ProxyPass / (in Apache, ProxyPass does not depend
// on <Location> sections).
TEST(CacheScope, LocationWithOnlyCacheDirectivesKeepsVhostProxyPass) {
  Backend be("origin", [&](const BackendRequest& r) {
    return reply(200, "Cache-Control: max-age=300\r\n", "origin " + r.target);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "", "", 1,
                                  CacheFront::vhost("loc.test", be.url(), "",
                                                    "  <Location /loc>\n    CacheEnable mem\n  </Location>\n")));
  auto a = get(f.port(), "/loc/y", "", "loc.test");
  EXPECT_EQ(a.status, 200) << describe(a);
  EXPECT_EQ(a.body, "origin /loc/y");
  auto b = get(f.port(), "/loc/y", "", "loc.test");
  EXPECT_EQ(xcache(b), "HIT") << describe(b);
  EXPECT_EQ(origin_count(be, "/loc/y"), 1u);
}

// =========================================================================================
// 9. Conditional requests, Range and HEAD from the store
// =========================================================================================

TEST(CacheConditional, IfNoneMatchRangeAndHeadAnsweredFromStore) {
  const std::string body = "0123456789abcdefghijklmnopqrstuvwxyz";
  const std::string lm = http_date(::time(nullptr) - 3600);
  Backend be("origin", [&](const BackendRequest&) {
    return reply(200, "Cache-Control: max-age=300\r\nETag: \"v1\"\r\nLast-Modified: " + lm + "\r\nContent-Type: text/plain\r\n",
                 body);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  auto m = get(f.port(), "/c");
  ASSERT_EQ(m.body, body);
  ASSERT_EQ(xcache(m), "MISS");

  auto inm = get(f.port(), "/c", "If-None-Match: \"v1\"\r\n");
  EXPECT_EQ(inm.status, 304) << describe(inm);
  EXPECT_EQ(inm.header("ETag"), "\"v1\"");
  EXPECT_EQ(xcache(inm), "HIT");
  EXPECT_TRUE(inm.body.empty());
  auto other = get(f.port(), "/c", "If-None-Match: \"v0\"\r\n");
  EXPECT_EQ(other.status, 200) << describe(other);
  EXPECT_EQ(other.body, body);
  auto ims = get(f.port(), "/c", "If-Modified-Since: " + http_date(::time(nullptr) - 60) + "\r\n");
  EXPECT_EQ(ims.status, 304) << describe(ims);

  auto range = get(f.port(), "/c", "Range: bytes=0-9\r\n");
  EXPECT_EQ(range.status, 206) << describe(range);
  EXPECT_EQ(range.body, "0123456789");
  EXPECT_EQ(range.header("Content-Range"), "bytes 0-9/" + std::to_string(body.size()));
  EXPECT_EQ(xcache(range), "HIT");
  auto tail = get(f.port(), "/c", "Range: bytes=-6\r\n");
  EXPECT_EQ(tail.status, 206) << describe(tail);
  EXPECT_EQ(tail.body, "uvwxyz");

  RawExchange head = raw_exchange(f.port(), "HEAD /c HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 5s, true);
  ASSERT_EQ(head.responses.size(), 1u) << head.data;
  EXPECT_EQ(head.first().status, 200);
  EXPECT_EQ(xcache(head.first()), "HIT");
  EXPECT_EQ(head.first().header("Content-Length"), std::to_string(body.size()));
  EXPECT_EQ(head.first().header("ETag"), "\"v1\"");
  size_t end = head.data.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(head.data.size(), end + 4) << "a HEAD answer has no body: " << head.data;

  EXPECT_EQ(origin_count(be, "/c"), 1u) << "all of these come from the store";
  // The origin saw none of the client's conditional / Range fields.
  auto reqs = origin_requests(be, "/c");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_FALSE(reqs[0].has("If-None-Match"));
  EXPECT_FALSE(reqs[0].has("Range"));
}

// A Range or HEAD request for an object that is not stored goes to the origin and stores nothing.
TEST(CacheConditional, RangeAndHeadMissesPass) {
  const std::string body = pattern_bytes(5000, 9);
  Backend be("origin", [&](const BackendRequest& r) {
    if (r.method == "HEAD")
      return BackendReply{"HTTP/1.1 200 OK\r\nCache-Control: max-age=300\r\nContent-Length: 5000\r\n\r\n"};
    if (r.has("Range"))
      return BackendReply{"HTTP/1.1 206 Partial Content\r\nCache-Control: max-age=300\r\nContent-Range: bytes 0-9/5000\r\n"
                          "Content-Length: 10\r\n\r\n" + body.substr(0, 10)};
    return reply(200, "Cache-Control: max-age=300\r\n", body);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  auto r = get(f.port(), "/rng", "Range: bytes=0-9\r\n");
  EXPECT_EQ(r.status, 206) << describe(r);
  EXPECT_EQ(r.body, body.substr(0, 10));
  EXPECT_EQ(xcache(r), "PASS");
  auto h = request(f.port(), "HEAD", "/rng");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(xcache(h), "PASS");
  auto g = get(f.port(), "/rng");
  EXPECT_EQ(xcache(g), "MISS") << "neither the 206 nor the HEAD answer was stored: " << describe(g);
  EXPECT_TRUE(g.body == body);
  EXPECT_EQ(origin_count(be, "/rng"), 3u);
}

// =========================================================================================
// 10. Revalidation with the origin's 304
// =========================================================================================

TEST(CacheRevalidate, StaleEntryIsRevalidatedWithIfNoneMatch) {
  const std::string body = pattern_bytes(70 * 1024, 11);  // larger than one inline write
  Backend be("origin", [&](const BackendRequest& r) {
    if (r.header("If-None-Match") == "\"e1\"") return reply(304, "ETag: \"e1\"\r\nCache-Control: max-age=300\r\n", "");
    return reply(200, "ETag: \"e1\"\r\nCache-Control: max-age=1\r\n", body);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheGrace 0\n"));
  auto m = get(f.port(), "/e");
  ASSERT_EQ(xcache(m), "MISS");
  ASSERT_TRUE(m.body == body);

  auto rv = first_non_hit(f.port(), "/e", 3s);
  EXPECT_EQ(rv.status, 200) << describe(rv);
  EXPECT_EQ(xcache(rv), "REVALIDATED") << describe(rv);
  EXPECT_TRUE(rv.body == body) << "the stored body, whole (" << rv.body.size() << " bytes)";
  EXPECT_EQ(rv.header("ETag"), "\"e1\"");
  auto reqs = origin_requests(be, "/e");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].header("If-None-Match"), "\"e1\"") << "the revalidation carries the stored validator";

  // The 304 refreshed the entry (max-age=300 now).
  auto h = get(f.port(), "/e");
  EXPECT_EQ(xcache(h), "HIT") << describe(h);
  EXPECT_TRUE(h.body == body);
  EXPECT_EQ(h.header("Cache-Control"), "max-age=300");
  EXPECT_EQ(origin_count(be, "/e"), 2u);
}

// =========================================================================================
// 11. Hit-for-pass
// =========================================================================================

TEST(CacheHitForPass, UncacheableKeyIsNotSerialised) {
  const Millis delay = 200ms;
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest&) {
    return reply(200, "Cache-Control: no-store\r\n", "answer #" + std::to_string(++n), delay);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  auto first = get(f.port(), "/dyn");
  ASSERT_EQ(first.body, "answer #1") << describe(first);

  constexpr int kClients = 20;
  std::vector<HttpResponse> got(kClients);
  std::latch ready(kClients + 1);
  std::vector<std::thread> ts;
  for (int i = 0; i < kClients; ++i) {
    ts.emplace_back([&, i] {
      ready.arrive_and_wait();
      got[static_cast<size_t>(i)] = get(f.port(), "/dyn");
    });
  }
  auto t0 = Clock::now();
  ready.arrive_and_wait();
  for (auto& t : ts) t.join();
  long long took = ms_since(t0);
  EXPECT_LT(took, 1500) << "hit-for-pass requests were serialised (20 x 200 ms = 4 s when in a row)";
  std::set<std::string> bodies;
  for (int i = 0; i < kClients; ++i) {
    const auto& r = got[static_cast<size_t>(i)];
    EXPECT_EQ(r.status, 200) << describe(r);
    EXPECT_EQ(xcache(r), "PASS") << describe(r);
    EXPECT_EQ(r.body.rfind("answer #", 0), 0u) << r.body;
    bodies.insert(r.body);
  }
  EXPECT_EQ(bodies.size(), static_cast<size_t>(kClients)) << "each client got its own origin answer";
  EXPECT_EQ(origin_count(be, "/dyn"), 1u + kClients);
}

// =========================================================================================
// 12. A cut origin response is never stored
// =========================================================================================

TEST(CacheTruncated, CutOriginResponseIsNotStored) {
  const std::string body = pattern_bytes(5000, 5);
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest&) {
    BackendReply r = reply(200, "Cache-Control: max-age=300\r\n", body);
    if (++n == 1) {  // Content-Length: 5000, 1000 bytes, close
      r.bytes.resize(r.bytes.size() - 4000);
      r.close_after = true;
    }
    return r;
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  auto cut = get(f.port(), "/t");
  EXPECT_EQ(cut.status, 0) << "the client must see the cut, not a complete response: " << describe(cut);

  auto second = get(f.port(), "/t");
  EXPECT_EQ(second.status, 200) << describe(second);
  EXPECT_NE(xcache(second), "HIT") << describe(second);
  EXPECT_TRUE(second.body == body);
  EXPECT_EQ(origin_count(be, "/t"), 2u) << "the cut response must not have been stored";
  auto third = get(f.port(), "/t");
  EXPECT_EQ(xcache(third), "HIT") << describe(third);
  EXPECT_TRUE(third.body == body);
  EXPECT_EQ(origin_count(be, "/t"), 2u);
}

// Clients waiting on a fetch that fails before any response byte retry:
// one new fetch, and every waiter gets the whole body.
TEST(CacheTruncated, WaitersOfAFailedFetchRetry) {
  const std::string body = pattern_bytes(200 * 1024, 6);
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest&) {
    if (++n == 1) {  // a slow origin that then closes without answering
      BackendReply r;
      r.delay = 400ms;
      r.close_after = true;
      return r;
    }
    return reply(200, "Cache-Control: max-age=300\r\n", body, 100ms);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  constexpr int kClients = 10;
  std::vector<HttpResponse> got(kClients);
  std::latch ready(kClients);
  std::vector<std::thread> ts;
  for (int i = 0; i < kClients; ++i) {
    ts.emplace_back([&, i] {
      RawConnection c(f.port());
      ready.arrive_and_wait();
      // Client 0 fetches; the others ask once its fetch reached the origin
      // (which holds it 400 ms), so they wait on it.
      if (i > 0 && !eventually([&] { return n.load() >= 1; }, 5s)) return;
      c.send("GET /w HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
      parse_response(c.read_until_close(10s), got[static_cast<size_t>(i)]);
    });
  }
  for (auto& t : ts) t.join();
  // The fetching client gets the proxy's error; every waiter the second fetch's body.
  EXPECT_TRUE(got[0].status == 502 || got[0].status == 503) << describe(got[0]);
  for (int i = 1; i < kClients; ++i) {
    EXPECT_EQ(got[static_cast<size_t>(i)].status, 200) << "waiter " << i << ": " << describe(got[static_cast<size_t>(i)]);
    EXPECT_TRUE(got[static_cast<size_t>(i)].body == body) << "waiter " << i;
  }
  EXPECT_EQ(origin_count(be, "/w"), 2u) << "the waiters' retry is itself coalesced into one fetch";
  auto h = get(f.port(), "/w");
  EXPECT_EQ(xcache(h), "HIT") << describe(h);
  EXPECT_TRUE(h.body == body);
  EXPECT_EQ(origin_count(be, "/w"), 2u);
}

// =========================================================================================
// 13. Monitoring: /metrics and server-status?auto
// =========================================================================================

TEST(CacheMetrics, RequestsByResultObjectsAndBytes) {
  const Millis burst_delay = 300ms;
  Backend be("origin", [&](const BackendRequest& r) {
    return reply(200, "Cache-Control: max-age=60\r\n", "metrics " + r.target,
                 path_of(r.target) == "/burst" ? burst_delay : 0ms);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  const std::string pages =
      "  ProxyPass /metrics !\n  ProxyPass /server-status !\n"
      "  <Location /metrics>\n    SetHandler pillar-metrics\n  </Location>\n"
      "  <Location /server-status>\n    SetHandler server-status\n  </Location>\n";
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "", "", 1, CacheFront::vhost("metrics.test", be.url(), pages)));
  const std::string h = "metrics.test";
  auto series = [&](const std::string& result) {
    return "pillar_cache_requests_total{vhost=\"metrics.test\",result=\"" + result + "\"}";
  };
  auto page = [&](const std::string& target) { return get(f.port(), target, "", h); };

  // 1 MISS, 2 HITs, 1 PASS (a HEAD for a key that is not stored).
  EXPECT_EQ(xcache(page("/m")), "MISS");
  EXPECT_EQ(xcache(page("/m")), "HIT");
  EXPECT_EQ(xcache(page("/m")), "HIT");
  auto head = request(f.port(), "HEAD", "/not-stored", "", h);
  EXPECT_EQ(xcache(head), "PASS") << describe(head);
  ASSERT_EQ(origin_count(be, "/m"), 1u);

  HttpResponse m;
  eventually(
      [&] {
        m = page("/metrics");
        return metric(m.body, series("hit")) == 2 && metric(m.body, series("miss")) == 1 &&
               metric(m.body, series("pass")) >= 1;
      },
      2s);
  ASSERT_EQ(m.status, 200) << describe(m);
  EXPECT_FALSE(m.has("X-Cache")) << "the metrics page must not go through the cache (nor the proxy)";
  EXPECT_EQ(metric(m.body, series("hit")), 2) << m.body;
  EXPECT_EQ(metric(m.body, series("miss")), 1) << m.body;
  EXPECT_EQ(metric(m.body, series("pass")), 1) << m.body;
  EXPECT_EQ(metric(m.body, series("coalesced")), 0) << m.body;
  EXPECT_EQ(metric(m.body, series("stale")), 0) << m.body;
  EXPECT_GT(metric(m.body, "pillar_cache_objects"), 0) << m.body;
  EXPECT_GT(metric(m.body, "pillar_cache_bytes{kind=\"used\"}"), 0) << m.body;
  EXPECT_GE(metric(m.body, "pillar_cache_bytes{kind=\"total\"}"), metric(m.body, "pillar_cache_bytes{kind=\"used\"}"))
      << m.body;

  auto st = page("/server-status?auto");
  ASSERT_EQ(st.status, 200) << describe(st);
  EXPECT_EQ(status_field(st.body, "CacheHits"), 2) << st.body;
  EXPECT_EQ(status_field(st.body, "CacheMisses"), 1) << st.body;
  EXPECT_EQ(status_field(st.body, "CachePasses"), 1) << st.body;
  EXPECT_GT(status_field(st.body, "CacheObjects"), 0) << st.body;
  EXPECT_GT(status_field(st.body, "CacheBytesTotal"), 0) << st.body;
  EXPECT_GT(status_field(st.body, "CacheBytesUsed"), 0) << st.body;
  // The HTML page: the node line and this vhost's row (hits, misses, passes, coalesced, stale, evictions).
  auto html = page("/server-status");
  ASSERT_EQ(html.status, 200) << describe(html);
  EXPECT_NE(html.body.find("2 hits, 1 misses, 1 passes"), std::string::npos) << html.body;
  EXPECT_NE(html.body.find("<tr><td>metrics.test</td><td>2</td><td>1</td><td>1</td><td>0</td><td>0</td><td>0</td></tr>"),
            std::string::npos)
      << html.body;

  // A burst of 6 for a new, slow key: 1 miss; the rest wait on it (coalesced).
  constexpr int kBurst = 6;
  std::vector<HttpResponse> got(kBurst);
  std::latch ready(kBurst + 1);
  std::vector<std::thread> ts;
  for (int i = 0; i < kBurst; ++i)
    ts.emplace_back([&, i] {
      ready.arrive_and_wait();
      got[static_cast<size_t>(i)] = page("/burst");
    });
  ready.arrive_and_wait();
  for (auto& t : ts) t.join();
  for (const auto& r : got) EXPECT_EQ(r.body, "metrics /burst") << describe(r);
  EXPECT_EQ(origin_count(be, "/burst"), 1u);
  eventually(
      [&] {
        m = page("/metrics");
        return metric(m.body, series("miss")) == 2 &&
               metric(m.body, series("coalesced")) + metric(m.body, series("hit")) == 2 + kBurst - 1;
      },
      2s);
  EXPECT_EQ(metric(m.body, series("miss")), 2) << m.body;
  EXPECT_GT(metric(m.body, series("coalesced")), 0) << m.body;
  EXPECT_EQ(metric(m.body, series("coalesced")) + metric(m.body, series("hit")), 2 + kBurst - 1)
      << "every client of the burst but the fetching one is a coalesced (or, arriving late, a hit): " << m.body;
  st = page("/server-status?auto");
  EXPECT_EQ(status_field(st.body, "CacheCoalesced"), metric(m.body, series("coalesced"))) << st.body;
}

// =========================================================================================
// 14. A worker that dies in the middle of a fetch
// =========================================================================================

// The two-worker front of CacheInvalidate, with two held connections on each worker.
class CacheCrash : public CacheInvalidate {
 protected:
  size_t pins_per_worker() const override { return 2; }
};

TEST_F(CacheCrash, FetchingWorkerKilledWaitersGetANewFetch) {
  const std::string body = pattern_bytes(150 * 1024, 21);
  const Millis first_delay = 3000ms;
  auto k_fetches = std::make_shared<std::atomic<int>>(0);
  set_script([body, first_delay, k_fetches](const BackendRequest& r) {
    if (path_of(r.target) != "/k") return reply(200, "Cache-Control: max-age=300\r\n", "other " + r.target);
    return reply(200, "Cache-Control: max-age=300\r\n", body, ++*k_fetches == 1 ? first_delay : 0ms);
  });
  // Worker 0: A fetches, S reads server-status. Worker 1: B and C wait on A's fetch.
  RawConnection& a = *pinned[0][0];
  RawConnection& s = *pinned[0][1];
  RawConnection* waiter[2] = {pinned[1][0], pinned[1][1]};
  auto status = [&] { return on_conn(s, "GET", "/server-status?auto").body; };
  const long long coalesced0 = status_field(status(), "CacheCoalesced");
  ASSERT_GE(coalesced0, 0);
  const long long objects0 = json_num(f.ctl("-j cache"), "objects");
  ASSERT_GT(objects0, 0);

  const auto t0 = Clock::now();
  ASSERT_TRUE(a.send("GET /k HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return origin_count(be, "/k") == 1; }, 2s)) << "A's fetch never reached the origin";

  HttpResponse got[2];
  long long done_ms[2] = {-1, -1};
  std::vector<std::thread> ts;
  for (int i = 0; i < 2; ++i)
    ts.emplace_back([&, i] {
      if (!waiter[i]->send("GET /k HTTP/1.1\r\nHost: localhost\r\n\r\n")) return;
      got[i] = waiter[i]->read_response(6s);
      done_ms[i] = ms_since(t0);
    });
  // Both wait on A's fetch (counted as coalesced) before worker 0 dies.
  std::string st;
  bool waiting = eventually([&] { return status_field(st = status(), "CacheCoalesced") >= coalesced0 + 2; }, 2s);
  EXPECT_TRUE(waiting) << "B and C never waited on A's fetch: " << st;
  const long long killed_at = ms_since(t0);
  EXPECT_EQ(::kill(static_cast<pid_t>(pid_of[0]), SIGKILL), 0);
  for (auto& t : ts) t.join();

  EXPECT_LT(killed_at, first_delay.count() / 2) << "precondition: the kill came well before the first fetch ended";
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(got[i].status, 200) << "waiter " << i << ": " << describe(got[i]);
    EXPECT_TRUE(got[i].body == body) << "waiter " << i << ": the full body (" << got[i].body.size() << " bytes)";
    EXPECT_TRUE(xcache(got[i]) == "MISS" || xcache(got[i]) == "HIT") << "waiter " << i << ": " << describe(got[i]);
    EXPECT_LT(done_ms[i], first_delay.count() - 1000)
        << "waiter " << i << " was answered at " << done_ms[i] << " ms: it waited for the dead worker's fetch";
  }
  EXPECT_EQ(origin_count(be, "/k"), 2u) << "the waiters' retry is one new fetch";

  // Stored by that fetch.
  EXPECT_EQ(on_worker(1, "/k"), "HIT");
  auto fresh = get(f.port(), "/k");
  EXPECT_EQ(xcache(fresh), "HIT") << describe(fresh);
  EXPECT_TRUE(fresh.body == body);
  EXPECT_EQ(origin_count(be, "/k"), 2u);

  // The master replaced the dead worker.
  std::map<long long, long long> workers;
  EXPECT_TRUE(eventually(
      [&] {
        workers = requests_by_pid();
        return workers.size() == 2 && !workers.count(pid_of[0]);
      },
      5s))
      << f.ctl("-j workers");
  EXPECT_TRUE(workers.count(pid_of[1])) << "the other worker lived on: " << f.ctl("-j workers");

  // Nothing leaked: the dead fetch's object is gone; purging /k takes the store back to where it was.
  const long long objects1 = json_num(f.ctl("-j cache"), "objects");
  EXPECT_EQ(objects1, objects0 + 1) << "the store holds /k once, and not the dead worker's fetch";
  auto pu = request(f.port(), "PURGE", "/k");
  EXPECT_EQ(pu.status, 200) << describe(pu);
  const long long objects2 = json_num(f.ctl("-j cache"), "objects");
  EXPECT_LT(objects2, objects1);
  EXPECT_EQ(objects2, objects0) << f.ctl("-j cache");
}

// =========================================================================================
// 15. The fetching client leaves in the middle of the body
// =========================================================================================

// A TCP client socket with a small receive buffer (the server's writes to it stall soon).
int small_buffer_client(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rcv = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads from fd until a response head is in (or `timeout`); returns what was read.
std::string read_head(int fd, Millis timeout) {
  std::string in;
  auto end = Clock::now() + timeout;
  while (in.find("\r\n\r\n") == std::string::npos && Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[1024];  // small reads: take little more than the head
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  return in;
}

TEST(CacheDetach, FetchContinuesWhenTheFetchingClientLeaves) {
  const std::string body = pattern_bytes(1 << 20, 31);
  const size_t half = body.size() / 2;
  ScriptedOrigin origin([&body, half](ScriptedOrigin& o, int fd, const std::string&) {
    std::string head = "HTTP/1.1 200 OK\r\nCache-Control: max-age=300\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!ScriptedOrigin::write_all(fd, head + body.substr(0, half))) return;
    if (!o.wait_released(5s)) return;
    ScriptedOrigin::write_all(fd, std::string_view(body).substr(half));
  });
  ASSERT_TRUE(origin.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(origin.url(), "  CacheMaxObjectSize 4M\n"));

  // A fetches and reads the head only.
  struct Fd {
    int fd;
    ~Fd() { close(); }
    void close() {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  } a{small_buffer_client(f.port())};
  ASSERT_GE(a.fd, 0);
  const std::string req = "GET /half HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  ASSERT_TRUE(ScriptedOrigin::write_all(a.fd, req));
  std::string a_got = read_head(a.fd, 3s);
  ASSERT_NE(a_got.find("\r\n\r\n"), std::string::npos) << "A got no head: " << a_got.substr(0, 200);
  EXPECT_NE(a_got.find("X-Cache: MISS"), std::string::npos) << a_got.substr(0, a_got.find("\r\n\r\n"));

  // B joins the fetch: its head arrives while the origin holds the second half.
  RawConnection b(f.port());
  ASSERT_TRUE(b.connected());
  ASSERT_TRUE(b.send(req));
  bool b_joined = eventually(
      [&] {
        b.read_response(20ms);  // incomplete: what arrived stays buffered
        return b.buffered().find("\r\n\r\n") != std::string::npos;
      },
      3s);
  // A leaves, unread bytes and all; then the origin sends the rest. There
  // is no event to wait for between the two: A's reset is already in the
  // server's socket, and while the member is silent the server does not
  // look (A's socket stays in the worker's epoll set: watched_fds), so it
  // learns A went when the rest makes it write to A again. The
  // handed-over client below is seen to go before the rest arrives.
  a.close();
  origin.release();
  ASSERT_TRUE(b_joined) << "B got no head while the fetch was held: " << b.buffered().substr(0, 200);

  HttpResponse r;
  parse_response(b.read_until_close(8s), r);
  EXPECT_EQ(r.status, 200) << describe(r);
  EXPECT_EQ(xcache(r), "HIT") << describe(r);
  EXPECT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body) << "the waiter's body must be byte-exact";
  EXPECT_EQ(origin.count("/half"), 1u);

  auto h = get(f.port(), "/half");
  EXPECT_EQ(xcache(h), "HIT") << "the fetch went on for the store: " << describe(h);
  EXPECT_TRUE(h.body == body);
  EXPECT_EQ(origin.count("/half"), 1u);
}

// The fetching client stops reading: the member's body still reaches the
// store at the member's pace, so a waiter is not held to the slow client's,
// and the slow client later gets its whole body from the store.
TEST(CacheDetach, SlowFetchingClientDoesNotHoldBackTheWaiters) {
  const std::string body = pattern_bytes(4 << 20, 47);
  Backend be("origin", [&body](const BackendRequest&) {
    return reply(200, "Cache-Control: max-age=300\r\nContent-Type: application/octet-stream\r\n", body);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheMaxObjectSize 8M\n"));

  int a = small_buffer_client(f.port());
  ASSERT_GE(a, 0);
  const std::string req = "GET /slow-reader HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  ASSERT_TRUE(ScriptedOrigin::write_all(a, req));
  std::string a_got = read_head(a, 3s);
  ASSERT_NE(a_got.find("\r\n\r\n"), std::string::npos) << "A got no head";
  EXPECT_NE(a_got.find("X-Cache: MISS"), std::string::npos) << a_got.substr(0, a_got.find("\r\n\r\n"));

  // A reads nothing more. B asks for the same object and must get all of it.
  auto t0 = Clock::now();
  RawConnection b(f.port());
  ASSERT_TRUE(b.connected());
  ASSERT_TRUE(b.send(req));
  HttpResponse r;
  parse_response(b.read_until_close(5s), r);
  EXPECT_EQ(r.status, 200) << describe(r);
  EXPECT_EQ(r.body.size(), body.size()) << "B was held to the pace of A, which reads nothing";
  EXPECT_TRUE(r.body == body);
  EXPECT_LT(ms_since(t0), 4000);

  // A now reads: its whole body, byte-exact, after the head it already had.
  std::string rest = a_got.substr(a_got.find("\r\n\r\n") + 4);
  auto end = Clock::now() + 10s;
  while (rest.size() < body.size() && Clock::now() < end) {
    pollfd p{a, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char buf[65536];
    ssize_t n = ::recv(a, buf, sizeof buf, 0);
    if (n <= 0) break;
    rest.append(buf, static_cast<size_t>(n));
  }
  ::close(a);
  EXPECT_EQ(rest.size(), body.size());
  EXPECT_TRUE(rest == body) << "the slow client's body must be byte-exact";
  EXPECT_EQ(origin_count(be, "/slow-reader"), 1u);
  EXPECT_EQ(xcache(get(f.port(), "/slow-reader")), "HIT");
}

// The fetching client was handed over to the store (it read nothing) and
// then leaves while the member is still sending: the fetch still completes
// for the waiter, and for the store.
TEST(CacheDetach, HandedOverClientLeavesAndTheFetchGoesOn) {
  const std::string body = pattern_bytes(5 << 20, 53);
  const size_t first = 4 << 20;
  ScriptedOrigin origin([&body, first](ScriptedOrigin& o, int fd, const std::string&) {
    std::string head = "HTTP/1.1 200 OK\r\nCache-Control: max-age=300\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!ScriptedOrigin::write_all(fd, head + body.substr(0, first))) return;
    if (!o.wait_released(5s)) return;
    ScriptedOrigin::write_all(fd, std::string_view(body).substr(first));
  });
  ASSERT_TRUE(origin.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(origin.url(), "  CacheMaxObjectSize 8M\n"));

  int a = small_buffer_client(f.port());
  ASSERT_GE(a, 0);
  const std::string req = "GET /leaver HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  ASSERT_TRUE(ScriptedOrigin::write_all(a, req));
  ASSERT_NE(read_head(a, 3s).find("\r\n\r\n"), std::string::npos) << "A got no head";

  // B joins and receives the first part from the store while A reads nothing
  // (A, far behind the member, is being served from the store by now).
  RawConnection b(f.port());
  ASSERT_TRUE(b.connected());
  ASSERT_TRUE(b.send(req));
  EXPECT_TRUE(eventually(
      [&] {
        b.read_response(20ms);
        return b.buffered().size() > first;
      },
      5s))
      << "B did not get the first part: " << b.buffered().size();
  const pid_t worker = only_worker(*f.srv);
  ASSERT_GT(worker, 0);
  const long watched = watched_fds(worker);
  ::close(a);  // A leaves with most of its body unread
  // The server sees A go (its socket leaves the worker's epoll set) before the rest arrives.
  ASSERT_TRUE(eventually([&] { return watched_fds(worker) < watched; }, 3s))
      << "the server never saw A go (" << watched << " descriptors watched before)";
  origin.release();

  HttpResponse r;
  parse_response(b.read_until_close(8s), r);
  EXPECT_EQ(r.status, 200) << describe(r);
  EXPECT_EQ(r.body.size(), body.size()) << "the fetch ended with the client that started it";
  EXPECT_TRUE(r.body == body);
  EXPECT_EQ(origin.count("/leaver"), 1u);
  auto h = get(f.port(), "/leaver");
  EXPECT_EQ(xcache(h), "HIT") << describe(h);
  EXPECT_EQ(origin.count("/leaver"), 1u);
}

// =========================================================================================
// 16. CacheLockMaxAge bounds the wait on a slow fetch
// =========================================================================================

// Waits until the wall clock is `from` into a second (the store dates
// fetches in whole seconds; starting early in a second keeps a short test
// inside one). The position in the second is the subject, so the clock is polled.
void align_to_second(Millis from) {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  long long ms = ts.tv_nsec / 1000000;
  long long wait = (from.count() - ms + 1000) % 1000;
  wait_until(Clock::now() + Millis(wait));
}

TEST(CacheLock, SlowFetchIsNotWaitedOnPastLockMaxAge) {
  const Millis hold = 4000ms;
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest&) {
    int i = ++n;
    return reply(200, "Cache-Control: max-age=60\r\n", "answer #" + std::to_string(i), i == 1 ? hold : 0ms);
  });
  ASSERT_TRUE(be.ok());
  Relay origin(be.port());  // taken down at the end: A's fetch need not hold the server's stop
  ASSERT_NE(origin.port(), 0);
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(origin.url(), "", "CacheLockMaxAge 1\n"));
  align_to_second(50ms);  // the store dates fetches in whole seconds: keep A and B in one
  RawConnection a(f.port());  // A fetches; its answer takes 4 s (not awaited)
  ASSERT_TRUE(a.connected());
  const auto t0 = Clock::now();
  ASSERT_TRUE(a.send("GET /slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return origin_count(be, "/slow") == 1; }, 2s));
  wait_until(t0 + 200ms);  // B asks when A's fetch is 200 ms old (its age is the subject)

  const auto tb = Clock::now();
  auto b = get(f.port(), "/slow");
  const long long took = ms_since(tb);
  EXPECT_EQ(b.status, 200) << describe(b);
  EXPECT_EQ(b.body, "answer #2") << "B must get its own origin answer: " << describe(b);
  EXPECT_TRUE(xcache(b) == "PASS" || xcache(b) == "MISS") << describe(b);
  EXPECT_GE(took, 700) << "B did not wait on A's fetch (CacheLockMaxAge 1)";
  EXPECT_LT(took, 2000) << "B waited past CacheLockMaxAge";
  EXPECT_LT(ms_since(t0), 3000);
  EXPECT_EQ(origin_count(be, "/slow"), 2u);
  origin.down();
}

// CacheLockMaxAge 1: a fetch a quarter of a second old is joined, also when
// a wall-clock second boundary falls between its start and the second request.
TEST(CacheLock, FetchYoungerThanLockMaxAgeIsJoinedAcrossASecondBoundary) {
  const Millis delay = 600ms;
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest&) {
    return reply(200, "Cache-Control: max-age=60\r\n", "answer #" + std::to_string(++n), delay);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "", "CacheLockMaxAge 1\n"));
  align_to_second(850ms);  // A at .85 s, B 250 ms later: in the next second
  const auto t0 = Clock::now();
  HttpResponse a;
  std::thread ta([&] { a = get(f.port(), "/j"); });
  bool fetching = eventually([&] { return origin_count(be, "/j") == 1; }, 2s);
  wait_until(t0 + 250ms);  // B asks when A's fetch is 250 ms old, in the next second (the subject)
  const long long b_sent = ms_since(t0);
  auto b = get(f.port(), "/j");
  ta.join();
  ASSERT_TRUE(fetching);
  EXPECT_LT(b_sent, delay.count() - 100) << "precondition: B was sent while A's fetch ran";
  EXPECT_EQ(a.body, "answer #1") << describe(a);
  EXPECT_EQ(b.body, "answer #1") << "a 250 ms old fetch is younger than CacheLockMaxAge 1 and must be joined: "
                                 << describe(b);
  EXPECT_EQ(xcache(b), "HIT") << describe(b);
  EXPECT_EQ(origin_count(be, "/j"), 1u);
}

// =========================================================================================
// 17. Vary and a waiter that joined before the head
// =========================================================================================

TEST(CacheVary, WaiterOfAnotherVariantFetchesItsOwn) {
  const Millis delay = 300ms;
  Backend be("origin", [&](const BackendRequest& r) {
    return reply(200, "Cache-Control: max-age=60\r\nVary: Accept-Language\r\n",
                 "lang [" + r.header("Accept-Language") + "]", delay);
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  const auto t0 = Clock::now();
  HttpResponse fr, de;
  long long b_sent = -1, b_done = -1;
  std::thread ta([&] { fr = get(f.port(), "/page", "Accept-Language: fr\r\n"); });
  bool a_fetching = eventually([&] { return origin_count(be, "/page") == 1; }, 2s);
  b_sent = ms_since(t0);
  de = get(f.port(), "/page", "Accept-Language: de\r\n");
  b_done = ms_since(t0);
  ta.join();
  ASSERT_TRUE(a_fetching);
  EXPECT_LT(b_sent, delay.count() - 100) << "precondition: B was sent before A's head arrived";

  EXPECT_EQ(fr.body, "lang [fr]") << describe(fr);
  EXPECT_EQ(xcache(fr), "MISS");
  EXPECT_EQ(de.status, 200) << describe(de);
  EXPECT_EQ(de.body, "lang [de]") << "B must get its own variant, not A's";
  EXPECT_EQ(xcache(de), "MISS") << describe(de);
  EXPECT_GE(b_done, 2 * delay.count() - 50) << "B waited on A's fetch, then fetched: two origin delays";
  auto reqs = origin_requests(be, "/page");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].header("Accept-Language"), "de");

  auto fr2 = get(f.port(), "/page", "Accept-Language: fr\r\n");
  auto de2 = get(f.port(), "/page", "Accept-Language: de\r\n");
  EXPECT_EQ(xcache(fr2), "HIT") << describe(fr2);
  EXPECT_EQ(fr2.body, "lang [fr]");
  EXPECT_EQ(xcache(de2), "HIT") << describe(de2);
  EXPECT_EQ(de2.body, "lang [de]");
  EXPECT_EQ(origin_count(be, "/page"), 2u);
}

// =========================================================================================
// 18. A 5xx from the origin within stale-if-error
// =========================================================================================

TEST(CacheStale, Origin5xxServesStaleWithinStaleIfError) {
  std::atomic<bool> failing{false};
  Backend be("origin", [&](const BackendRequest& r) {
    if (failing) return reply(503, "Retry-After: 5\r\n", "origin overloaded");
    if (path_of(r.target) == "/sie") return reply(200, "Cache-Control: max-age=1, stale-if-error=30\r\n", "old sie");
    return reply(200, "Cache-Control: max-age=1\r\n", "old strict");
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheGrace 0\n", "", 1,
                                  CacheFront::vhost("strict.test", be.url(), "  CacheGrace 0\n  CacheStaleIfError 0\n")));
  auto m1 = get(f.port(), "/sie");
  auto m2 = get(f.port(), "/plain", "", "strict.test");
  ASSERT_EQ(m1.body, "old sie") << describe(m1);
  ASSERT_EQ(m2.body, "old strict") << describe(m2);
  failing = true;  // from now on the origin answers 503

  auto s = first_non_hit(f.port(), "/sie", 3s);
  EXPECT_EQ(s.status, 200) << "within stale-if-error a 5xx is answered with the stale copy: " << describe(s);
  EXPECT_EQ(xcache(s), "STALE") << describe(s);
  EXPECT_EQ(s.body, "old sie");
  EXPECT_GE(std::atoi(s.header("Age").c_str()), 1) << describe(s);
  EXPECT_EQ(origin_count(be, "/sie"), 2u) << "the stale copy answers after the origin's 503";
  auto s2 = get(f.port(), "/sie");
  EXPECT_EQ(xcache(s2), "STALE") << "the 503 was not stored: " << describe(s2);
  EXPECT_EQ(s2.body, "old sie");
  EXPECT_EQ(origin_count(be, "/sie"), 3u) << "each request tries the origin again (a 5xx is not hit-for-pass)";

  // No stale-if-error anywhere: the origin's 503 is relayed.
  auto e = first_non_hit(f.port(), "/plain", 3s, nullptr, "strict.test");
  EXPECT_EQ(e.status, 503) << describe(e);
  EXPECT_EQ(e.body, "origin overloaded");
  EXPECT_NE(xcache(e), "STALE") << describe(e);
  EXPECT_EQ(origin_count(be, "/plain"), 2u);
}

// =========================================================================================
// 19. ban vhost covers the ServerAlias names
// =========================================================================================

TEST_F(CacheInvalidate, BanVhostCoversAliases) {
  ASSERT_NO_FATAL_FAILURE(warm("/d", 0, "a.test"));
  ASSERT_NO_FATAL_FAILURE(warm("/d", 1, "b.test"));
  ASSERT_NO_FATAL_FAILURE(warm("/d", 0));
  ASSERT_NO_FATAL_FAILURE(warm("/d", 1, "locked.test"));
  const size_t before = be.request_count();

  std::string out = f.ctl("-j cache ban vhost a.test");
  size_t bans = out.find("\"bans\""), open = out.find('[', bans), close = out.find(']', open);
  ASSERT_TRUE(bans != std::string::npos && open != std::string::npos && close != std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin() + static_cast<long>(open), out.begin() + static_cast<long>(close), ',') + 1, 2)
      << "one ban for a.test, one for b.test: " << out;

  EXPECT_EQ(on_worker(1, "/d", "a.test"), "MISS") << "ServerName a.test";
  EXPECT_EQ(on_worker(0, "/d", "b.test"), "MISS") << "ServerAlias b.test";
  EXPECT_EQ(on_worker(0, "/d", "a.test"), "HIT") << "stored again after the ban";
  EXPECT_EQ(on_worker(1, "/d", "b.test"), "HIT") << "stored again after the ban";
  for (int w = 0; w < 2; ++w) {
    EXPECT_EQ(on_worker(w, "/d"), "HIT") << "another vhost's object (localhost) on worker " << w;
    EXPECT_EQ(on_worker(w, "/d", "locked.test"), "HIT") << "another vhost's object (locked.test) on worker " << w;
  }
  EXPECT_EQ(be.request_count(), before + 2);

  EXPECT_NE(f.ctl("cache ban vhost nosuch.test").find("no <VirtualHost>"), std::string::npos);
}

// =========================================================================================
// 20. Configuration
// =========================================================================================

TEST(CacheConfig, IfModuleCacheModuleIsTrue) {
  std::atomic<int> n{0};
  Backend be("origin", [&](const BackendRequest& r) {
    return reply(200, "Cache-Control: max-age=60\r\n", r.target + " #" + std::to_string(++n));
  });
  ASSERT_TRUE(be.ok());
  TempTree tree;
  auto vh = [&](const std::string& name, const std::string& body) {
    return "<VirtualHost *>\n  ServerName " + name + "\n  ProxyPass / " + be.url() + "/ retry=0\n  CacheHeader on\n" +
           body + "</VirtualHost>\n";
  };
  // The only CacheEnable lines are inside <IfModule>: without them there is no store at all.
  std::string cfg = proxy_front_config(
      tree.mkdir("www"),
      "<IfModule cache_module>\n  CacheSize 4M\n</IfModule>\n" +
          vh("localhost", "  <IfModule cache_module>\n    CacheEnable mem /\n  </IfModule>\n"
                          "  <IfModule !cache_module>\n    CacheDisable /\n  </IfModule>\n") +
          vh("c.test", "  <IfModule mod_cache.c>\n    CacheEnable mem /\n  </IfModule>\n") +
          vh("off.test", "  <IfModule !cache_module>\n    CacheEnable mem /\n  </IfModule>\n"));
  ServerProcess srv(cfg);
  ASSERT_TRUE(srv.ok()) << srv.error();
  for (std::string host : {"localhost", "c.test"}) {
    auto a = get(srv.port(), "/x", "", host);
    auto b = get(srv.port(), "/x", "", host);
    EXPECT_EQ(xcache(a), "MISS") << host << ": " << describe(a);
    EXPECT_EQ(xcache(b), "HIT") << host << ": " << describe(b);
    EXPECT_EQ(a.body, b.body) << host;
  }
  EXPECT_EQ(origin_count(be, "/x"), 2u);
  // <IfModule !cache_module> is false.
  auto o1 = get(srv.port(), "/y", "", "off.test");
  auto o2 = get(srv.port(), "/y", "", "off.test");
  EXPECT_EQ(o2.status, 200);
  EXPECT_FALSE(o2.has("X-Cache")) << describe(o2);
  EXPECT_NE(o1.body, o2.body);
}

// =========================================================================================
// Request directives: max-stale accepts a stale copy (unless the response
// forbade it); only-if-cached never goes to the origin.
// =========================================================================================

TEST(CacheRequestDirectives, MaxStaleAndOnlyIfCached) {
  std::atomic<int> n{0};
  Backend be("origin", [&n](const BackendRequest& r) {
    std::string cc = r.target == "/mr" ? "Cache-Control: max-age=1, must-revalidate\r\n" : "Cache-Control: max-age=1\r\n";
    return reply(200, cc, r.target + " v" + std::to_string(++n));
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheGrace 0\n"));
  const std::string oic = "Cache-Control: only-if-cached\r\n";

  auto never = get(f.port(), "/never", oic);
  EXPECT_EQ(never.status, 504) << describe(never);
  EXPECT_EQ(origin_count(be, "/never"), 0u);

  auto first = get(f.port(), "/ms");
  ASSERT_EQ(xcache(first), "MISS") << describe(first);
  ASSERT_EQ(xcache(get(f.port(), "/mr")), "MISS");
  auto cached = get(f.port(), "/ms", oic);
  EXPECT_EQ(cached.status, 200);
  EXPECT_EQ(xcache(cached), "HIT") << describe(cached);

  // Stale now (only-if-cached answers 504 for a stale copy, without asking the origin).
  EXPECT_TRUE(eventually([&] { return get(f.port(), "/ms", oic).status == 504; }, 4s));
  EXPECT_TRUE(eventually([&] { return get(f.port(), "/mr", oic).status == 504; }, 4s));
  EXPECT_EQ(origin_count(be, "/ms"), 1u);

  auto stale = get(f.port(), "/ms", "Cache-Control: max-stale=60\r\n");
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(xcache(stale), "STALE") << describe(stale);
  EXPECT_EQ(stale.body, first.body);
  EXPECT_EQ(origin_count(be, "/ms"), 1u) << "max-stale must not go to the origin";

  auto strict = get(f.port(), "/mr", "Cache-Control: max-stale\r\n");
  EXPECT_EQ(strict.status, 200);
  EXPECT_NE(xcache(strict), "STALE") << "must-revalidate forbids serving stale: " << describe(strict);
  EXPECT_EQ(origin_count(be, "/mr"), 2u);
}

// A client's no-cache makes the copy go to the origin first; an unsafe
// method on a URL invalidates what the store holds for it (RFC 9111 §4.4).
TEST(CacheRequestDirectives, NoCacheRevalidatesAndPostInvalidates) {
  std::atomic<int> n{0};
  Backend be("origin", [&n](const BackendRequest& r) {
    return reply(200, "Cache-Control: max-age=300\r\n", r.method + " " + r.target + " #" + std::to_string(++n));
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(xcache(get(f.port(), "/u")), "MISS");
  ASSERT_EQ(xcache(get(f.port(), "/u")), "HIT");

  auto forced = get(f.port(), "/u", "Cache-Control: no-cache\r\n");
  EXPECT_EQ(forced.status, 200);
  EXPECT_NE(xcache(forced), "HIT") << describe(forced);
  EXPECT_EQ(origin_count(be, "/u"), 2u) << "no-cache must reach the origin";
  EXPECT_EQ(xcache(get(f.port(), "/u")), "HIT");

  auto post = request(f.port(), "POST", "/u", "Content-Length: 0\r\n");
  EXPECT_EQ(post.status, 200) << describe(post);
  auto after = get(f.port(), "/u");
  EXPECT_EQ(xcache(after), "MISS") << "a POST must invalidate the stored copy: " << describe(after);
  EXPECT_EQ(origin_count(be, "/u"), 4u);
}

}  // namespace
}  // namespace itest

#include "backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "load_generator.h"

namespace itest {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHead = 1 << 20;    // a longer request head closes the connection
constexpr size_t kMaxBuffer = 64 << 20;  // bounded memory per connection

std::string lower_copy(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool icontains_token(std::string_view hay, std::string_view token) {
  return lower_copy(hay).find(lower_copy(token)) != std::string::npos;
}

enum class ParseResult { Incomplete, Done, Bad };

// Decodes a chunked body starting at `data`; on Done, *consumed is its length.
ParseResult decode_chunked(std::string_view data, std::string& body, size_t* consumed) {
  body.clear();
  size_t p = 0;
  for (;;) {
    size_t le = data.find("\r\n", p);
    if (le == std::string_view::npos) return data.size() - p > 1024 ? ParseResult::Bad : ParseResult::Incomplete;
    std::string_view line = data.substr(p, le - p);
    size_t semi = line.find(';');
    std::string hex(trim_view(line.substr(0, semi)));
    if (hex.empty() || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return ParseResult::Bad;
    size_t sz = std::strtoull(hex.c_str(), nullptr, 16);
    p = le + 2;
    if (sz == 0) {
      // Trailer fields until an empty line.
      for (;;) {
        size_t te = data.find("\r\n", p);
        if (te == std::string_view::npos) return ParseResult::Incomplete;
        bool empty = te == p;
        p = te + 2;
        if (empty) break;
      }
      *consumed = p;
      return ParseResult::Done;
    }
    if (data.size() < p + sz + 2) return ParseResult::Incomplete;
    body.append(data.substr(p, sz));
    if (data.substr(p + sz, 2) != "\r\n") return ParseResult::Bad;
    p += sz + 2;
  }
}

// Parses one request from the front of `buf`.
ParseResult parse_request(const std::string& buf, BackendRequest& r, size_t* consumed) {
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return buf.size() > kMaxHead ? ParseResult::Bad : ParseResult::Incomplete;
  r = BackendRequest{};
  std::string_view head(buf.data(), end + 2);
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t s1 = line.find(' ');
  size_t s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
  if (s2 == std::string_view::npos) return ParseResult::Bad;
  r.method = std::string(line.substr(0, s1));
  r.target = std::string(line.substr(s1 + 1, s2 - s1 - 1));
  r.version = std::string(line.substr(s2 + 1));
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    std::string_view f = head.substr(pos, e - pos);
    pos = e + 2;
    size_t colon = f.find(':');
    if (colon == std::string_view::npos) return ParseResult::Bad;
    r.headers.emplace_back(std::string(f.substr(0, colon)), std::string(trim_view(f.substr(colon + 1))));
  }
  size_t body_at = end + 4;
  if (icontains_token(r.header("Transfer-Encoding"), "chunked")) {
    r.chunked = true;
    size_t used = 0;
    auto res = decode_chunked(std::string_view(buf).substr(body_at), r.body, &used);
    if (res != ParseResult::Done) return res;
    *consumed = body_at + used;
    return ParseResult::Done;
  }
  size_t len = 0;
  if (r.has("Content-Length")) len = std::strtoull(r.header("Content-Length").c_str(), nullptr, 10);
  if (buf.size() < body_at + len) return ParseResult::Incomplete;
  r.body = buf.substr(body_at, len);
  *consumed = body_at + len;
  return ParseResult::Done;
}

std::string last_segment(const std::string& target) {
  std::string path = target.substr(0, target.find('?'));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string chunk(std::string_view data) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "%zx\r\n", data.size());
  return std::string(hex) + std::string(data) + "\r\n";
}

// The body in chunks of 1, 7, 4096, then 3000-byte pieces: uneven on purpose.
std::string chunked_body(std::string_view body) {
  std::string o;
  size_t sizes[] = {1, 7, 4096};
  size_t i = 0, p = 0;
  while (p < body.size()) {
    size_t n = std::min(i < 3 ? sizes[i] : size_t{3000}, body.size() - p);
    o += chunk(body.substr(p, n));
    p += n;
    ++i;
  }
  o += "0\r\n\r\n";
  return o;
}

}  // namespace

// ---- BackendRequest ---------------------------------------------------------------

bool BackendRequest::has(const std::string& name) const { return count(name) > 0; }

std::string BackendRequest::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (ieq(n, name)) return v;
  }
  return "";
}

size_t BackendRequest::count(const std::string& name) const {
  size_t c = 0;
  for (const auto& h : headers) c += ieq(h.first, name) ? 1 : 0;
  return c;
}

// ---- Backend ------------------------------------------------------------------------

struct Backend::Conn {
  int fd = -1;
  uint64_t id = 0;
  std::string in;
  std::string out;
  size_t out_pos = 0;
  enum class State { Reading, Waiting, Writing, Tunnel } state = State::Reading;
  bool tunnel_echo = false;
  Clock::time_point reply_at{};
  bool close_after = false;
  bool eof = false;
  bool reparse = false;  // back to Reading with bytes buffered: parse without waiting
  bool dead = false;
};

Backend::Backend(std::string name, Handler handler) : name_(std::move(name)), handler_(std::move(handler)) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) return;
  uint16_t port = 0;
  int fd = listen_loopback(port, 512, SOCK_NONBLOCK);
  if (fd < 0) return;
  port_ = port;
  listen_fd_ = fd;
  thread_ = std::thread([this] { run(); });
}

Backend::~Backend() {
  stop_.store(true);
  if (wake_[1] >= 0) {
    char c = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

std::string Backend::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::vector<BackendRequest> Backend::requests() const {
  std::lock_guard<std::mutex> g(mu_);
  return requests_;
}

size_t Backend::request_count() const {
  std::lock_guard<std::mutex> g(mu_);
  return requests_.size();
}

void Backend::clear() {
  std::lock_guard<std::mutex> g(mu_);
  requests_.clear();
}

std::string Backend::echo_text(const BackendRequest& r) const {
  std::string o = "backend " + name_ + "\nmethod " + r.method + "\ntarget " + r.target + "\nversion " + r.version +
                  "\nbody-length " + std::to_string(r.body.size()) + "\n";
  for (const auto& [n, v] : r.headers) o += "header " + n + ": " + v + "\n";
  return o;
}

BackendReply Backend::scripted(const BackendRequest& r) const {
  BackendReply rep;
  const std::string seg = last_segment(r.target);
  const std::string xb = "X-Backend: " + name_ + "\r\n";
  const bool head = r.method == "HEAD";
  auto with_length = [&](const std::string& status, const std::string& body, const std::string& extra = "") {
    return "HTTP/1.1 " + status + "\r\n" + xb + extra + "Content-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + (head ? std::string() : body);
  };
  if (seg == "chunked") {
    rep.bytes = "HTTP/1.1 200 OK\r\n" + xb + "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
                (head ? std::string() : chunked_body(echo_text(r)));
  } else if (seg == "http10") {
    rep.bytes = "HTTP/1.0 200 OK\r\n" + xb + "Content-Type: text/plain\r\n\r\n" + (head ? std::string() : echo_text(r));
    rep.close_after = true;
  } else if (seg.rfind("sleep-", 0) == 0) {
    rep.delay = std::chrono::milliseconds(std::atoi(seg.c_str() + 6));
    rep.bytes = with_length("200 OK", echo_text(r));
  } else if (seg == "mirror") {
    rep.bytes = with_length("200 OK", r.body);
  } else if (seg.rfind("big-", 0) == 0) {
    rep.bytes = with_length("200 OK", pattern_bytes(std::strtoull(seg.c_str() + 4, nullptr, 10)));
  } else if (seg.rfind("bigchunked-", 0) == 0) {
    std::string body = pattern_bytes(std::strtoull(seg.c_str() + 11, nullptr, 10));
    rep.bytes = "HTTP/1.1 200 OK\r\n" + xb + "Transfer-Encoding: chunked\r\n\r\n" + (head ? std::string() : chunked_body(body));
  } else if (seg == "malformed") {
    rep.bytes = "HTTP/1.1 abc Nope\r\n" + xb + "Content-Length: 2\r\n\r\nhi";
    rep.close_after = true;
  } else if (seg == "bigheaders") {
    rep.bytes = "HTTP/1.1 200 OK\r\n" + xb + "X-Huge: " + std::string(64 * 1024, 'h') +
                "\r\nContent-Length: 2\r\n\r\nhi";
    rep.close_after = true;
  } else if (seg == "cut") {
    rep.bytes = "HTTP/1.1 200 OK\r\n" + xb + "Content-Length: 100000\r\n\r\n" + std::string(1000, 'c');
    rep.close_after = true;
  } else if (seg == "cutchunked") {
    rep.bytes = "HTTP/1.1 200 OK\r\n" + xb + "Transfer-Encoding: chunked\r\n\r\n" + chunk(std::string(500, 'c')) +
                chunk(std::string(500, 'd'));
    rep.close_after = true;
  } else if (seg == "upgrade") {
    rep.bytes = "HTTP/1.1 101 Switching Protocols\r\n" + xb +
                "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n\r\nhello-from-backend";
    rep.tunnel_echo = true;
  } else if (seg == "redirect") {
    rep.bytes = with_length("302 Found", "moved\n", "Location: " + url() + "/sub/landed?x=1\r\n");
  } else if (seg == "redirect2") {
    rep.bytes = with_length("302 Found", "moved\n", "Location: " + url() + "/sub/landed?next=http://example.com//x\r\n");
  } else if (seg == "hopresp") {
    rep.bytes = with_length("200 OK", "ok",
                            "Connection: X-Hop-Resp\r\nX-Hop-Resp: secret\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\n");
  } else if (seg == "close") {
    rep.bytes = with_length("200 OK", echo_text(r), "Connection: close\r\n");
    rep.close_after = true;
  } else {
    rep.bytes = with_length("200 OK", echo_text(r));
  }
  return rep;
}

void Backend::run() {
  std::vector<std::unique_ptr<Conn>> conns;
  uint64_t next_id = 0;
  while (!stop_.load()) {
    auto now = Clock::now();
    int timeout_ms = 50;
    for (auto& c : conns) {
      if (c->state == Conn::State::Reading && c->reparse) timeout_ms = 0;  // maybe a pipelined request
      if (c->state == Conn::State::Waiting) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(c->reply_at - now).count();
        timeout_ms = static_cast<int>(std::clamp<long long>(ms, 0, timeout_ms));
      }
    }
    std::vector<pollfd> pfds;
    pfds.push_back({wake_[0], POLLIN, 0});
    pfds.push_back({listen_fd_, POLLIN, 0});
    for (auto& c : conns) {
      short ev = 0;
      if (c->state == Conn::State::Reading || c->state == Conn::State::Tunnel) ev = POLLIN;
      else if (c->state == Conn::State::Writing) ev = POLLOUT;
      pfds.push_back({c->fd, ev, 0});
    }
    int n = ::poll(pfds.data(), pfds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) break;
    if (stop_.load()) break;
    if (pfds[1].revents & POLLIN) {
      for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<Conn>();
        c->fd = fd;
        c->id = ++next_id;
        accepted_.fetch_add(1);
        conns.push_back(std::move(c));
      }
    }
    now = Clock::now();
    for (size_t i = 0; i < conns.size(); ++i) {
      Conn& c = *conns[i];
      short rev = i + 2 < pfds.size() && pfds[i + 2].fd == c.fd ? pfds[i + 2].revents : 0;
      if (c.state == Conn::State::Reading && (rev & (POLLIN | POLLHUP | POLLERR))) {
        char buf[65536];
        for (;;) {
          ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
          if (r > 0) {
            c.in.append(buf, static_cast<size_t>(r));
            if (c.in.size() > kMaxBuffer) {
              c.dead = true;
              break;
            }
            continue;
          }
          if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            c.eof = true;  // answer what is complete, then drop it
            break;
          }
          if (errno == EINTR) continue;
          break;
        }
      }
      if (c.state == Conn::State::Tunnel && (rev & (POLLIN | POLLHUP | POLLERR))) {
        char buf[65536];
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
          c.out.assign(buf, static_cast<size_t>(r));  // echoed as they come
          c.out_pos = 0;
          c.state = Conn::State::Writing;
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          c.dead = true;
        }
      }
      if (c.dead) continue;
      if (c.state == Conn::State::Reading) {
        c.reparse = false;
        BackendRequest req;
        size_t used = 0;
        auto res = parse_request(c.in, req, &used);
        if (res == ParseResult::Bad) {
          c.dead = true;
          continue;
        }
        if (res == ParseResult::Done) {
          c.in.erase(0, used);
          req.connection = c.id;
          {
            std::lock_guard<std::mutex> g(mu_);
            requests_.push_back(req);
          }
          BackendReply rep = handler_ ? handler_(req) : scripted(req);
          c.out = std::move(rep.bytes);
          c.out_pos = 0;
          c.close_after = rep.close_after;
          c.tunnel_echo = rep.tunnel_echo;
          c.reply_at = now + rep.delay;
          c.state = Conn::State::Waiting;
        } else if (c.eof) {
          c.dead = true;
          continue;
        }
      }
      if (c.state == Conn::State::Waiting && Clock::now() >= c.reply_at) c.state = Conn::State::Writing;
      if (c.state == Conn::State::Writing) {
        while (c.out_pos < c.out.size()) {
          ssize_t w = ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
          if (w > 0) {
            c.out_pos += static_cast<size_t>(w);
            continue;
          }
          if (w < 0 && errno == EINTR) continue;
          if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
          c.dead = true;
          break;
        }
        if (!c.dead && c.out_pos == c.out.size()) {
          c.out.clear();
          c.out_pos = 0;
          if (c.close_after) {
            c.dead = true;
          } else if (c.tunnel_echo) {
            c.state = Conn::State::Tunnel;
            c.out = std::move(c.in);  // bytes that came after the request head go back first
            c.in.clear();
            if (!c.out.empty()) c.state = Conn::State::Writing;
          } else {
            c.state = Conn::State::Reading;  // a pipelined request may already be buffered: next round
            c.reparse = !c.in.empty() || c.eof;
          }
        }
      }
    }
    for (auto it = conns.begin(); it != conns.end();) {
      if ((*it)->dead) {
        ::close((*it)->fd);
        closed_.fetch_add(1);
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : conns) ::close(c->fd);
}

// ---- helpers --------------------------------------------------------------------------

std::string pattern_bytes(size_t n, uint32_t seed) {
  std::string o(n, '\0');
  uint32_t x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    o[i] = static_cast<char>(x & 0xff);
  }
  return o;
}

bool EchoInfo::has(const std::string& lname) const { return count(lname) > 0; }

std::string EchoInfo::header(const std::string& lname) const {
  for (const auto& [n, v] : headers) {
    if (n == lname) return v;
  }
  return "";
}

size_t EchoInfo::count(const std::string& lname) const {
  size_t c = 0;
  for (const auto& h : headers) c += h.first == lname ? 1 : 0;
  return c;
}

EchoInfo parse_echo(const std::string& body) {
  EchoInfo e;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    std::string line = body.substr(pos, nl - pos);
    pos = nl + 1;
    size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    std::string key = line.substr(0, sp), val = line.substr(sp + 1);
    if (key == "backend") e.backend = val, e.valid = true;
    else if (key == "method") e.method = val;
    else if (key == "target") e.target = val;
    else if (key == "version") e.version = val;
    else if (key == "body-length") e.body_length = std::strtoull(val.c_str(), nullptr, 10);
    else if (key == "header") {
      size_t colon = val.find(':');
      if (colon == std::string::npos) continue;
      e.headers.emplace_back(lower_copy(val.substr(0, colon)), std::string(trim_view(val.substr(colon + 1))));
    }
  }
  return e;
}

}  // namespace itest

namespace itest {

BackendReply text_reply(const std::string& backend, const std::string& body, std::chrono::milliseconds delay) {
  BackendReply r;
  r.bytes = "HTTP/1.1 200 OK\r\nX-Backend: " + backend + "\r\nContent-Type: text/plain\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
  r.delay = delay;
  return r;
}

PillarMember::PillarMember(const std::string& name, const std::string& extra) : name_(name) {
  std::string docroot = tree_.mkdir("www");
  tree_.write("www/index.html", "member " + name + "\n");
  tree_.write("www/name.txt", "member " + name + "\n");
  srv_ = std::make_unique<ServerProcess>("Listen 127.0.0.1:0\nServerName localhost\nDocumentRoot \"" + docroot +
                                         "\"\nStartServers 1\nServerLimit 2\nThreadsPerChild 200\n" + extra + "\n");
}

void PillarMember::kill9() {
  pid_t master = srv_->pid();
  for (pid_t p : child_pids(master)) ::kill(p, SIGKILL);
  ::kill(master, SIGKILL);
  for (pid_t p : child_pids(master)) ::kill(p, SIGKILL);  // one forked meanwhile
}

std::string proxy_front_config(const std::string& docroot, const std::string& extra, int workers) {
  return "Listen 127.0.0.1:0\nServerName localhost\nDocumentRoot \"" + docroot + "\"\nStartServers " +
         std::to_string(workers) + "\nServerLimit " + std::to_string(workers) +
         "\nThreadsPerChild 500\nMinSpareThreads 1\nMaxSpareThreads " + std::to_string(500 * (workers + 1)) + "\n" +
         extra + "\n";
}

std::string member_of(const std::string& body) {
  if (body.rfind("member ", 0) != 0) return "";
  size_t nl = body.find('\n');
  return body.substr(7, nl == std::string::npos ? std::string::npos : nl - 7);
}

}  // namespace itest

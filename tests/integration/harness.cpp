#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef PILLAR_BINARY
#error "PILLAR_BINARY must be defined as the path of the pillar binary"
#endif

namespace itest {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  if (left < 0) return 0;
  return static_cast<int>(left);
}

void mkdirs(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
}

// Ignore SIGPIPE once: a server closing early must not kill the test binary.
struct IgnoreSigpipe {
  IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }
} ignore_sigpipe;

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

void reap(pid_t pid, Millis grace, int& exit_code) {
  auto deadline = Clock::now() + grace;
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return;
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      exit_code = -1;
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// fork + exec PILLAR_BINARY; the child's stdout/stderr go to the returned fds.
pid_t spawn(const std::vector<std::string>& args, int* out_fd, int* err_fd,
            const std::vector<std::string>& env = {}) {
  int outp[2] = {-1, -1}, errp[2];
  if (out_fd && pipe2(outp, O_CLOEXEC) != 0) return -1;
  if (pipe2(errp, O_CLOEXEC) != 0) return -1;
  std::vector<char*> argv;
  std::string bin = PILLAR_BINARY;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(out_fd ? outp[1] : devnull, 1);
    dup2(errp[1], 2);
    signal(SIGPIPE, SIG_DFL);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));  // e.g. PILLAR_FAULT_POINT=NAME
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (out_fd) {
    close(outp[1]);
    *out_fd = outp[0];
  }
  close(errp[1]);
  *err_fd = errp[0];
  return pid;
}

}  // namespace

// ---- helpers -------------------------------------------------------------------

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

bool iequals(std::string_view a, std::string_view b) { return a.size() == b.size() && lower(a) == lower(b); }

bool icontains(std::string_view hay, std::string_view needle) {
  return lower(hay).find(lower(needle)) != std::string::npos;
}

std::string http_date(time_t t) {
  char buf[64];
  struct tm tm {};
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// ---- TempTree ---------------------------------------------------------------------

TempTree::TempTree() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/pillar-it-XXXXXX";
  char* d = mkdtemp(tmpl.data());
  if (d) root_ = fs::canonical(d).string();
}

TempTree::~TempTree() {
  if (root_.empty()) return;
  std::error_code ec;
  fs::remove_all(root_, ec);
}

std::string TempTree::path(std::string_view rel) const {
  if (rel.empty()) return root_;
  return root_ + "/" + std::string(rel);
}

std::string TempTree::write(std::string_view rel, std::string_view content) {
  std::string p = path(rel);
  mkdirs(fs::path(p).parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  return p;
}

std::string TempTree::mkdir(std::string_view rel) {
  std::string p = path(rel);
  mkdirs(p);
  return p;
}

std::string TempTree::symlink(std::string_view target, std::string_view rel) {
  std::string p = path(rel);
  mkdirs(fs::path(p).parent_path());
  ::symlink(std::string(target).c_str(), p.c_str());
  return p;
}

void TempTree::set_mtime(std::string_view rel, time_t t) {
  struct timeval tv[2] = {{t, 0}, {t, 0}};
  ::utimes(path(rel).c_str(), tv);
}

std::string TempTree::read(std::string_view rel) const {
  std::ifstream f(path(rel), std::ios::binary);
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// ---- run_pillar / check_config -------------------------------------------------------

RunResult run_pillar(const std::vector<std::string>& args, Millis timeout) {
  RunResult r;
  int out_fd = -1, err_fd = -1;
  pid_t pid = spawn(args, &out_fd, &err_fd);
  if (pid < 0) {
    r.err = "spawn failed";
    return r;
  }
  auto deadline = Clock::now() + timeout;
  bool out_open = true, err_open = true;
  char buf[4096];
  while ((out_open || err_open) && Clock::now() < deadline) {
    pollfd p[2] = {{out_open ? out_fd : -1, POLLIN, 0}, {err_open ? err_fd : -1, POLLIN, 0}};
    int n = poll(p, 2, ms_left(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (!p[i].revents) continue;
      ssize_t k = read(p[i].fd, buf, sizeof buf);
      if (k > 0) (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(k));
      else if (k == 0 || errno != EINTR) (i == 0 ? out_open : err_open) = false;
    }
  }
  close(out_fd);
  close(err_fd);
  if (out_open || err_open) kill(pid, SIGKILL);
  reap(pid, 2s, r.exit_code);
  return r;
}

RunResult check_config(const std::string& config, std::string* path) {
  static TempTree dir;  // lives for the whole test binary
  static int seq = 0;
  std::string rel = "check-" + std::to_string(++seq) + ".conf";
  std::string p = dir.write(rel, config);
  if (path) *path = p;
  return run_pillar({"-t", "-f", p});
}

// ---- ServerProcess ----------------------------------------------------------------------

ServerProcess::ServerProcess(const std::string& config, size_t listeners, const std::vector<std::string>& env) {
  config_path_ = dir_.write("pillar.conf", config);
  pid_ = spawn({"-f", config_path_}, nullptr, &err_fd_, env);
  if (pid_ < 0) {
    error_ = "fork/exec of " PILLAR_BINARY " failed";
    return;
  }
  // Wait for the listening lines.
  auto deadline = Clock::now() + 10s;
  std::string seen;
  bool eof = false;
  static constexpr std::string_view kMark = "pillar: listening on http";  // http:// or https://
  size_t scan = 0;
  char buf[4096];
  while (ports_.size() < listeners && !eof) {
    pollfd p{err_fd_, POLLIN, 0};
    int left = ms_left(deadline);
    if (left == 0) break;
    int n = poll(&p, 1, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    ssize_t k = read(err_fd_, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      eof = true;
      break;
    }
    seen.append(buf, static_cast<size_t>(k));
    for (;;) {
      size_t nl = seen.find('\n', scan);
      if (nl == std::string::npos) break;
      std::string_view line(seen.data() + scan, nl - scan);
      scan = nl + 1;
      size_t at = line.find(kMark);
      if (at == std::string_view::npos) continue;
      std::string_view ep = line.substr(at + kMark.size());
      if (ep.substr(0, 4) == "s://") ep.remove_prefix(4);
      else if (ep.substr(0, 3) == "://") ep.remove_prefix(3);
      else continue;
      size_t colon = ep.rfind(':');
      if (colon == std::string_view::npos) continue;
      ports_.push_back(static_cast<uint16_t>(std::atoi(std::string(ep.substr(colon + 1)).c_str())));
    }
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    stderr_ = seen;
  }
  if (ports_.size() >= listeners) {
    ok_ = true;
  } else {
    error_ = eof ? "pillar exited before listening" : "pillar did not print its listening line(s) within 10 s";
    error_ += "; stderr:\n" + seen;
  }
  if (!eof) drain_ = std::thread([this] { drain_loop(); });
  if (!ok_) stop(1s);
}

void ServerProcess::drain_loop() {
  char buf[4096];
  for (;;) {
    ssize_t k = read(err_fd_, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return;
    std::lock_guard<std::mutex> lk(mu_);
    stderr_.append(buf, static_cast<size_t>(k));
  }
}

int ServerProcess::stop(Millis grace) {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGTERM);
    reap(pid_, grace, exit_code_);
    reaped_ = true;
  }
  // The child is gone, so the pipe reaches EOF and the drain thread ends
  // (unless a grandchild holds it: there is none).
  if (drain_.joinable()) drain_.join();
  if (err_fd_ >= 0) {
    close(err_fd_);
    err_fd_ = -1;
  }
  return exit_code_;
}

ServerProcess::~ServerProcess() { stop(); }

std::string ServerProcess::base_url(size_t i) const { return "http://127.0.0.1:" + std::to_string(port(i)); }

std::string ServerProcess::stderr_text() const {
  std::lock_guard<std::mutex> lk(mu_);
  return stderr_;
}

// ---- responses ---------------------------------------------------------------------------

namespace {
template <typename H>
std::string find_header(const H& hs, std::string_view name) {
  for (const auto& [k, v] : hs)
    if (iequals(k, name)) return v;
  return {};
}
template <typename H>
size_t count_header(const H& hs, std::string_view name) {
  size_t n = 0;
  for (const auto& [k, v] : hs)
    if (iequals(k, name)) ++n;
  return n;
}
std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}
}  // namespace

bool HttpResponse::has(std::string_view name) const { return count_header(headers, name) > 0; }
std::string HttpResponse::header(std::string_view name) const { return find_header(headers, name); }
size_t HttpResponse::count(std::string_view name) const { return count_header(headers, name); }
bool CurlResult::has(std::string_view name) const { return count_header(headers, name) > 0; }
std::string CurlResult::header(std::string_view name) const { return find_header(headers, name); }
size_t CurlResult::count(std::string_view name) const { return count_header(headers, name); }

size_t parse_response(std::string_view data, HttpResponse& out, bool head_request) {
  size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;
  out = HttpResponse{};
  std::string_view head = data.substr(0, end + 2);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  size_t sp1 = status_line.find(' ');
  out.version = std::string(status_line.substr(0, sp1));
  if (sp1 != std::string_view::npos) {
    std::string_view rest = status_line.substr(sp1 + 1);
    out.status = std::atoi(std::string(rest.substr(0, 3)).c_str());
    if (rest.size() > 4) out.reason = std::string(rest.substr(4));
  }
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, e - pos);
    pos = e + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    out.headers.emplace_back(std::string(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  size_t consumed = end + 4;
  bool no_body = head_request || out.status / 100 == 1 || out.status == 204 || out.status == 304;
  if (!no_body && out.has("Content-Length")) {
    size_t len = std::strtoull(out.header("Content-Length").c_str(), nullptr, 10);
    if (data.size() < consumed + len) return 0;
    out.body = std::string(data.substr(consumed, len));
    consumed += len;
  } else if (!no_body && iequals(out.header("Transfer-Encoding"), "chunked")) {
    // Decode chunked (not expected from a static server, but be complete).
    size_t p = consumed;
    for (;;) {
      size_t le = data.find("\r\n", p);
      if (le == std::string_view::npos) return 0;
      size_t sz = std::strtoull(std::string(data.substr(p, le - p)).c_str(), nullptr, 16);
      p = le + 2;
      if (sz == 0) {
        size_t te = data.find("\r\n\r\n", p - 2);
        if (te == std::string_view::npos) return 0;
        p = te + 4;
        break;
      }
      if (data.size() < p + sz + 2) return 0;
      out.body.append(data.substr(p, sz));
      p += sz + 2;
    }
    consumed = p;
  } else if (!no_body) {
    // No framing: the body runs to the end of the data (close-delimited).
    out.body = std::string(data.substr(consumed));
    consumed = data.size();
  }
  return consumed;
}

std::vector<HttpResponse> parse_responses(std::string_view data, const std::vector<bool>& head_flags) {
  std::vector<HttpResponse> rs;
  while (!data.empty()) {
    HttpResponse r;
    bool head = rs.size() < head_flags.size() && head_flags[rs.size()];
    size_t n = parse_response(data, r, head);
    if (n == 0) break;
    rs.push_back(std::move(r));
    data.remove_prefix(n);
  }
  return rs;
}

// ---- RawConnection ---------------------------------------------------------------------------

const char* to_string(CloseKind k) {
  switch (k) {
    case CloseKind::Open: return "open";
    case CloseKind::Eof: return "eof";
    case CloseKind::Reset: return "reset";
    case CloseKind::Timeout: return "timeout";
    case CloseKind::Error: return "error";
  }
  return "?";
}

int listen_loopback(uint16_t& port, int backlog, int extra_flags) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | extra_flags, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, backlog) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  port = ntohs(a.sin_port);
  return fd;
}

RawConnection::RawConnection(uint16_t port, Millis connect_timeout) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int r = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (r != 0 && errno == EINPROGRESS) {
    pollfd p{fd_, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, static_cast<int>(connect_timeout.count())) == 1 &&
        getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
      r = 0;
  }
  if (r != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  if (fd_ < 0) return false;
  auto deadline = Clock::now() + 5s;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (poll(&p, 1, ms_left(deadline)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

void RawConnection::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool RawConnection::read_some(Clock::time_point deadline) {
  if (fd_ < 0) {
    close_ = CloseKind::Error;
    return false;
  }
  if (close_ == CloseKind::Eof || close_ == CloseKind::Reset) return false;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int n = poll(&p, 1, ms_left(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      close_ = CloseKind::Timeout;
      return false;
    }
    if (n < 0) {
      close_ = CloseKind::Error;
      return false;
    }
    char buf[65536];
    ssize_t k = recv(fd_, buf, sizeof buf, 0);
    if (k > 0) {
      buf_.append(buf, static_cast<size_t>(k));
      close_ = CloseKind::Open;
      return true;
    }
    if (k == 0) {
      close_ = CloseKind::Eof;
      return false;
    }
    if (errno == EINTR || errno == EAGAIN) continue;
    close_ = errno == ECONNRESET ? CloseKind::Reset : CloseKind::Error;
    return false;
  }
}

std::string RawConnection::read_until_close(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (read_some(deadline)) {
  }
  std::string r = std::move(buf_);
  buf_.clear();
  return r;
}

HttpResponse RawConnection::read_response(Millis timeout, bool head_request) {
  auto deadline = Clock::now() + timeout;
  HttpResponse r;
  for (;;) {
    size_t n = parse_response(buf_, r, head_request);
    // A response without framing is close-delimited: only complete at EOF.
    bool framed = head_request || r.has("Content-Length") || r.status / 100 == 1 || r.status == 204 ||
                  r.status == 304 || iequals(r.header("Transfer-Encoding"), "chunked");
    if (n > 0 && (framed || close_ == CloseKind::Eof || close_ == CloseKind::Reset)) {
      buf_.erase(0, n);
      return r;
    }
    if (!read_some(deadline)) {
      n = parse_response(buf_, r, head_request);
      if (n > 0) {
        buf_.erase(0, n);
        return r;
      }
      return HttpResponse{};
    }
  }
}

bool RawConnection::wait_closed(Millis timeout, std::string* extra) {
  auto deadline = Clock::now() + timeout;
  while (read_some(deadline)) {
  }
  if (extra) *extra = buf_;
  return close_ == CloseKind::Eof || close_ == CloseKind::Reset;
}

const HttpResponse& RawExchange::first() const {
  static const HttpResponse none;
  return responses.empty() ? none : responses.front();
}

RawExchange raw_exchange(uint16_t port, std::string_view request, Millis timeout, bool head_request) {
  RawExchange x;
  RawConnection c(port);
  if (!c.connected()) {
    x.close = CloseKind::Error;
    return x;
  }
  c.send(request);
  x.data = c.read_until_close(timeout);
  x.close = c.close_kind();
  x.responses = parse_responses(x.data, {head_request});
  return x;
}

// ---- libcurl ---------------------------------------------------------------------------------

namespace {
size_t on_body(char* p, size_t sz, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, sz * n);
  return sz * n;
}
size_t on_header(char* p, size_t sz, size_t n, void* ud) {
  auto* r = static_cast<CurlResult*>(ud);
  std::string_view line(p, sz * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 1xx or a redirect): start over
    r->headers.clear();
    r->status_line = trim(line);
  } else {
    size_t colon = line.find(':');
    if (colon != std::string_view::npos)
      r->headers.emplace_back(std::string(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  return sz * n;
}
}  // namespace

CurlResult curl_request(const std::string& url, const CurlOptions& opt) {
  static CurlGlobal global;
  CurlResult r;
  CURL* h = curl_easy_init();
  if (!h) {
    r.curl_code = -1;
    r.curl_error = "curl_easy_init failed";
    return r;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* hl = nullptr;
  for (const auto& s : opt.headers) hl = curl_slist_append(hl, s.c_str());
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opt.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, nullptr);
  if (opt.http10) curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_0);
  else curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  if (opt.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (opt.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, opt.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(opt.body.size()));
  } else if (opt.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, opt.method.c_str());
    if (!opt.body.empty()) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, opt.body.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(opt.body.size()));
    }
  }
  if (hl) curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  CURLcode rc = curl_easy_perform(h);
  r.curl_code = static_cast<int>(rc);
  if (rc != CURLE_OK) r.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  r.status = static_cast<int>(code);
  curl_slist_free_all(hl);
  curl_easy_cleanup(h);
  return r;
}

}  // namespace itest

#include "netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace itest::netns {

namespace {

std::atomic<int> g_lab_counter{0};

// Built before fork(): the child only makes async-signal-safe calls.
std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  return a;
}

[[noreturn]] void exec_child(std::vector<char*>& a) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execvp(a[0], a.data());
  _exit(127);
}

int wait_bounded(pid_t pid, Millis timeout) {
  auto end = Clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0) return -1;
    if (Clock::now() >= end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(Millis(2));
  }
}

}  // namespace

int run(const std::vector<std::string>& argv, std::string* output, Millis timeout) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  auto args = c_argv(argv);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(p[1], 1);
    dup2(p[1], 2);
    exec_child(args);
  }
  close(p[1]);
  std::string out;
  auto end = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(end - Clock::now()).count();
    if (left <= 0) break;
    pollfd pfd{p[0], POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  int rc = wait_bounded(pid, std::max(Millis(0), std::chrono::duration_cast<Millis>(end - Clock::now())) + Millis(100));
  if (output) *output = std::move(out);
  return rc;
}

bool usable(std::string* why) {
  if (geteuid() != 0) {
    if (why) *why = "not running as root (network namespaces, veths and raw VRRP sockets need root)";
    return false;
  }
  std::string probe = "pvprobe" + std::to_string(getpid());
  std::string out;
  if (run({"ip", "netns", "add", probe}, &out) != 0) {
    if (why) *why = "`ip netns add` failed: " + out;
    return false;
  }
  run({"ip", "netns", "del", probe});
  return true;
}

// ---- NsProcess ---------------------------------------------------------------------

NsProcess::NsProcess(const std::string& ns, const std::vector<std::string>& argv, const std::string& log_path)
    : log_path_(log_path) {
  std::vector<std::string> full = {"ip", "netns", "exec", ns};
  full.insert(full.end(), argv.begin(), argv.end());
  auto args = c_argv(full);
  pid_ = fork();
  if (pid_ == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    exec_child(args);
  }
}

NsProcess::~NsProcess() { stop(); }

bool NsProcess::alive() {
  if (pid_ <= 0 || reaped_) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

void NsProcess::signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

bool NsProcess::wait_exit(Millis timeout) {
  auto end = Clock::now() + timeout;
  while (alive()) {
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(Millis(2));
  }
  return true;
}

int NsProcess::stop(Millis grace) {
  if (pid_ <= 0) return -1;
  if (!reaped_) {
    ::kill(pid_, SIGTERM);
    if (!wait_exit(grace)) {
      ::kill(pid_, SIGKILL);
      if (waitpid(pid_, &status_, 0) == pid_) reaped_ = true;
    }
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

std::string NsProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- Lab ------------------------------------------------------------------------------

Lab::Lab(const std::vector<std::string>& nodes) : nodes_(nodes) {
  prefix_ = "pv" + std::to_string(getpid()) + "-" + std::to_string(g_lab_counter++) + "-";
  sw_ = prefix_ + "sw";
  auto step = [&](const std::vector<std::string>& args) {
    if (!error_.empty()) return false;
    std::string out;
    if (ip(args, &out) != 0) {
      error_ = "ip";
      for (const auto& a : args) error_ += " " + a;
      error_ += ": " + out;
      return false;
    }
    return true;
  };
  if (!step({"netns", "add", sw_})) return;
  made_.push_back(sw_);
  step({"-n", sw_, "link", "set", "lo", "up"});
  step({"-n", sw_, "link", "add", "br0", "type", "bridge"});
  step({"-n", sw_, "link", "set", "br0", "up"});
  for (size_t i = 0; i < nodes_.size() && error_.empty(); ++i) {
    const std::string& n = nodes_[i];
    if (!step({"netns", "add", ns(n)})) return;
    made_.push_back(ns(n));
    step({"link", "add", port(n), "netns", sw_, "type", "veth", "peer", "name", "eth0", "netns", ns(n)});
    step({"-n", sw_, "link", "set", port(n), "master", "br0"});
    step({"-n", sw_, "link", "set", port(n), "up"});
    step({"-n", ns(n), "addr", "add", addr(n) + "/24", "dev", "eth0"});
    step({"-n", ns(n), "link", "set", "eth0", "up"});
    step({"-n", ns(n), "link", "set", "lo", "up"});
  }
  ok_ = error_.empty();
}

Lab::~Lab() {
  // Nodes first (their processes may hold the veths), the bridge last.
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
    std::string out;
    ip({"netns", "pids", *it}, &out);
    std::istringstream in(out);
    for (pid_t p; in >> p;) ::kill(p, SIGKILL);
  }
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) ip({"netns", "del", *it});
}

std::string Lab::ns(const std::string& node) const { return prefix_ + node; }

std::string Lab::addr(const std::string& node) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i] == node) return "10.99.0." + std::to_string(i + 1);
  return "";
}

std::string Lab::port(const std::string& node) const { return "p" + node; }

int Lab::ip(const std::vector<std::string>& args, std::string* out) const {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, out, Millis(5000));
}

bool Lab::has_address(const std::string& node, const std::string& a) const {
  std::string out;
  if (ip({"-n", ns(node), "-4", "-o", "addr", "show", "dev", "eth0"}, &out) != 0) return false;
  return out.find(" " + a + "/") != std::string::npos;
}

namespace {
std::string word_after(const std::string& text, const std::string& key) {
  size_t p = text.find(key);
  if (p == std::string::npos) return "";
  p += key.size();
  size_t e = text.find_first_of(" \n", p);
  return text.substr(p, e == std::string::npos ? std::string::npos : e - p);
}
}  // namespace

std::string Lab::mac(const std::string& node) const {
  std::string out;
  ip({"-n", ns(node), "-o", "link", "show", "dev", "eth0"}, &out);
  return word_after(out, "link/ether ");
}

std::string Lab::neigh_lladdr(const std::string& node, const std::string& a) const {
  std::string out;
  ip({"-n", ns(node), "neigh", "show", a}, &out);
  return word_after(out, "lladdr ");
}

bool Lab::set_bridge_port(const std::string& node, bool up) const {
  return ip({"-n", sw_, "link", "set", port(node), up ? "up" : "down"}) == 0;
}

bool Lab::set_link(const std::string& node, bool up) const {
  return ip({"-n", ns(node), "link", "set", "eth0", up ? "up" : "down"}) == 0;
}

std::vector<pid_t> Lab::pids(const std::string& node) const {
  std::string out;
  ip({"netns", "pids", ns(node)}, &out);
  std::vector<pid_t> v;
  std::istringstream in(out);
  for (pid_t p; in >> p;) v.push_back(p);
  return v;
}

void Lab::kill_all(const std::string& node) const {
  for (pid_t p : pids(node)) ::kill(p, SIGKILL);
}

bool Lab::wait_no_processes(const std::string& node, Millis timeout) const {
  auto end = Clock::now() + timeout;
  for (;;) {
    if (pids(node).empty()) return true;
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(Millis(10));
  }
}

int Lab::socket_in(const std::string& node, int type) const {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(("/run/netns/" + ns(node)).c_str(), O_RDONLY | O_CLOEXEC);
  int s = -1;
  if (self >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0) {
    s = ::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (setns(self, CLONE_NEWNET) != 0) std::abort();  // never go on in the wrong namespace
  }
  if (self >= 0) close(self);
  if (target >= 0) close(target);
  return s;
}

// ---- HTTP -------------------------------------------------------------------------------

namespace {

struct Attempt {
  int fd = -1;
  Clock::time_point start;
  bool sent = false;
  std::string buf;
};

bool start_attempt(const Lab& lab, const std::string& node, const std::string& ip, uint16_t port, Attempt& a) {
  a = Attempt{};
  a.start = Clock::now();
  a.fd = lab.socket_in(node, SOCK_STREAM);
  if (a.fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  if (connect(a.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    close(a.fd);
    a.fd = -1;
    return false;
  }
  return true;
}

// Advances one attempt after poll. Returns true when it is finished (fd closed);
// *done_ok with the parsed answer when a complete response arrived.
bool step_attempt(Attempt& a, short revents, Answer& ans, bool* done_ok) {
  *done_ok = false;
  auto fail = [&](const std::string& why) {
    ans.error = why;
    close(a.fd);
    a.fd = -1;
    return true;
  };
  if (!a.sent && (revents & (POLLOUT | POLLERR | POLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(std::string("connect: ") + strerror(err));
    static constexpr char kReq[] = "GET / HTTP/1.0\r\nHost: vip\r\nUser-Agent: vrrp-netns-test\r\n\r\n";
    if (send(a.fd, kReq, sizeof kReq - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof kReq - 1))
      return fail(std::string("send: ") + strerror(errno));
    a.sent = true;
    return false;
  }
  if (a.sent && (revents & (POLLIN | POLLERR | POLLHUP))) {
    for (;;) {
      char buf[4096];
      ssize_t n = recv(a.fd, buf, sizeof buf, 0);
      if (n > 0) {
        a.buf.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      if (n < 0) return fail(std::string("recv: ") + strerror(errno));
      break;  // EOF
    }
    close(a.fd);
    a.fd = -1;
    size_t hdr = a.buf.find("\r\n\r\n");
    if (a.buf.compare(0, 5, "HTTP/") != 0 || hdr == std::string::npos || a.buf.size() < 12) {
      ans.error = "malformed response: " + a.buf.substr(0, 80);
      return true;
    }
    ans.status = std::atoi(a.buf.c_str() + 9);
    ans.body = a.buf.substr(hdr + 4);
    ans.error.clear();
    *done_ok = true;
    return true;
  }
  return false;
}

}  // namespace

Answer http_get(const Lab& lab, const std::string& node, const std::string& ip, uint16_t port, Millis timeout) {
  Answer ans;
  Attempt a;
  if (!start_attempt(lab, node, ip, port, a)) {
    ans.error = std::string("socket/connect: ") + strerror(errno);
    return ans;
  }
  auto end = a.start + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(end - Clock::now()).count();
    if (left <= 0) {
      close(a.fd);
      ans.error = a.sent ? "timed out waiting for the response" : "timed out connecting";
      return ans;
    }
    pollfd pfd{a.fd, static_cast<short>(a.sent ? POLLIN : POLLOUT), 0};
    poll(&pfd, 1, static_cast<int>(left));
    bool ok = false;
    if (step_attempt(a, pfd.revents, ans, &ok)) return ans;
  }
}

long long ms_until_answer(const Lab& lab, const std::string& node, const std::string& ip, const std::string& want,
                          Clock::time_point t0, Millis limit, uint16_t port) {
  constexpr Millis kEvery(10), kAttemptTimeout(300);
  std::vector<Attempt> live;
  auto end = t0 + limit;
  auto next_start = Clock::now();
  long long result = -1;
  while (result < 0) {
    auto now = Clock::now();
    if (now >= end) break;
    if (now >= next_start) {
      Attempt a;
      if (start_attempt(lab, node, ip, port, a)) live.push_back(a);
      next_start = now + kEvery;
    }
    for (auto& a : live) {
      if (a.fd >= 0 && now - a.start > kAttemptTimeout) {
        close(a.fd);
        a.fd = -1;
      }
    }
    std::erase_if(live, [](const Attempt& a) { return a.fd < 0; });
    std::vector<pollfd> fds;
    for (auto& a : live) fds.push_back({a.fd, static_cast<short>(a.sent ? POLLIN : POLLOUT), 0});
    auto wait = std::chrono::duration_cast<Millis>(next_start - Clock::now()).count();
    poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(0, wait)));
    for (size_t i = 0; i < live.size() && result < 0; ++i) {
      if (!fds[i].revents) continue;
      Answer ans;
      bool ok = false;
      step_attempt(live[i], fds[i].revents, ans, &ok);
      if (ok && ans.status == 200 && ans.body == want)
        result = std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
    }
  }
  for (auto& a : live)
    if (a.fd >= 0) close(a.fd);
  return result;
}

}  // namespace itest::netns

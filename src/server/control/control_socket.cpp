#include "server/control/control_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace pillar::server {

namespace {
constexpr size_t kMaxRequest = 4096;
using Clock = std::chrono::steady_clock;
}  // namespace

ControlSocket::~ControlSocket() {
  if (fd_) ::unlink(path_.c_str());  // the clients' and the socket's descriptors close with their owners
}

bool ControlSocket::open(const std::string& path, std::string& error) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    error = "control socket path too long: " + path;
    return false;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  core::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    error = std::string("socket: ") + strerror(errno);
    return false;
  }
  ::unlink(path.c_str());  // a stale socket from a master that died
  mode_t old = ::umask(0077);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::umask(old);
  if (rc != 0 || ::listen(fd.get(), 16) != 0) {
    error = "control socket " + path + ": " + strerror(errno);
    return false;
  }
  fd_ = std::move(fd);
  path_ = path;
  return true;
}

void ControlSocket::poll_fds(std::vector<pollfd>& out) const {
  if (fd_ && clients_.size() < kMaxClients) out.push_back({fd_.get(), POLLIN, 0});
  for (const auto& c : clients_) out.push_back({c.fd.get(), static_cast<short>(c.answered ? POLLOUT : POLLIN), 0});
}

int64_t ControlSocket::timeout_ms(int64_t cap) const {
  auto now = Clock::now();
  for (const auto& c : clients_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count() + 1;
    cap = std::min<int64_t>(cap, std::max<int64_t>(left, 0));
  }
  return cap;
}

void ControlSocket::append_fds(std::vector<int>& out) const {
  if (fd_) out.push_back(fd_.get());
  for (const auto& c : clients_) out.push_back(c.fd.get());
}

void ControlSocket::answer(Client& c, const nlohmann::json& reply) {
  c.out = reply.dump() + "\n";
  c.answered = true;
  c.deadline = Clock::now() + std::chrono::milliseconds(kRequestDeadlineMs);  // as long to take the answer
}

bool ControlSocket::service(Client& c, short revents, const ControlCommands& cmds) {
  if (!c.answered && (revents & (POLLIN | POLLHUP | POLLERR))) {
    bool eof = false;
    char buf[512];
    for (;;) {
      ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        if (c.in.find('\n') != std::string::npos || c.in.size() >= kMaxRequest) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      eof = true;  // end of the request (a client may omit the newline) or an error
      break;
    }
    bool complete = c.in.find('\n') != std::string::npos || c.in.size() >= kMaxRequest;
    if (eof && c.in.empty()) return false;
    if (complete || eof) {
      std::string line = c.in.substr(0, c.in.find('\n'));
      if (!line.empty() && line.back() == '\r') line.pop_back();
      answer(c, cmds.run(line));  // a command may fork (reload): append_fds covers this client
    }
  }
  if (!c.answered && Clock::now() >= c.deadline) {
    // Best effort: one non-blocking send, so the client learns why.
    answer(c, {{"ok", false},
               {"error", "request not complete within " + std::to_string(kRequestDeadlineMs) + " ms"}});
    (void)!::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return false;
  }
  if (c.answered) {
    while (c.sent < c.out.size()) {
      ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return false;  // the client left
    }
    if (c.sent == c.out.size()) return false;
    if (Clock::now() >= c.deadline) return false;  // it stopped reading its answer
  }
  return true;
}

void ControlSocket::step(const std::vector<pollfd>& ready, const ControlCommands& cmds) {
  auto revents_of = [&](int fd) -> short {
    for (const auto& p : ready) {
      if (p.fd == fd) return p.revents;
    }
    return 0;
  };
  for (size_t i = 0; i < clients_.size();) {
    if (service(clients_[i], revents_of(clients_[i].fd.get()), cmds)) {
      ++i;
      continue;
    }
    clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  if (!fd_ || !(revents_of(fd_.get()) & POLLIN)) return;
  while (clients_.size() < kMaxClients) {
    core::Fd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!c) return;
    clients_.push_back(Client{});
    clients_.back().fd = std::move(c);
    clients_.back().deadline = Clock::now() + std::chrono::milliseconds(kRequestDeadlineMs);
    // Its request is usually there already: answer without another poll
    // round (listed in clients_ first, so a worker forked by it closes it).
    if (!service(clients_.back(), POLLIN, cmds)) clients_.pop_back();
  }
}

}  // namespace pillar::server

#include "server/control_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace pillar::server {

namespace {
constexpr size_t kMaxRequest = 4096;
constexpr int kRequestTimeoutMs = 1000;

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.emplace_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}
}  // namespace

void ControlCommands::add(const std::string& name, const std::string& help, Handler fn) {
  commands_[name] = Command{help, std::move(fn)};
}

nlohmann::json ControlCommands::run(std::string_view line) const {
  std::vector<std::string> w = words(line);
  if (w.empty() || w[0] == "help") {
    nlohmann::json list = nlohmann::json::object();
    for (const auto& [name, c] : commands_) list[name] = c.help;
    return {{"ok", true}, {"result", list}};
  }
  auto it = commands_.find(w[0]);
  if (it == commands_.end()) return {{"ok", false}, {"error", "unknown command '" + w[0] + "'; try help"}};
  try {
    std::vector<std::string> args(w.begin() + 1, w.end());
    return {{"ok", true}, {"result", it->second.fn(args)}};
  } catch (const std::exception& e) {
    return {{"ok", false}, {"error", e.what()}};
  }
}

ControlSocket::~ControlSocket() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

bool ControlSocket::open(const std::string& path, std::string& error) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    error = "control socket path too long: " + path;
    return false;
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    error = std::string("socket: ") + strerror(errno);
    return false;
  }
  ::unlink(path.c_str());  // a stale socket from a master that died
  mode_t old = ::umask(0077);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::umask(old);
  if (rc != 0 || ::listen(fd, 16) != 0) {
    error = "control socket " + path + ": " + strerror(errno);
    ::close(fd);
    return false;
  }
  fd_ = fd;
  path_ = path;
  return true;
}

void ControlSocket::serve_one(const ControlCommands& cmds) {
  int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return;
  timeval tv{1, 0};  // a client that stops reading cannot hold the master
  ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[512];
  pollfd p{c, POLLIN, 0};
  while (req.find('\n') == std::string::npos && req.size() < kMaxRequest) {
    if (::poll(&p, 1, kRequestTimeoutMs) <= 0) break;
    ssize_t n = ::read(c, buf, sizeof buf);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  std::string line = req.substr(0, req.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  client_fd_ = c;
  std::string out = cmds.run(line).dump() + "\n";
  client_fd_ = -1;
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(c, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(c);
}

}  // namespace pillar::server

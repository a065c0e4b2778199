#include "ctl/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/fd.h"

namespace pillar::ctl {

bool send_command(const std::string& socket_path, const std::string& line, nlohmann::json& reply, std::string& error,
                  int timeout_ms) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sa.sun_path) {
    error = "control socket path too long: " + socket_path;
    return false;
  }
  std::memcpy(sa.sun_path, socket_path.c_str(), socket_path.size() + 1);
  core::Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int fd = sock.get();
  if (!sock || ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    error = "cannot connect to " + socket_path + ": " + strerror(errno) +
            " (is pillar running with this PillarControlSocket?)";
    return false;
  }
  std::string req = line + "\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    error = std::string("sending the command: ") + strerror(errno);
    return false;
  }
  std::string data;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r <= 0) {
      error = "no answer from the server within " + std::to_string(timeout_ms) + " ms";
      return false;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.back() == '\n') break;  // one JSON line per answer
  }
  sock.reset();
  reply = nlohmann::json::parse(data, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    error = "the server's answer is not JSON";
    return false;
  }
  return true;
}

std::string render(const std::string& command, const nlohmann::json& result) {
  std::string out;
  if (command == "workers" && result.is_array()) {
    out += fmt::format("{:>8} {:>4} {:>4} {:<10} {:>6} {:>6} {:>10} {:>10} {:>10}\n", "PID", "ROW", "GEN", "STATE",
                       "OPEN", "SLOTS", "CONNS", "REQUESTS", "RSS_KB");
    for (const auto& w : result) {
      out += fmt::format("{:>8} {:>4} {:>4} {:<10} {:>6} {:>6} {:>10} {:>10} {:>10}\n", w.value("pid", 0),
                         w.value("row", 0), w.value("generation", 0), w.value("state", std::string()),
                         w.value("connections_open", 0), w.value("slots", 0), w.value("connections", 0),
                         w.value("requests", 0), w.value("rss_anon_kb", 0));
    }
    return out;
  }
  if (command == "vrrp" && result.is_array()) {
    out += fmt::format("{:<16} {:<10} {:>4} {:<7} {:>4} {:<16} {:>11}\n", "INSTANCE", "INTERFACE", "VRID", "STATE",
                       "PRIO", "MASTER", "TRANSITIONS");
    for (const auto& v : result) {
      out += fmt::format("{:<16} {:<10} {:>4} {:<7} {:>4} {:<16} {:>11}\n", v.value("name", std::string()),
                         v.value("interface", std::string()), v.value("vrid", 0), v.value("state", std::string()),
                         v.value("priority", 0), v.value("master", std::string()), v.value("transitions", 0));
    }
    return out;
  }
  // `balancer [NAME]`: each balancer with its method's name, then a row per
  // member; its status letters are Apache's (E: in error, or taken out by
  // passive checks for its retry= period).
  if (command == "balancer" && result.is_array()) {
    auto text = [](const nlohmann::json& j, const char* key) {
      auto it = j.find(key);
      if (it == j.end()) return std::string("-");
      return it->is_string() ? it->get<std::string>() : it->dump();
    };
    for (const auto& b : result) {
      out += fmt::format("balancer://{} lbmethod={}\n", text(b, "balancer"), text(b, "lbmethod"));
      out += fmt::format("  {:<40} {:<12} {:>6} {:<6} {:>6} {:>10} {:>14}\n", "MEMBER", "ROUTE", "FACTOR", "STATUS",
                         "BUSY", "REQUESTS", "TRAFFIC_BYTES");
      if (!b.contains("members")) continue;
      for (const auto& m : b["members"]) {
        std::string route = text(m, "route");
        out += fmt::format("  {:<40} {:<12} {:>6} {:<6} {:>6} {:>10} {:>14}\n", text(m, "url"), route.empty() ? "-" : route,
                           text(m, "loadfactor"), text(m, "status"), text(m, "busy"), text(m, "requests"),
                           text(m, "traffic_bytes"));
      }
    }
    return out;
  }
  if (result.is_object()) {
    for (const auto& [k, v] : result.items()) {
      out += k + ": " + (v.is_string() ? v.get<std::string>() : v.dump()) + "\n";
    }
    return out;
  }
  return result.dump(2) + "\n";
}

}  // namespace pillar::ctl

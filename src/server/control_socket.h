// The master's control socket (PillarControlSocket): a unix stream socket
// speaking one request per connection, "COMMAND [ARG...]\n", answered with
// one JSON object {"ok":true,"result":...} or {"ok":false,"error":"..."}.
// Subsystems register their commands in ControlCommands (the balancer, the
// cache and VRRP will add theirs); `pillarctl` is the client.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pillar::server {

class ControlCommands {
 public:
  // Throws std::runtime_error for a refused request: it becomes {"ok":false}.
  using Handler = std::function<nlohmann::json(const std::vector<std::string>& args)>;
  void add(const std::string& name, const std::string& help, Handler fn);
  nlohmann::json run(std::string_view line) const;

 private:
  struct Command {
    std::string help;
    Handler fn;
  };
  std::map<std::string, Command> commands_;
};

class ControlSocket {
 public:
  ControlSocket() = default;
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Replaces a stale socket file; the socket is mode 0600 (root-only when
  // the master runs as root: it can reload and, later, drain pool members).
  bool open(const std::string& path, std::string& error);
  int fd() const { return fd_; }
  // Accepts one client and answers it; bounded (1 s to send the request).
  void serve_one(const ControlCommands& cmds);
  // The client being answered (-1 outside serve_one): a worker forked by a
  // command (reload) must not keep it open.
  int client_fd() const { return client_fd_; }

 private:
  int fd_ = -1;
  int client_fd_ = -1;
  std::string path_;
};

}  // namespace pillar::server

// The master's control socket (PillarControlSocket): a unix stream socket
// speaking one request per connection, "COMMAND [ARG...]\n", answered with
// one JSON object {"ok":true,"result":...} or {"ok":false,"error":"..."}.
// The commands are ControlCommands' (control_commands.h); `pillarctl` is
// the client.
#pragma once
#include <poll.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/fd.h"
#include "server/control/control_commands.h"

namespace pillar::server {

// Serves its clients from the master's poll loop without ever blocking it:
// every socket is non-blocking, a client has kRequestDeadline to send its
// line and as long again to take the answer, and is dropped past it (a
// client that dribbles bytes cannot hold the master, which must keep
// reaping and replacing workers). At most kMaxClients are served at once;
// more wait in the listen backlog.
class ControlSocket {
 public:
  static constexpr int kRequestDeadlineMs = 2000;
  static constexpr size_t kMaxClients = 16;

  ControlSocket() = default;
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Replaces a stale socket file; the socket is mode 0600 (root-only when
  // the master runs as root: it can reload and, later, drain pool members).
  bool open(const std::string& path, std::string& error);
  int fd() const { return fd_.get(); }
  // Appends the listening socket and every client to the master's poll set.
  void poll_fds(std::vector<pollfd>& out) const;
  // After poll: accepts, reads, answers and writes what is ready (matched
  // by fd in `ready`), and drops clients past their deadline.
  void step(const std::vector<pollfd>& ready, const ControlCommands& cmds);
  // Milliseconds until the nearest client deadline, at most `cap`.
  int64_t timeout_ms(int64_t cap) const;
  // Every descriptor of the socket and its clients: a process forked by the
  // master (a worker started by `reload`) must close them.
  void append_fds(std::vector<int>& out) const;

 private:
  struct Client {
    core::Fd fd;
    std::string in, out;
    size_t sent = 0;
    bool answered = false;
    std::chrono::steady_clock::time_point deadline;
  };
  // False when the client is done (answered and written, or gone).
  bool service(Client& c, short revents, const ControlCommands& cmds);
  void answer(Client& c, const nlohmann::json& reply);

  core::Fd fd_;
  std::string path_;  // unlinked when the socket closes
  std::vector<Client> clients_;
};

}  // namespace pillar::server

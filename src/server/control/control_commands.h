// The table of `pillarctl` commands the master answers: each subsystem adds
// its group (status_commands, balancer_commands, cache_commands,
// vrrp_commands), and run() dispatches one request line,
// "COMMAND [ARG...]", to {"ok":true,"result":...} or {"ok":false,"error":...}.
// No sockets here (control_socket.h serves the table), so the table and
// every command group are unit-tested directly.
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
  // "help" or an empty line: every command with its help text.
  nlohmann::json run(std::string_view line) const;

 private:
  struct Command {
    std::string help;
    Handler fn;
  };
  std::map<std::string, Command> commands_;
};

// A request line split at spaces and tabs.
std::vector<std::string> command_words(std::string_view line);

}  // namespace pillar::server

// pillarctl's side of the control socket: send one command, read the JSON
// answer, and render it for people.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace pillar::ctl {

// Sends `line` to the master at `socket_path`. On failure returns false with
// `error` (e.g. "cannot connect to ...: is pillar running with PillarControlSocket?").
bool send_command(const std::string& socket_path, const std::string& line, nlohmann::json& reply, std::string& error,
                  int timeout_ms = 5000);

// Human-readable form of a reply's result for `command`.
std::string render(const std::string& command, const nlohmann::json& result);

}  // namespace pillar::ctl

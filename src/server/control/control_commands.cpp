#include "server/control/control_commands.h"

#include <stdexcept>

namespace pillar::server {

std::vector<std::string> command_words(std::string_view line) {
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

void ControlCommands::add(const std::string& name, const std::string& help, Handler fn) {
  commands_[name] = Command{help, std::move(fn)};
}

nlohmann::json ControlCommands::run(std::string_view line) const {
  std::vector<std::string> w = command_words(line);
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

}  // namespace pillar::server

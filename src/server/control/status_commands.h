// `pillarctl status`, `workers` and `reload`: the server as the master sees
// it (its supervisor's workers and their scoreboard rows) and the graceful
// restart it can be asked for.
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "config/model.h"
#include "server/control/control_commands.h"
#include "server/process/supervisor.h"

namespace pillar::server {

struct StatusSource {
  const Supervisor* workers = nullptr;
  std::function<const config::ProcessConfig&()> process;  // the running configuration's
  std::string config_name;                                 // the file, or "(embedded default)"
  int64_t started_ms = 0;                                  // wall clock
  // Rereads the configuration into a new generation; throws with the
  // reason when it is refused (the old one keeps serving).
  std::function<void()> reload;
};

nlohmann::json status_json(const StatusSource& s);
nlohmann::json workers_json(const StatusSource& s);

void add_status_commands(ControlCommands& table, StatusSource source);

}  // namespace pillar::server

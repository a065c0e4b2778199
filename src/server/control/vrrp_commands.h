// `pillarctl vrrp`: the VRRP instances as the VRRP process publishes them in
// shared memory (state, priority, master, transitions, packets).
#pragma once
#include <nlohmann/json.hpp>

#include "core/shm/vrrp_status.h"
#include "server/control/control_commands.h"

namespace pillar::server {

// One entry per instance in use; an empty list without a table.
nlohmann::json vrrp_json(const core::shm::VrrpStatusTable* status);

void add_vrrp_commands(ControlCommands& table, const core::shm::VrrpStatusTable* status);

}  // namespace pillar::server

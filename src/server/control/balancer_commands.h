// `pillarctl balancer ...`: balancers and their members' states; a member's
// drain, undrain, enable, disable and weight N (MEMBER is its URL or route),
// applied to every worker at once (the states are in shared memory) and
// kept across graceful reloads; `NAME add URL [k=v ...]` and `NAME remove
// URL`, which the master applies as a new generation (added_members.h).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "proxy/balancer_runtime.h"
#include "server/control/control_commands.h"

namespace pillar::server {

struct BalancerCommandSource {
  // The running generation's balancers.
  std::function<const std::vector<std::unique_ptr<proxy::BalancerRuntime>>&()> balancers;
  // NAME add|remove URL [k=v ...]: throws with the reason when refused.
  std::function<nlohmann::json(const std::vector<std::string>& args)> change_members;
};

void add_balancer_commands(ControlCommands& table, BalancerCommandSource source);

// A member's status flags, one letter each (D S H E N I), "Ok" for none.
std::string member_flags_text(uint32_t flags);

}  // namespace pillar::server

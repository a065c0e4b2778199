#include "server/control/vrrp_commands.h"

#include <arpa/inet.h>

#include "ha/vrrp_state.h"

namespace pillar::server {

nlohmann::json vrrp_json(const core::shm::VrrpStatusTable* status) {
  nlohmann::json list = nlohmann::json::array();
  if (!status) return list;
  for (const auto& e : status->entries) {
    if (!e.used.load()) continue;
    in_addr m{e.master_addr.load()};
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &m, ip, sizeof ip);
    uint64_t dropped = 0;
    for (const auto& d : e.dropped) dropped += d.load();
    list.push_back({{"name", e.name},
                    {"interface", e.interface},
                    {"vrid", e.vrid.load()},
                    {"state", ha::to_string(static_cast<ha::VrrpState>(e.state.load()))},
                    {"priority", e.priority.load()},
                    {"master", ip},
                    {"transitions", e.transitions.load()},
                    {"adverts_sent", e.adverts_sent.load()},
                    {"adverts_received", e.adverts_received.load()},
                    {"packets_dropped", dropped},
                    {"last_transition_ms", e.last_transition_ms.load()}});
  }
  return list;
}

void add_vrrp_commands(ControlCommands& table, const core::shm::VrrpStatusTable* status) {
  table.add("vrrp", "VRRP instances: state, priority, master, transitions, packets",
            [status](const std::vector<std::string>&) { return vrrp_json(status); });
}

}  // namespace pillar::server

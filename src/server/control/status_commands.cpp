#include "server/control/status_commands.h"

#include <unistd.h>

#include "core/clock.h"

namespace pillar::server {

nlohmann::json status_json(const StatusSource& s) {
  const auto& board = s.workers->board();
  const auto& hdr = board.header();
  const auto& p = s.process();
  uint64_t requests = hdr.retired_requests.load(), bytes = hdr.retired_bytes.load();
  uint32_t workers = 0, draining = 0;
  for (const auto& c : s.workers->children()) {
    const auto& row = board.row(c.row);
    requests += row.requests.load();
    bytes += row.bytes.load();
    (c.generation == s.workers->generation() && !c.retiring ? workers : draining) += 1;
  }
  return {{"version", PILLAR_VERSION_STRING},
          {"pid", getpid()},
          {"config", s.config_name},
          {"generation", s.workers->generation()},
          {"uptime_seconds", (core::wall_ms() - s.started_ms) / 1000},
          {"workers", workers},
          {"workers_draining", draining},
          {"connections", hdr.conns_in_use.load()},
          {"max_request_workers", p.max_request_workers},
          {"threads_per_child", p.threads_per_child},
          {"requests", requests},
          {"bytes_sent", bytes},
          {"crashes", hdr.crashes.load()},
          {"recycles", hdr.recycles.load()}};
}

nlohmann::json workers_json(const StatusSource& s) {
  static constexpr const char* kStates[] = {"free", "starting", "running", "recycling", "draining"};
  const auto& board = s.workers->board();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : s.workers->children()) {
    const auto& row = board.row(c.row);
    uint8_t st = row.state.load();
    list.push_back({{"pid", c.pid},
                    {"row", c.row},
                    {"generation", c.generation},
                    {"state", st < 5 ? kStates[st] : "?"},
                    {"retiring", c.retiring},
                    {"connections_open", row.active.load()},
                    {"slots", row.slots.load()},
                    {"connections", row.connections.load()},
                    {"requests", row.requests.load()},
                    {"bytes_sent", row.bytes.load()},
                    {"rss_anon_kb", row.rss_anon_kb.load()},
                    {"started_ms", row.started_ms.load()}});
  }
  return list;
}

void add_status_commands(ControlCommands& table, StatusSource source) {
  table.add("status", "the server: version, generation, workers, connections, totals",
            [source](const std::vector<std::string>&) { return status_json(source); });
  table.add("workers", "one entry per worker process (its scoreboard row)",
            [source](const std::vector<std::string>&) { return workers_json(source); });
  table.add("reload", "graceful restart: reread and check the configuration, new generation, old one drains",
            [source](const std::vector<std::string>&) {
              source.reload();
              return nlohmann::json{{"generation", source.workers->generation()}};
            });
}

}  // namespace pillar::server

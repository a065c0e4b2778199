// Unit tests for src/server/control/status_commands.cpp: status, workers and
// reload through the command table, over a scoreboard of the test's own and
// a supervisor that has forked nothing.
#include "server/control/status_commands.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "command_answers.h"
#include "core/shm/shared_memory.h"

namespace pillar::server {
namespace {

struct StatusTable {
  core::shm::SharedMemory shm;
  core::shm::Scoreboard board;
  std::unique_ptr<Supervisor> workers;
  config::ProcessConfig process;
  ControlCommands table;
  int reloads = 0;
  bool refuse_reload = false;

  StatusTable() {
    std::string err;
    EXPECT_TRUE(shm.create(core::shm::Scoreboard::bytes_needed(4, 8) + 4096, err)) << err;
    EXPECT_TRUE(board.create(shm, 4, 8));
    board.header().conns_in_use.store(3);
    board.header().retired_requests.store(40);
    board.header().crashes.store(2);
    workers = std::make_unique<Supervisor>(board, Supervisor::Holdings{}, [] { return WorkerSpec{}; });
    process.max_request_workers = 77;
    process.threads_per_child = 8;
    StatusSource s;
    s.workers = workers.get();
    s.process = [this]() -> const config::ProcessConfig& { return process; };
    s.config_name = "/etc/pillar/pillar.conf";
    s.started_ms = 0;
    s.reload = [this] {
      if (refuse_reload) throw std::runtime_error("reload refused, old configuration still serving: bad line 3");
      ++reloads;
    };
    add_status_commands(table, std::move(s));
  }
};

TEST(StatusCommands, StatusSumsTheScoreboard) {
  StatusTable t;
  auto r = testing::answered(t.table, "status");
  EXPECT_EQ(r["config"], "/etc/pillar/pillar.conf");
  EXPECT_EQ(r["generation"], 0);
  EXPECT_EQ(r["workers"], 0);
  EXPECT_EQ(r["connections"], 3);
  EXPECT_EQ(r["requests"], 40);  // exited workers' totals, no live row yet
  EXPECT_EQ(r["crashes"], 2);
  EXPECT_EQ(r["max_request_workers"], 77);
  EXPECT_EQ(testing::answered(t.table, "workers"), nlohmann::json::array());
}

TEST(StatusCommands, ReloadAnswersOrRefusesWithTheReason) {
  StatusTable t;
  EXPECT_EQ(testing::answered(t.table, "reload")["generation"], 0);
  EXPECT_EQ(t.reloads, 1);
  t.refuse_reload = true;
  EXPECT_NE(testing::refused(t.table, "reload").find("bad line 3"), std::string::npos);
  EXPECT_EQ(t.reloads, 1);
}

TEST(StatusCommands, UnknownCommandsAndHelpBesideThem) {
  StatusTable t;
  EXPECT_NE(testing::refused(t.table, "stats").find("unknown command 'stats'"), std::string::npos);
  auto help = testing::answered(t.table, "help");
  for (const char* name : {"status", "workers", "reload"}) EXPECT_TRUE(help.contains(name)) << name;
}

}  // namespace
}  // namespace pillar::server

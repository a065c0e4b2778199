// Unit tests for src/server/control/vrrp_commands.cpp: what `pillarctl vrrp`
// shows of the status table the VRRP process publishes.
#include "server/control/vrrp_commands.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace pillar::server {
namespace {

TEST(VrrpCommands, NoTableNoInstances) {
  EXPECT_EQ(vrrp_json(nullptr), nlohmann::json::array());
  ControlCommands table;
  add_vrrp_commands(table, nullptr);
  EXPECT_EQ(table.run("vrrp")["result"], nlohmann::json::array());
}

TEST(VrrpCommands, ListsTheEntriesInUse) {
  auto status = std::make_unique<core::shm::VrrpStatusTable>();
  auto& e = status->entries[1];  // entry 0 unused: not listed
  std::strncpy(e.name, "web", sizeof e.name - 1);
  std::strncpy(e.interface, "eth0", sizeof e.interface - 1);
  e.vrid.store(51);
  e.priority.store(150);
  e.master_addr.store(inet_addr("192.0.2.7"));
  e.transitions.store(3);
  e.dropped[0].store(2);
  e.dropped[1].store(5);
  e.used.store(true);
  ControlCommands table;
  add_vrrp_commands(table, status.get());
  auto r = table.run("vrrp");
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  ASSERT_EQ(r["result"].size(), 1u) << r.dump();
  const auto& v = r["result"][0];
  EXPECT_EQ(v["name"], "web");
  EXPECT_EQ(v["interface"], "eth0");
  EXPECT_EQ(v["vrid"], 51);
  EXPECT_EQ(v["priority"], 150);
  EXPECT_EQ(v["master"], "192.0.2.7");
  EXPECT_EQ(v["transitions"], 3);
  EXPECT_EQ(v["packets_dropped"], 7);
}

}  // namespace
}  // namespace pillar::server

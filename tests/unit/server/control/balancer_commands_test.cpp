// Unit tests for src/server/control/balancer_commands.cpp: `pillarctl
// balancer` on a private balancer block (no master, no shared memory):
// listing, member state changes and the answers to wrong arguments.
#include "server/control/balancer_commands.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "config/directives.h"

#include "command_answers.h"

namespace pillar::server {
namespace {

struct BalancerTable {
  config::BalancerConfig cfg;
  std::vector<std::unique_ptr<proxy::BalancerRuntime>> balancers;
  std::vector<std::vector<std::string>> changes;  // what reached change_members
  ControlCommands table;

  BalancerTable() {
    cfg.name = "app";
    for (const char* spec : {"http://127.0.0.1:8081 route=a", "http://127.0.0.1:8082 route=b"}) {
      std::string s = spec, url = s.substr(0, s.find(' ')), path, why;
      config::BalancerMemberConfig m;
      EXPECT_TRUE(config::parse_member_url(url, m, path, why)) << why;
      m.url = url;
      EXPECT_TRUE(config::apply_member_param(s.substr(s.find(' ') + 1), m, why)) << why;
      cfg.members.push_back(m);
    }
    std::string err;
    balancers.push_back(proxy::BalancerRuntime::build(cfg, nullptr, err));
    EXPECT_TRUE(balancers.back()) << err;
    add_balancer_commands(table, {[this]() -> const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& { return balancers; },
                                  [this](const std::vector<std::string>& args) {
                                    changes.push_back(args);
                                    return nlohmann::json{{"changed", true}};
                                  }});
  }
  nlohmann::json ok(const std::string& line) { return testing::answered(table, line); }
  std::string refused(const std::string& line) { return testing::refused(table, line); }
};

TEST(BalancerCommands, ListsBalancersAndMembers) {
  BalancerTable t;
  auto all = t.ok("balancer");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["balancer"], "app");
  ASSERT_EQ(all[0]["members"].size(), 2u);
  EXPECT_EQ(all[0]["members"][1]["url"], "http://127.0.0.1:8082");
  EXPECT_EQ(all[0]["members"][1]["route"], "b");
  EXPECT_EQ(all[0]["members"][1]["status"], "Ok");
  EXPECT_EQ(t.ok("balancer app"), all);
}

TEST(BalancerCommands, ChangesAMemberByUrlOrRoute) {
  BalancerTable t;
  EXPECT_EQ(t.ok("balancer app b drain")["status"], "N");
  EXPECT_EQ(t.ok("balancer app http://127.0.0.1:8082 disable")["status"], "DN");
  EXPECT_EQ(t.ok("balancer app b enable")["status"], "Ok");
  EXPECT_EQ(t.ok("balancer app a weight 7")["loadfactor"], 7);
  EXPECT_EQ(t.balancers[0]->span()[0].lbfactor, 7u);  // in the member state every worker reads
}

TEST(BalancerCommands, WrongArgumentsAreRefusedWithTheReason) {
  BalancerTable t;
  EXPECT_NE(t.refused("balancer web").find("no balancer named web"), std::string::npos);
  EXPECT_NE(t.refused("balancer web a drain").find("no balancer named web"), std::string::npos);
  EXPECT_NE(t.refused("balancer app a").find("say what to do"), std::string::npos);
  EXPECT_NE(t.refused("balancer app z drain").find("has no member z"), std::string::npos);
  EXPECT_NE(t.refused("balancer app a explode").find("unknown action 'explode'"), std::string::npos);
  EXPECT_NE(t.refused("balancer app a weight").find("needs a value"), std::string::npos);
  EXPECT_NE(t.refused("balancer app a weight 101").find("use 1 to 100"), std::string::npos);
  EXPECT_EQ(t.balancers[0]->span()[0].status_flags.load(), 0u) << "a refused change changed nothing";
}

TEST(BalancerCommands, AddAndRemoveGoToTheMaster) {
  BalancerTable t;
  EXPECT_EQ(t.ok("balancer app add http://127.0.0.1:9 route=c")["changed"], true);
  t.ok("balancer app remove http://127.0.0.1:9");
  ASSERT_EQ(t.changes.size(), 2u);
  EXPECT_EQ(t.changes[0], (std::vector<std::string>{"app", "add", "http://127.0.0.1:9", "route=c"}));
  EXPECT_EQ(t.changes[1][1], "remove");
}

TEST(MemberFlagsText, AsBalancerManagerShowsThem) {
  EXPECT_EQ(member_flags_text(0), "Ok");
  EXPECT_EQ(member_flags_text(proxy::kStatusDisabled | proxy::kStatusDrain), "DN");
  EXPECT_EQ(member_flags_text(proxy::kStatusError | proxy::kStatusHotStandby), "HE");
}

}  // namespace
}  // namespace pillar::server

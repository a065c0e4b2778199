// Unit tests for src/server/process/added_members.cpp: members added at run
// time join the configuration's, refuse what pillarctl must refuse, and
// round-trip through the ProxyStateFile's "add" lines.
#include "server/process/added_members.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include "config/directives.h"

namespace pillar::server {
namespace {

config::ServerConfig with_balancer() {
  config::ServerConfig cfg;
  config::BalancerConfig b;
  b.name = "app";
  config::BalancerMemberConfig m;
  std::string path, why;
  EXPECT_TRUE(config::parse_member_url("http://127.0.0.1:8081", m, path, why)) << why;
  m.url = "http://127.0.0.1:8081";
  b.members.push_back(m);
  cfg.balancers.push_back(b);
  return cfg;
}

std::vector<std::string> urls(const config::ServerConfig& cfg) {
  std::vector<std::string> out;
  for (const auto& m : cfg.balancers[0].members) out.push_back(m.url);
  return out;
}

TEST(AddedMembers, JoinTheConfigurationAndLeaveItAgain) {
  auto cfg = with_balancer();
  AddedMembers added;
  added.add(cfg, "app", "http://127.0.0.1:9", {"route=c", "loadfactor=3"});
  std::string error;
  ASSERT_TRUE(added.apply(cfg, error)) << error;
  EXPECT_EQ(urls(cfg), (std::vector<std::string>{"http://127.0.0.1:8081", "http://127.0.0.1:9"}));
  EXPECT_EQ(cfg.balancers[0].members[1].loadfactor, 3u);
  ASSERT_TRUE(added.apply(cfg, error)) << "applied twice: still one copy";
  EXPECT_EQ(cfg.balancers[0].members.size(), 2u);
  added.remove_from(cfg);
  EXPECT_EQ(urls(cfg), (std::vector<std::string>{"http://127.0.0.1:8081"}));
}

TEST(AddedMembers, RefusesWhatPillarctlMustRefuse) {
  auto cfg = with_balancer();
  AddedMembers added;
  auto why = [&](auto fn) {
    try {
      fn();
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(why([&] { added.add(cfg, "web", "http://h:1", {}); }).find("no balancer://web"), std::string::npos);
  EXPECT_NE(why([&] { added.add(cfg, "app", "http://127.0.0.1:8081", {}); }).find("already a member"),
            std::string::npos);
  EXPECT_NE(why([&] { added.remove(cfg, "app", "http://127.0.0.1:8081"); }).find("defined in the configuration"),
            std::string::npos);
  EXPECT_NE(why([&] { added.remove(cfg, "app", "http://h:2"); }).find("has no member"), std::string::npos);
  EXPECT_TRUE(added.list().empty());
  // A parameter the configuration would refuse fails the build of the runtime, not silently.
  added.add(cfg, "app", "http://127.0.0.1:10", {"nosuch=1"});
  std::string error;
  EXPECT_FALSE(added.apply(cfg, error));
  EXPECT_FALSE(error.empty());
}

TEST(AddedMembers, BalancerGoneTakesItsMembers) {
  auto cfg = with_balancer();
  AddedMembers added;
  added.add(cfg, "app", "http://127.0.0.1:9", {});
  config::ServerConfig without;  // the balancer left the configuration
  std::string error;
  EXPECT_TRUE(added.apply(without, error)) << error;
  EXPECT_TRUE(without.balancers.empty());
}

TEST(AddedMembers, RoundTripThroughTheStateFile) {
  auto cfg = with_balancer();
  AddedMembers added;
  added.add(cfg, "app", "http://127.0.0.1:9", {"route=c"});
  added.add(cfg, "app", "http://127.0.0.1:10", {});
  const std::string text = added.render();
  EXPECT_EQ(text, "add app http://127.0.0.1:9 route=c\nadd app http://127.0.0.1:10\n");
  std::string path = ::testing::TempDir() + "added_members_" + std::to_string(getpid());
  {
    std::ofstream out(path);
    out << "# pillar balancer state\napp http://127.0.0.1:8081 N 1\n" << text;
  }
  AddedMembers loaded;
  loaded.load(path);
  ::unlink(path.c_str());
  EXPECT_EQ(loaded.render(), text);
  AddedMembers none;
  none.load(path);  // gone: nothing
  EXPECT_TRUE(none.list().empty());
}

}  // namespace
}  // namespace pillar::server

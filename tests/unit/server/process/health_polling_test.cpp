// Unit tests for src/server/process/health_polling.cpp: which members the
// master checks (those with hcmethod= that are still configured) and with
// what settings.
#include "server/process/health_polling.h"

#include <gtest/gtest.h>

#include "config/directives.h"

namespace pillar::server {
namespace {

config::BalancerMemberConfig member(const std::string& url, const std::string& hc_method) {
  config::BalancerMemberConfig m;
  std::string path, why;
  EXPECT_TRUE(config::parse_member_url(url, m, path, why)) << why;
  m.url = url;
  m.hc_method = hc_method;
  m.hc_uri = "/health";
  m.hc_interval = config::Millis(500);
  m.hc_passes = 2;
  m.hc_fails = 3;
  return m;
}

TEST(HealthTargets, OneTargetPerCheckedMember) {
  config::BalancerConfig cfg;
  cfg.name = "app";
  cfg.members = {member("http://127.0.0.1:8081", "GET"), member("http://127.0.0.1:8082", ""),
                 member("http://127.0.0.1:8083", "TCP")};
  std::string err;
  std::vector<std::unique_ptr<proxy::BalancerRuntime>> balancers;
  balancers.push_back(proxy::BalancerRuntime::build(cfg, nullptr, err));
  ASSERT_TRUE(balancers.back()) << err;
  auto targets = health_targets(balancers);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].name, "http://127.0.0.1:8081");
  EXPECT_EQ(targets[0].method, "GET");
  EXPECT_EQ(targets[0].uri, "/health");
  EXPECT_EQ(targets[0].interval_ms, 500u);
  EXPECT_EQ(targets[0].passes, 2u);
  EXPECT_EQ(targets[0].fails, 3u);
  EXPECT_EQ(targets[0].member, &balancers[0]->span()[0]) << "the verdict lands in the shared member state";
  EXPECT_EQ(targets[1].name, "http://127.0.0.1:8083");
  // A slot whose member left the configuration is not checked.
  balancers[0]->cfg_index[2] = -1;
  EXPECT_EQ(health_targets(balancers).size(), 1u);
}

TEST(HealthPolling, NoTargetsLeaveTheWaitAlone) {
  HealthPolling hp;
  hp.refresh({});
  EXPECT_EQ(hp.wait_ms(1000), 1000);
  std::vector<pollfd> fds;
  hp.poll_fds(fds);
  EXPECT_TRUE(fds.empty());
}

}  // namespace
}  // namespace pillar::server

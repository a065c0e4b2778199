// Run-time control of balancer members: pillarctl changes reach every worker
// at once, survive a graceful reload, and (with ProxyStateFile) a restart.
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

// Which member answered each of n requests ("a" or "b"), over fresh connections.
std::map<std::string, int> spread(uint16_t port, int n) {
  std::map<std::string, int> m;
  for (int i = 0; i < n; ++i) ++m[curl_get("http://127.0.0.1:" + std::to_string(port) + "/app/").body];
  return m;
}

TEST(ProxyCtl, DrainReachesEveryWorkerAndSurvivesReloadAndRestart) {
  TempTree t;
  t.write("a/index.html", "a");
  t.write("b/index.html", "b");
  START_SERVER(ma, basic_config(t.path("a"), "StartServers 1\nPidFile " + t.path("a.pid") + "\n"));
  START_SERVER(mb, basic_config(t.path("b"), "StartServers 1\nPidFile " + t.path("b.pid") + "\n"));
  std::string sock = t.path("ctl.sock");
  std::string conf = "Listen 127.0.0.1:0\nServerName localhost\nStartServers 3\nPidFile " + t.path("f.pid") +
                     "\nPillarControlSocket " + sock + "\nProxyStateFile " + t.path("state") +
                     "\n<Proxy balancer://app>\nBalancerMember http://127.0.0.1:" + std::to_string(ma.port()) +
                     " route=a\nBalancerMember http://127.0.0.1:" + std::to_string(mb.port()) +
                     " route=b\n</Proxy>\nProxyPass /app/ balancer://app/\n";
  uint16_t port;
  {
    START_SERVER(front, conf);
    port = front.port();
    auto before = spread(port, 20);
    EXPECT_EQ(before["a"], 10);
    EXPECT_EQ(before["b"], 10);
    EXPECT_NE(pillarctl(sock, "balancer app b drain").find("status: N"), std::string::npos);
    auto drained = spread(port, 30);  // three workers: every one of them must see it
    EXPECT_EQ(drained["a"], 30) << "b got " << drained["b"];
    // A graceful reload keeps the run-time state.
    ASSERT_EQ(kill(front.pid(), SIGUSR1), 0);
    ASSERT_TRUE(eventually([&] { return pillarctl(sock, "status").find("generation: 1") != std::string::npos; }, 5s));
    EXPECT_EQ(spread(port, 10)["a"], 10);
    // The state file has it within a maintenance tick.
    ASSERT_TRUE(eventually([&] { return t.read("state").find(" N ") != std::string::npos; }, 3s)) << t.read("state");
    EXPECT_EQ(front.stop(), 0);
  }
  // A full restart restores it from ProxyStateFile.
  START_SERVER(again, conf);
  EXPECT_NE(pillarctl(sock, "-j balancer app").find("\"N\""), std::string::npos);
  EXPECT_EQ(spread(again.port(), 10)["a"], 10);
  EXPECT_NE(pillarctl(sock, "balancer app b enable").find("status: Ok"), std::string::npos);
  auto back = spread(again.port(), 10);
  EXPECT_EQ(back["b"], 5);
  EXPECT_NE(pillarctl(sock, "balancer app nobody drain").find("has no member"), std::string::npos);

  // Members added at run time join every worker (a new generation), persist
  // in the state file, and leave when removed; configured ones cannot be removed.
  std::string extra = "http://localhost:" + std::to_string(mb.port());  // a second member URL for b's server
  EXPECT_NE(pillarctl(sock, "balancer app add " + extra + " route=b2").find("action: add"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return pillarctl(sock, "status").find("workers_draining: 0") != std::string::npos; }, 10s));
  auto three = spread(again.port(), 30);
  EXPECT_EQ(three["a"], 10);
  EXPECT_EQ(three["b"], 20);
  ASSERT_TRUE(eventually([&] { return t.read("state").find("add app " + extra) != std::string::npos; }, 3s));
  EXPECT_NE(pillarctl(sock, "balancer app remove http://127.0.0.1:" + std::to_string(ma.port())).find("defined in the configuration"),
            std::string::npos);
  EXPECT_NE(pillarctl(sock, "balancer app remove " + extra).find("action: remove"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return pillarctl(sock, "status").find("workers_draining: 0") != std::string::npos; }, 10s));
  auto two = spread(again.port(), 10);
  EXPECT_EQ(two["a"], 5);
  EXPECT_EQ(two["b"], 5);
}

}  // namespace
}  // namespace itest

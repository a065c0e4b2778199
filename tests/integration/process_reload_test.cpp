// Graceful restarts (SIGUSR1) under keep-alive load, and a refused reload.
#include <signal.h>

#include <algorithm>
#include <iostream>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

constexpr int kStartServers = 2;
constexpr int kReloads = 20;

class ProcessReload : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
  std::string config() const {
    return process_config(docroot, tree.root(),
                          "StartServers " + std::to_string(kStartServers) + "\nServerLimit 4\nThreadsPerChild 50\n");
  }
};

TEST_F(ProcessReload, TwentyGracefulReloadsUnderKeepAliveLoadLoseNothing) {
  START_SERVER(srv, config());
  const uint16_t port = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == kStartServers; }, 5s, &st))
      << status_brief(st);
  ASSERT_EQ(status_num(st, "ParentServerMPMGeneration"), 0);

  LoadOptions lo;
  lo.port = port;
  lo.threads = 4;
  lo.keep_alive = true;
  LoadGenerator load(lo);
  load.start();
  ASSERT_TRUE(load.wait_progress(100)) << load.snapshot().summary();

  auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= kReloads; ++i) {
    std::vector<pid_t> old_workers = child_pids(srv.pid());
    ASSERT_EQ(kill(srv.pid(), SIGUSR1), 0);
    ASSERT_TRUE(wait_status(
        port, [&](const StatusMap& m) { return status_num(m, "ParentServerMPMGeneration") >= i; }, 5s, &st))
        << "reload " << i << ": " << status_brief(st);
    EXPECT_EQ(status_num(st, "ParentServerMPMGeneration"), i) << status_brief(st);
    // Let the old generation drain before the next reload (as an operator
    // would), so that the scoreboard's rows never run out: none of the old
    // workers is left and the new ones are all there.
    std::vector<pid_t> now;
    ASSERT_TRUE(eventually(
        [&] {
          now = child_pids(srv.pid());
          for (pid_t p : old_workers)
            if (std::find(now.begin(), now.end(), p) != now.end()) return false;
          return now.size() == static_cast<size_t>(kStartServers);
        },
        5s))
        << "reload " << i << ": old generation did not drain; " << now.size() << " children";
    ASSERT_TRUE(wait_status(
        port,
        [](const StatusMap& m) {
          return status_num(m, "Processes") == kStartServers && status_num(m, "Stopping") == 0;
        },
        5s, &st))
        << "reload " << i << ": old generation did not drain: " << status_brief(st);
    // The new generation serves.
    ASSERT_TRUE(load.wait_progress(20)) << "reload " << i << ": " << load.snapshot().summary();
  }
  auto secs = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
  LoadStats stats = load.stop();
  std::cout << "[ reload   ] " << kReloads << " graceful reloads in " << secs << " ms; load: " << stats.summary()
            << "\n";
  for (const auto& s : stats.failure_samples) std::cout << "    " << s << "\n";
  EXPECT_EQ(stats.failures(), 0u) << stats.summary();
  // Draining workers told their keep-alive clients to go (Connection: close).
  EXPECT_GT(stats.server_closes, 0u) << stats.summary();
  std::string err = srv.stderr_text();
  EXPECT_EQ(err.find("exit signal"), std::string::npos) << err;
}

TEST_F(ProcessReload, BrokenConfigurationIsRefusedAndOldOneKeepsServing) {
  START_SERVER(srv, config());
  const uint16_t port = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == kStartServers; }, 5s, &st))
      << status_brief(st);
  // One good reload first, so that the generation is known to move.
  ASSERT_EQ(kill(srv.pid(), SIGUSR1), 0);
  // The new generation serves and the old one has drained (under a slow
  // build, ASan, its processes can still be counted for a while).
  ASSERT_TRUE(wait_status(
      port,
      [](const StatusMap& m) {
        return status_num(m, "ParentServerMPMGeneration") == 1 && status_num(m, "Processes") == kStartServers;
      },
      10s, &st))
      << status_brief(st);

  LoadOptions lo;
  lo.port = port;
  lo.threads = 2;
  LoadGenerator load(lo);
  load.start();
  ASSERT_TRUE(load.wait_progress(50)) << load.snapshot().summary();

  // Overwrite the configuration with a broken one.
  {
    FILE* f = std::fopen(srv.config_path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("Listen 127.0.0.1:0\nDocumentRoot \"/nonexistent\"\nThisIsNotADirective on\n<Location /x>\n", f);
    std::fclose(f);
  }
  ASSERT_EQ(kill(srv.pid(), SIGUSR1), 0);
  EXPECT_TRUE(eventually([&] { return srv.stderr_text().find("reload refused") != std::string::npos; }, 5s))
      << srv.stderr_text();
  // Another status request after the refusal was logged: the generation has not moved.
  st = fetch_status_auto(port);
  EXPECT_EQ(status_num(st, "ParentServerMPMGeneration"), 1) << status_brief(st);
  EXPECT_EQ(status_num(st, "Processes"), kStartServers) << status_brief(st);
  EXPECT_EQ(curl_get(srv.base_url() + "/index.html").status, 200);
  EXPECT_TRUE(load.wait_progress(50)) << load.snapshot().summary();
  LoadStats stats = load.stop();
  std::cout << "[ refused  ] load: " << stats.summary() << "\n";
  EXPECT_EQ(stats.failures(), 0u) << stats.summary();
}

}  // namespace
}  // namespace itest

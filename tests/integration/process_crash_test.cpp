// A worker killed with SIGKILL under load is replaced and capacity comes back.
#include <signal.h>

#include <algorithm>
#include <iostream>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

constexpr int kStartServers = 2;
constexpr int kThreadsPerChild = 50;
constexpr int kLoadThreads = 6;

class ProcessCrash : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
};

TEST_F(ProcessCrash, KilledWorkerIsReplacedUnderLoad) {
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers " + std::to_string(kStartServers) +
                                       "\nServerLimit 4\nThreadsPerChild " + std::to_string(kThreadsPerChild) + "\n"));
  const uint16_t port = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == kStartServers; }, 5s, &st))
      << status_brief(st);
  std::vector<pid_t> before;
  ASSERT_TRUE(eventually([&] { return (before = child_pids(srv.pid())).size() == static_cast<size_t>(kStartServers); }, 3s))
      << "workers of " << srv.pid() << ": " << before.size();

  LoadOptions lo;
  lo.port = port;
  lo.threads = kLoadThreads;
  LoadGenerator load(lo);
  load.start();
  ASSERT_TRUE(load.wait_progress(200)) << load.snapshot().summary();

  const pid_t victim = before.front();
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  auto killed_at = std::chrono::steady_clock::now();

  // A new child pid appears within 2 s and the victim is gone.
  std::vector<pid_t> now;
  bool replaced = eventually(
      [&] {
        now = child_pids(srv.pid());
        bool victim_gone = std::find(now.begin(), now.end(), victim) == now.end();
        bool fresh = std::any_of(now.begin(), now.end(),
                                 [&](pid_t p) { return std::find(before.begin(), before.end(), p) == before.end(); });
        return victim_gone && fresh;
      },
      2s);
  auto replaced_ms =
      std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_TRUE(replaced) << "no replacement worker within 2 s; children now: " << now.size();

  // Full capacity comes back: StartServers processes, all their slots accounted.
  EXPECT_TRUE(wait_status(
      port,
      [](const StatusMap& m) {
        return status_num(m, "Processes") == kStartServers &&
               status_num(m, "BusyWorkers") + status_num(m, "IdleWorkers") == kStartServers * kThreadsPerChild;
      },
      5s, &st))
      << status_brief(st);

  // The load keeps being served after the crash.
  EXPECT_TRUE(load.wait_progress(200)) << load.snapshot().summary();
  LoadStats stats = load.stop();
  std::cout << "[ crash    ] worker " << victim << " killed; replaced after " << replaced_ms
            << " ms; load: " << stats.summary() << "\n";
  for (const auto& s : stats.failure_samples) std::cout << "    " << s << "\n";
  // Only the connections the killed worker held may fail: one per load thread at most.
  EXPECT_LE(stats.failures(), static_cast<uint64_t>(kLoadThreads)) << stats.summary();
  EXPECT_EQ(stats.failures_by_kind.count("connect"), 0u) << stats.summary();
  EXPECT_EQ(stats.failures_by_kind.count("timeout"), 0u) << stats.summary();

  EXPECT_NE(srv.stderr_text().find("child pid " + std::to_string(victim) + " exit signal"), std::string::npos)
      << srv.stderr_text();
  // The crash is counted.
  CurlResult metrics = curl_get(srv.base_url() + "/metrics");
  EXPECT_NE(metrics.body.find("pillar_worker_crashes_total 1\n"), std::string::npos) << metrics.body;
}

}  // namespace
}  // namespace itest

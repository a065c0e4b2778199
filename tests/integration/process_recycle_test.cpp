// Workers are recycled (MaxConnectionsPerChild, MaxMemoryPerChild) without
// losing requests.
#include <sys/resource.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <set>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

constexpr int kStartServers = 2;

class ProcessRecycle : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
};

long long metric_value(const std::string& body, const std::string& name) {
  size_t at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::atoll(body.c_str() + at + name.size() + 2);
}

TEST_F(ProcessRecycle, MaxConnectionsPerChildRecyclesWithoutFailures) {
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers " + std::to_string(kStartServers) +
                                       "\nServerLimit 4\nThreadsPerChild 50\nMaxConnectionsPerChild 50\n"));
  const uint16_t port = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == kStartServers; }, 5s, &st))
      << status_brief(st);
  std::vector<pid_t> first = child_pids(srv.pid());
  ASSERT_EQ(first.size(), static_cast<size_t>(kStartServers));

  LoadOptions lo;
  lo.port = port;
  lo.threads = 4;
  lo.keep_alive = false;  // many short connections
  lo.pause = 2ms;
  LoadGenerator load(lo);
  load.start();

  // Every original worker is replaced (each serves 50 connections quickly).
  std::set<pid_t> seen(first.begin(), first.end());
  std::vector<pid_t> now;
  bool recycled = eventually(
      [&] {
        now = child_pids(srv.pid());
        seen.insert(now.begin(), now.end());
        return std::none_of(now.begin(), now.end(),
                            [&](pid_t p) { return std::find(first.begin(), first.end(), p) != first.end(); });
      },
      10s);
  EXPECT_TRUE(recycled) << "original workers still running after 10 s; load: " << load.snapshot().summary();
  EXPECT_TRUE(load.wait_progress(100)) << load.snapshot().summary();
  LoadStats stats = load.stop();
  std::string metrics = curl_get(srv.base_url() + "/metrics").body;
  long long recycles = metric_value(metrics, "pillar_worker_recycles_total");
  std::cout << "[ recycle  ] MaxConnectionsPerChild 50: " << seen.size() << " distinct worker pids, "
            << recycles << " recycles; load: " << stats.summary() << "\n";
  for (const auto& s : stats.failure_samples) std::cout << "    " << s << "\n";
  EXPECT_EQ(stats.failures(), 0u) << stats.summary();
  EXPECT_GT(seen.size(), first.size());
  EXPECT_GE(recycles, 2) << metrics;
  EXPECT_EQ(metric_value(metrics, "pillar_worker_crashes_total"), 0) << metrics;
  // Capacity is whole afterwards.
  EXPECT_TRUE(wait_status(
      port,
      [](const StatusMap& m) {
        return status_num(m, "Processes") >= kStartServers &&
               status_num(m, "BusyWorkers") + status_num(m, "IdleWorkers") >= kStartServers * 50;
      },
      5s, &st))
      << status_brief(st);
}

TEST_F(ProcessRecycle, MaxMemoryPerChild) {
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers " + std::to_string(kStartServers) +
                                       "\nServerLimit 4\nThreadsPerChild 50\nMaxMemoryPerChild 8M\n"));
  const uint16_t port = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == kStartServers; }, 5s, &st))
      << status_brief(st);
  std::vector<pid_t> first = child_pids(srv.pid());
  ASSERT_EQ(first.size(), static_cast<size_t>(kStartServers));

  LoadOptions lo;
  lo.port = port;
  lo.threads = 4;
  LoadGenerator load(lo);
  load.start();
  ASSERT_TRUE(load.wait_progress(200)) << load.snapshot().summary();

  long max_rss = 0;
  for (pid_t p : first) max_rss = std::max(max_rss, proc_status_kb(p, "RssAnon"));
  const long limit_kb = 8 * 1024;
  if (max_rss > limit_kb) {
    // Over the limit: a recycle must happen once the worker is 5 s old.
    std::vector<pid_t> now;
    bool recycled = eventually(
        [&] {
          now = child_pids(srv.pid());
          return std::any_of(first.begin(), first.end(),
                             [&](pid_t p) { return std::find(now.begin(), now.end(), p) == now.end(); });
        },
        9s);
    LoadStats stats = load.stop();
    std::cout << "[ memory   ] baseline RssAnon " << max_rss << " kB > 8M: recycle "
              << (recycled ? "happened" : "DID NOT happen") << "; load: " << stats.summary() << "\n";
    EXPECT_TRUE(recycled) << "RssAnon " << max_rss << " kB above MaxMemoryPerChild 8M but no recycle in 9 s";
    EXPECT_EQ(stats.failures(), 0u) << stats.summary();
  } else {
    // Below the limit: the configuration is accepted and load is served without failures.
    ASSERT_TRUE(load.wait_progress(500)) << load.snapshot().summary();
    LoadStats stats = load.stop();
    std::cout << "[ memory   ] baseline RssAnon " << max_rss
              << " kB <= 8M: no recycle expected; config accepted; load: " << stats.summary() << "\n";
    EXPECT_EQ(stats.failures(), 0u) << stats.summary();
    EXPECT_EQ(check_config(process_config(docroot, tree.root(), "MaxMemoryPerChild 8M\n")).exit_code, 0);
  }
}

// Drives a worker's RssAnon above 8M (700 connections in the middle of a
// request head each hold a 16 kB read buffer) and expects it to be recycled
// once it is 5 s old, without failing requests. The connections stay held
// until the replacement has started: a worker gives its buffers back to the
// system once its connections are gone, so the memory must still be in use
// when the master looks.
TEST_F(ProcessRecycle, MaxMemoryPerChildRecyclesAWorkerAboveTheLimit) {
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 1\nServerLimit 2\nThreadsPerChild 1000\nEventThreadsPerChild 1\n"
                                   "MinSpareThreads 10\nMaxMemoryPerChild 8M\nLogLevel info\n"));
  const uint16_t port = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == 1; }, 5s, &st))
      << status_brief(st);
  std::vector<pid_t> first = child_pids(srv.pid());
  ASSERT_EQ(first.size(), 1u);
  const pid_t worker = first[0];
  auto started = std::chrono::steady_clock::now();
  long baseline = proc_status_kb(worker, "RssAnon");

  constexpr int kHeld = 700;
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < kHeld; ++i) {
    auto c = std::make_unique<RawConnection>(port);
    ASSERT_TRUE(c->connected()) << "connection " << i;
    ASSERT_TRUE(c->send("GET /index.html HTTP/1.1\r\n"));
    held.push_back(std::move(c));
  }
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "BusyWorkers") >= kHeld; }, 5s, &st))
      << status_brief(st);
  long grown = proc_status_kb(worker, "RssAnon");
  std::cout << "[ memory   ] worker RssAnon " << baseline << " kB at start, " << grown << " kB with " << kHeld
            << " requests in progress\n";
  ASSERT_GT(grown, 8 * 1024) << "could not drive the worker above MaxMemoryPerChild; nothing to check";

  LoadOptions lo;
  lo.port = port;
  lo.threads = 3;
  lo.pause = 1ms;
  LoadGenerator load(lo);
  load.start();
  // Once it is 5 s old (the master's 1 s tick), the replacement starts first.
  std::vector<pid_t> now;
  EXPECT_TRUE(eventually([&] { return child_pids(srv.pid()).size() == 2; }, 9s))
      << "no replacement for worker " << worker << " with RssAnon " << proc_status_kb(worker, "RssAnon") << " kB";
  // The requests in progress are finished by the draining worker.
  for (auto& c : held) ASSERT_TRUE(c->send("Host: localhost\r\nConnection: close\r\n\r\n"));
  for (auto& c : held) EXPECT_EQ(c->read_response(3s).status, 200);
  held.clear();
  bool recycled = eventually(
      [&] {
        now = child_pids(srv.pid());
        return std::find(now.begin(), now.end(), worker) == now.end() && now.size() == 1;
      },
      9s);
  auto after = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - started).count();
  EXPECT_TRUE(recycled) << "worker " << worker << " with RssAnon " << proc_status_kb(worker, "RssAnon")
                        << " kB still running " << after << " ms after start; children: " << now.size();
  EXPECT_TRUE(load.wait_progress(50)) << load.snapshot().summary();
  LoadStats stats = load.stop();
  std::string metrics = curl_get(srv.base_url() + "/metrics").body;
  std::cout << "[ memory   ] recycled " << (recycled ? "yes" : "NO") << " after " << after
            << " ms; recycles=" << metric_value(metrics, "pillar_worker_recycles_total")
            << "; load: " << stats.summary() << "\n";
  EXPECT_EQ(stats.failures(), 0u) << stats.summary();
  EXPECT_GE(metric_value(metrics, "pillar_worker_recycles_total"), 1) << metrics;
  EXPECT_NE(srv.stderr_text().find("resident memory above MaxMemoryPerChild"), std::string::npos) << srv.stderr_text();
}

// A flood of slow clients (each in the middle of a request head, so each
// holds a read buffer) grows a worker by tens of MiB; once they leave, the
// worker gives the memory back: its RssAnon returns within 20 % of where it
// was before the flood (issue 16, item 19).
TEST_F(ProcessRecycle, MemoryAFloodTookIsGivenBackWhenItLeaves) {
#ifdef PILLAR_SANITIZED
  GTEST_SKIP() << "ASan's allocator keeps freed memory in its quarantine: malloc_trim cannot give it back";
#endif
  constexpr int kFlood = 2000;
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < kFlood + 500) {
    rl.rlim_cur = kFlood + 1000;
    rl.rlim_max = std::max<rlim_t>(rl.rlim_max, rl.rlim_cur);  // root (CI) may raise the hard limit too
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 1\nServerLimit 1\nThreadsPerChild 3000\nMaxRequestWorkers 3000\n"
                                   "MinSpareThreads 1\nMaxSpareThreads 3000\nEventThreadsPerChild 2\n"));
  const uint16_t port = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == 1; }, 5s, &st))
      << status_brief(st);
  std::vector<pid_t> kids = child_pids(srv.pid());
  ASSERT_EQ(kids.size(), 1u);
  const pid_t worker = kids[0];
  for (int i = 0; i < 50; ++i) ASSERT_EQ(curl_get(srv.base_url() + "/index.html").status, 200);  // warm
  long before = proc_status_kb(worker, "RssAnon"), rss_before = proc_status_kb(worker, "VmRSS");

  long peak = 0;
  {
    std::vector<std::unique_ptr<RawConnection>> flood;
    for (int i = 0; i < kFlood; ++i) {
      auto c = std::make_unique<RawConnection>(port);
      ASSERT_TRUE(c->connected()) << "connection " << i;
      ASSERT_TRUE(c->send("GET /index.html HTTP/1.1\r\nHost: localhost\r\nX-Slow: "));
      flood.push_back(std::move(c));
    }
    ASSERT_TRUE(wait_status(
        port, [](const StatusMap& m) { return status_num(m, "BusyWorkers") >= kFlood; }, 10s, &st))
        << status_brief(st);
    peak = proc_status_kb(worker, "RssAnon");
  }  // the flood leaves
  ASSERT_GT(peak, before + 16 * 1024) << "the flood did not grow the worker; nothing to check";
  long after = 0, rss_after = 0;
  bool returned = rss_returned(worker, rss_before, 6s, &rss_after, &after);
  std::cout << "[ memory   ] worker RssAnon " << before << " kB before, " << peak << " kB with " << kFlood
            << " slow clients, " << after << " kB after they left (VmRSS " << rss_before << " -> " << rss_after << " kB)\n";
  EXPECT_TRUE(returned) << "VmRSS " << rss_after << " kB, more than 120 % of " << rss_before << " kB";
  EXPECT_EQ(curl_get(srv.base_url() + "/index.html").status, 200);
}

TEST_F(ProcessRecycle, MaxMemoryPerChildBelowMinimumIsRejected) {
  RunResult r = check_config(process_config(docroot, tree.root(), "MaxMemoryPerChild 1M\n"));
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace itest

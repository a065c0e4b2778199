// Log faults of issue 16: a full disk (item 10) and, for reloads, the log
// descriptors a worker holds (item 9).
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <regex>
#include <sstream>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

// Occurrences of `needle` in `hay`.
size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + needle.size())) ++n;
  return n;
}

// Every line of `text` is a whole line of the common format, and text ends
// with a newline.
::testing::AssertionResult whole_common_lines(const std::string& text) {
  static const std::regex line_re(R"(^127\.0\.0\.1 - - \[[^\]]+\] "GET \S+ HTTP/1\.1" \d{3} (\d+|-)$)");
  if (!text.empty() && text.back() != '\n')
    return ::testing::AssertionFailure() << "the file ends inside a line: ..." << text.substr(text.size() > 80 ? text.size() - 80 : 0);
  std::istringstream in(text);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!std::regex_match(line, line_re))
      return ::testing::AssertionFailure() << "line " << n << " is not a whole log line: '" << line << "'";
  }
  return ::testing::AssertionSuccess();
}


// The targets of `pid`'s open descriptors (readlink of /proc/PID/fd/*).
std::vector<std::string> fd_targets(pid_t pid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    char buf[PATH_MAX];
    ssize_t n = readlink(it->path().c_str(), buf, sizeof buf - 1);
    if (n > 0) out.emplace_back(buf, static_cast<size_t>(n));
  }
  return out;
}

size_t count_prefixed(const std::vector<std::string>& v, const std::string& prefix) {
  return static_cast<size_t>(std::count_if(v.begin(), v.end(), [&](const std::string& t) { return t.rfind(prefix, 0) == 0; }));
}

// `n` name-based virtual hosts v0.test ... each with a CustomLog, the path
// chosen by `path_of(i)`.
template <typename F>
std::string vhosts_with_logs(const std::string& docroot, int n, F path_of) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "<VirtualHost *>\n  ServerName v" + std::to_string(i) + ".test\n  DocumentRoot \"" + docroot +
           "\"\n  CustomLog \"" + path_of(i) + "\" common\n</VirtualHost>\n";
  }
  return out;
}

// Sends SIGUSR1 and waits for a worker that is not in `before` (the new
// generation's); 0 when none comes.
pid_t reload_and_wait(const ServerProcess& srv, const std::vector<pid_t>& before) {
  if (kill(srv.pid(), SIGUSR1) != 0) return 0;
  pid_t fresh = 0;
  eventually(
      [&] {
        for (pid_t p : child_pids(srv.pid())) {
          if (std::find(before.begin(), before.end(), p) == before.end()) fresh = p;
        }
        return fresh != 0;
      },
      5s);
  return fresh;
}

class LogsFaults : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
};

// Item 10: a CustomLog on a device that is always full. Requests are still
// answered; the lines are counted as dropped in /metrics and server-status;
// the error log names the file, once (rate-limited), not once per line.
TEST_F(LogsFaults, FullDiskDropsAreCountedAndReported) {
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 1\nServerLimit 2\nThreadsPerChild 20\nCustomLog /dev/full common\n"));
  const uint16_t port = srv.port();
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    // Paced by the answers, over several flushes of the log writer (100 ms).
    ASSERT_EQ(curl_get(srv.base_url() + "/index.html?n=" + std::to_string(i)).status, 200);
    if (i % 5 == 4) {
      ASSERT_TRUE(eventually([&] { return metric_value(port, "pillar_log_lines_dropped_total") >= i + 1; }, 3s))
          << "dropped lines not counted";
    }
  }
  long long errors = metric_value(port, "pillar_log_write_errors_total");
  EXPECT_GE(errors, 2) << "several flushes failed";
  StatusMap st;
  EXPECT_TRUE(wait_status(port, [](const StatusMap& m) { return status_num(m, "LogLinesDropped") >= kRequests; }, 3s, &st))
      << "LogLinesDropped=" << status_num(st, "LogLinesDropped");
  EXPECT_GE(status_num(st, "LogWriteErrors"), 2);
  const std::string report = "log file /dev/full: write failed (No space left on device)";
  ASSERT_TRUE(eventually([&] { return srv.stderr_text().find(report) != std::string::npos; }, 3s))
      << srv.stderr_text();
  EXPECT_EQ(count_of(srv.stderr_text(), report), 1u) << "not rate-limited:\n" << srv.stderr_text();
  std::cout << "[ dev/full ] dropped " << metric_value(port, "pillar_log_lines_dropped_total") << " lines in "
            << errors << " failed writes; reported once\n";
}

// Item 10: the disk fills in the middle of a line (RLIMIT_FSIZE on the
// worker stands in for a small filesystem: writes past it are cut short or
// fail as on a full disk). The file keeps whole lines only; the loss is
// counted and reported naming the file; when room comes back (the file is
// truncated, as by copytruncate) logging resumes with whole lines.
TEST_F(LogsFaults, DiskFullMidLineKeepsWholeLinesAndResumes) {
  const std::string log = tree.path("access.log");
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 1\nServerLimit 2\nThreadsPerChild 20\nCustomLog \"" + log +
                                       "\" common\n"));
  const uint16_t port = srv.port();
  std::vector<pid_t> workers;
  ASSERT_TRUE(eventually([&] { return (workers = child_pids(srv.pid())).size() == 1; }, 5s));
  constexpr rlim_t kLimit = 1000;  // a few lines of ~70 bytes: it ends inside one
  rlimit rl{kLimit, kLimit};
  ASSERT_EQ(prlimit(workers[0], RLIMIT_FSIZE, &rl, nullptr), 0) << strerror(errno);

  for (int i = 0; i < 40; ++i) {
    ASSERT_EQ(curl_get(srv.base_url() + "/index.html?n=" + std::to_string(i)).status, 200) << i;
  }
  std::string full;
  EXPECT_TRUE(eventually([&] { return (full = tree.read("access.log")).size() > kLimit - 100; }, 3s))
      << "the file did not fill up: " << full.size() << " bytes";
  EXPECT_LE(full.size(), kLimit);
  EXPECT_TRUE(whole_common_lines(full));
  EXPECT_EQ(child_pids(srv.pid()), workers) << "the worker died (SIGXFSZ?)";
  ASSERT_TRUE(eventually([&] { return metric_value(port, "pillar_log_lines_dropped_total") > 0; }, 3s));
  const std::string report = "log file " + log + ": write failed";
  ASSERT_TRUE(eventually([&] { return srv.stderr_text().find(report) != std::string::npos; }, 3s))
      << srv.stderr_text();
  full = tree.read("access.log");
  EXPECT_TRUE(whole_common_lines(full));

  // Room again: the next lines are written, whole, from the start.
  ASSERT_EQ(truncate(log.c_str(), 0), 0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(curl_get(srv.base_url() + "/index.html?again=" + std::to_string(i)).status, 200);
  }
  ASSERT_TRUE(eventually([&] { return tree.read("access.log").find("?again=4 ") != std::string::npos; }, 3s))
      << tree.read("access.log");
  std::string after = tree.read("access.log");
  EXPECT_TRUE(whole_common_lines(after));
  for (int i = 0; i < 5; ++i) EXPECT_NE(after.find("?again=" + std::to_string(i) + " "), std::string::npos) << i;
  EXPECT_TRUE(eventually([&] { return srv.stderr_text().find("log file " + log + ": writing again") != std::string::npos; }, 3s))
      << srv.stderr_text();
  std::cout << "[ fsize    ] " << full.size() << " bytes kept of whole lines, "
            << metric_value(port, "pillar_log_lines_dropped_total") << " lines dropped; resumed\n";
}

// Item 9: many vhosts logging to a few paths hold one descriptor per path,
// in the master and in every worker, across reloads, even while older
// generations (and their runtimes) are still alive: sinks are shared by
// path, and a new worker closes what is not its runtime's.
TEST_F(LogsFaults, ManyVhostsAndReloadsShareOneFdPerLogPath) {
  const std::string logs = tree.mkdir("logs");
  auto path_of = [&](int i) { return logs + "/p" + std::to_string(i % 3) + ".log"; };
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 1\nServerLimit 4\nThreadsPerChild 20\n" +
                                       vhosts_with_logs(docroot, 300, path_of)));
  std::vector<pid_t> seen;
  ASSERT_TRUE(eventually([&] { return (seen = child_pids(srv.pid())).size() == 1; }, 5s));
  std::vector<std::unique_ptr<RawConnection>> holders;  // silent: each keeps its generation draining
  pid_t worker = seen[0];
  for (int i = 1; i <= 3; ++i) {
    holders.push_back(std::make_unique<RawConnection>(srv.port()));
    ASSERT_TRUE(eventually([&] { return fetch_status_auto(srv.port()).size() > 0; }, 3s));  // it was accepted
    worker = reload_and_wait(srv, seen);
    ASSERT_NE(worker, 0) << "reload " << i << ": no new worker";
    seen.push_back(worker);
  }
  EXPECT_GE(child_pids(srv.pid()).size(), 3u) << "older generations are still draining";
  EXPECT_EQ(curl_get(srv.base_url() + "/index.html", {"Host: v7.test"}).status, 200);
  std::vector<std::string> worker_fds;  // a worker just forked closes the master's extra descriptors first
  EXPECT_TRUE(eventually([&] { return count_prefixed(worker_fds = fd_targets(worker), logs + "/") == 3u; }, 3s))
      << "the newest worker's log descriptors: " << count_prefixed(worker_fds, logs + "/");
  auto master_fds = fd_targets(srv.pid());
  EXPECT_EQ(count_prefixed(master_fds, logs + "/"), 3u) << "the master's log descriptors";
  ASSERT_TRUE(eventually([&] { return tree.read("logs/p1.log").find("GET /index.html") != std::string::npos; }, 3s));
  std::cout << "[ log fds  ] 300 vhosts, 3 paths, 4 generations: worker holds " << worker_fds.size()
            << " fds (" << count_prefixed(worker_fds, logs + "/") << " logs), master "
            << count_prefixed(master_fds, logs + "/") << " logs\n";
}

// Item 9: one CustomLog per vhost (300 paths) and a descriptor limit with
// room for 100 more: a reload used to open every log again (EMFILE, reload
// refused); now only changed paths are opened.
TEST_F(LogsFaults, ReloadDoesNotNeedASecondSetOfLogFds) {
  const std::string logs = tree.mkdir("logs");
  auto path_of = [&](int i) { return logs + "/v" + std::to_string(i) + ".log"; };
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 1\nServerLimit 4\nThreadsPerChild 20\n" +
                                       vhosts_with_logs(docroot, 300, path_of)));
  std::vector<pid_t> seen;
  ASSERT_TRUE(eventually([&] { return (seen = child_pids(srv.pid())).size() == 1; }, 5s));
  auto master_fds = fd_targets(srv.pid());
  ASSERT_GE(count_prefixed(master_fds, logs + "/"), 300u);
  const rlim_t limit = master_fds.size() + 100;
  rlimit rl{limit, limit};
  ASSERT_EQ(prlimit(srv.pid(), RLIMIT_NOFILE, &rl, nullptr), 0) << strerror(errno);
  pid_t fresh = reload_and_wait(srv, seen);
  EXPECT_NE(fresh, 0) << "no new generation: " << srv.stderr_text().substr(0, 2000);
  EXPECT_EQ(srv.stderr_text().find("reload refused"), std::string::npos) << srv.stderr_text().substr(0, 2000);
  EXPECT_EQ(curl_get(srv.base_url() + "/index.html", {"Host: v299.test"}).status, 200);
  EXPECT_TRUE(eventually([&] { return tree.read("logs/v299.log").find("GET /index.html") != std::string::npos; }, 3s));
}

// Item 9: logrotate renames the log, deletes the old one and reloads: the
// new workers write the new file and do not hold the deleted one, even
// while the old generation (which still writes it) drains.
TEST_F(LogsFaults, RotatedLogIsNotHeldByNewWorkers) {
  const std::string log = tree.path("access.log");
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 1\nServerLimit 4\nThreadsPerChild 20\nCustomLog \"" + log +
                                       "\" common\n"));
  std::vector<pid_t> seen;
  ASSERT_TRUE(eventually([&] { return (seen = child_pids(srv.pid())).size() == 1; }, 5s));
  ASSERT_EQ(curl_get(srv.base_url() + "/index.html?before").status, 200);
  ASSERT_TRUE(eventually([&] { return tree.read("access.log").find("?before") != std::string::npos; }, 3s));
  RawConnection holder(srv.port());  // silent: the old generation keeps draining
  ASSERT_TRUE(holder.connected());
  ASSERT_TRUE(eventually([&] { return fetch_status_auto(srv.port()).size() > 0; }, 3s));
  ASSERT_EQ(rename(log.c_str(), (log + ".1").c_str()), 0);
  ASSERT_EQ(unlink((log + ".1").c_str()), 0);
  pid_t fresh = reload_and_wait(srv, seen);
  ASSERT_NE(fresh, 0);
  EXPECT_TRUE(eventually([&] { return child_pids(srv.pid()).size() == 2; }, 3s)) << "the old worker drains";
  // Right after fork the child still has the master's descriptors: it closes
  // what is not its own before it serves, so wait for that (bounded).
  std::vector<std::string> targets;
  auto clean = [&] {
    targets = fd_targets(fresh);
    for (const auto& t : targets)
      if (t.find("(deleted)") != std::string::npos) return false;
    return count_prefixed(targets, log) == 1u;
  };
  EXPECT_TRUE(eventually(clean, 3s)) << "new worker holds: " << ::testing::PrintToString(targets);
  // Until the old worker has seen its SIGWINCH it may still take a request
  // (and log it to the deleted file), so ask until the new file has a line.
  int n = 0;
  EXPECT_TRUE(eventually(
      [&] {
        std::string q = "?after" + std::to_string(++n);
        return curl_get(srv.base_url() + "/index.html" + q).status == 200 &&
               eventually([&] { return tree.read("access.log").find(q) != std::string::npos; }, 300ms);
      },
      3s))
      << "the new file does not get the new lines";
}

}  // namespace
}  // namespace itest

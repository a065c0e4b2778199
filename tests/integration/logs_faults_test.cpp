// Log faults of issue 16: a full disk (item 10) and, for reloads, the log
// descriptors a worker holds (item 9).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

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

// The value of an unlabelled metric in /metrics, -1 when missing.
long long metric_value(uint16_t port, const std::string& name) {
  CurlResult r = curl_get("http://127.0.0.1:" + std::to_string(port) + "/metrics");
  if (r.status != 200) return -1;
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::atoll(line.c_str() + name.size() + 1);
  }
  return -1;
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

}  // namespace
}  // namespace itest

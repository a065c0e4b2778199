// `pillar -k start|graceful|stop` with a PidFile, as apachectl.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

using Clock = std::chrono::steady_clock;

// Runs `pillar ARGS` with stdout and stderr appended to `log` (a file, so
// that a daemon keeping them open does not block the test). Returns the exit
// code, -1 when killed or not done within `timeout`.
int run_ctl(const std::vector<std::string>& args, const std::string& log, Millis timeout = 10s) {
  std::vector<std::string> copy = args;
  std::string bin = PILLAR_BINARY;
  std::vector<char*> argv{bin.data()};
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv.data());
    _exit(127);
  }
  auto deadline = Clock::now() + timeout;
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return -1;
    }
    std::this_thread::sleep_for(10ms);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t read_pid(const std::string& file) {
  std::ifstream f(file);
  long pid = 0;
  if (!(f >> pid)) return 0;
  return static_cast<pid_t>(pid);
}

class ProcessCtl : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::string pid_file = tree.path("pillar.pid");
  std::string log = tree.path("ctl.log");
  pid_t daemon_ = 0;

  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
  // Never leave the daemon behind (its workers die with it).
  void TearDown() override {
    if (daemon_ > 0 && process_alive(daemon_)) {
      kill(daemon_, SIGTERM);
      if (!eventually([&] { return !process_alive(daemon_); }, 5s)) kill(daemon_, SIGKILL);
    }
  }

  uint16_t port_from_log() const {
    static const std::string mark = "pillar: listening on http://";
    std::string text = tree.read("ctl.log");
    size_t at = text.find(mark);
    if (at == std::string::npos) return 0;
    size_t eol = text.find('\n', at);
    std::string ep = text.substr(at + mark.size(), eol - at - mark.size());
    size_t colon = ep.rfind(':');
    return colon == std::string::npos ? 0 : static_cast<uint16_t>(std::atoi(ep.c_str() + colon + 1));
  }
};

TEST_F(ProcessCtl, StartGracefulStop) {
  std::string conf = tree.write("pillar.conf", process_config(docroot, tree.root(),
                                                              "StartServers 2\nServerLimit 4\nThreadsPerChild 20\n"));
  // start: returns 0 once the server listens.
  int rc = run_ctl({"-k", "start", "-f", conf}, log);
  ASSERT_EQ(rc, 0) << tree.read("ctl.log");
  daemon_ = read_pid(pid_file);
  ASSERT_GT(daemon_, 0) << "no PidFile " << pid_file << "; log:\n" << tree.read("ctl.log");
  EXPECT_TRUE(process_alive(daemon_));
  uint16_t port = port_from_log();
  ASSERT_NE(port, 0) << tree.read("ctl.log");
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(curl_get(base + "/index.html").status, 200);
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == 2; }, 5s, &st))
      << status_brief(st);
  EXPECT_EQ(status_num(st, "ParentServerMPMGeneration"), 0);

  // start again: already running, still 0, same master.
  EXPECT_EQ(run_ctl({"-k", "start", "-f", conf}, log), 0) << tree.read("ctl.log");
  EXPECT_EQ(read_pid(pid_file), daemon_);

  // graceful: the generation moves, same master, still serving.
  EXPECT_EQ(run_ctl({"-k", "graceful", "-f", conf}, log), 0) << tree.read("ctl.log");
  EXPECT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "ParentServerMPMGeneration") == 1; }, 5s, &st))
      << status_brief(st);
  EXPECT_EQ(read_pid(pid_file), daemon_);
  EXPECT_EQ(curl_get(base + "/index.html").status, 200);

  // stop: returns 0 once the master is gone; its workers and PidFile too.
  std::vector<pid_t> workers = child_pids(daemon_);
  EXPECT_FALSE(workers.empty());
  auto t0 = Clock::now();
  EXPECT_EQ(run_ctl({"-k", "stop", "-f", conf}, log), 0) << tree.read("ctl.log");
  auto stop_ms = std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
  EXPECT_FALSE(process_alive(daemon_)) << "master " << daemon_ << " still running after -k stop";
  for (pid_t w : workers) EXPECT_TRUE(eventually([&] { return !process_alive(w); }, 3s)) << "worker " << w;
  EXPECT_FALSE(std::ifstream(pid_file).good()) << "PidFile left behind";
  std::cout << "[ ctl      ] -k stop took " << stop_ms << " ms\n";

  // stop again: not running, still 0.
  EXPECT_EQ(run_ctl({"-k", "stop", "-f", conf}, log), 0) << tree.read("ctl.log");
}

// -k start with stdout and stderr on pipes (a shell's `$(...)`, an ssh
// session): the starter exits, the pipes reach EOF although the server keeps
// running, and what the server logs afterwards goes to its ErrorLog.
TEST_F(ProcessCtl, StartDetachesFromStdoutAndStderr) {
  std::string conf = tree.write("pillar.conf", process_config(docroot, tree.root(),
                                                              "StartServers 1\nServerLimit 2\nThreadsPerChild 10\n"
                                                              "LogLevel notice\nErrorLog \"" + tree.path("error.log") + "\"\n"));
  int out[2], err[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
  std::string bin = PILLAR_BINARY;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execl(bin.c_str(), bin.c_str(), "-k", "start", "-f", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  // Both pipes to EOF: every process holding them (the daemon, its workers)
  // has let go. A daemon that keeps them open runs into the deadline.
  std::string text;
  bool out_open = true, err_open = true;
  auto deadline = Clock::now() + 10s;
  while ((out_open || err_open) && Clock::now() < deadline) {
    pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    if (poll(fds, 2, 100) <= 0) continue;
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) text.append(buf, static_cast<size_t>(n));
      else (i == 0 ? out_open : err_open) = false;
    }
  }
  int st = 0;
  waitpid(pid, &st, 0);
  close(out[0]);
  close(err[0]);
  daemon_ = read_pid(pid_file);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << text;
  EXPECT_FALSE(out_open) << "stdout still held open by the server after -k start";
  EXPECT_FALSE(err_open) << "stderr still held open by the server after -k start:\n" << text;
  ASSERT_GT(daemon_, 0) << text;
  EXPECT_TRUE(process_alive(daemon_));
  // The ports are still said on the starter's stderr, before it detaches.
  static const std::string mark = "pillar: listening on http://127.0.0.1:";
  size_t at = text.find(mark);
  ASSERT_NE(at, std::string::npos) << text;
  uint16_t port = static_cast<uint16_t>(std::atoi(text.c_str() + at + mark.size()));
  EXPECT_EQ(curl_get("http://127.0.0.1:" + std::to_string(port) + "/index.html").status, 200);
  // After detaching, the master's lines go to the error log.
  kill(daemon_, SIGUSR1);
  EXPECT_TRUE(eventually([&] { return tree.read("error.log").find("caught SIGUSR1") != std::string::npos; }, 5s))
      << tree.read("error.log");
  EXPECT_EQ(run_ctl({"-k", "stop", "-f", conf}, log), 0) << tree.read("ctl.log");
  EXPECT_FALSE(process_alive(daemon_));
}

TEST_F(ProcessCtl, GracefulWithBadConfigurationKeepsServing) {
  std::string conf = tree.write("pillar.conf", process_config(docroot, tree.root(),
                                                              "StartServers 1\nServerLimit 2\nThreadsPerChild 10\n"));
  ASSERT_EQ(run_ctl({"-k", "start", "-f", conf}, log), 0) << tree.read("ctl.log");
  daemon_ = read_pid(pid_file);
  ASSERT_GT(daemon_, 0) << tree.read("ctl.log");
  uint16_t port = port_from_log();
  ASSERT_NE(port, 0) << tree.read("ctl.log");
  // A configuration broken after start: apachectl graceful refuses it (the
  // config test fails before any signal) or the master does; either way the
  // running server keeps its generation and serves.
  tree.write("pillar.conf", "Listen 127.0.0.1:0\nNoSuchDirective 1\n");
  int rc = run_ctl({"-k", "graceful", "-f", conf}, log);
  std::cout << "[ ctl      ] -k graceful with a broken config returned " << rc << "\n";
  EXPECT_NE(rc, 0) << tree.read("ctl.log");
  StatusMap st = fetch_status_auto(port);
  EXPECT_EQ(status_num(st, "ParentServerMPMGeneration"), 0) << status_brief(st);
  EXPECT_EQ(curl_get("http://127.0.0.1:" + std::to_string(port) + "/index.html").status, 200);
  EXPECT_TRUE(process_alive(daemon_));
}

}  // namespace
}  // namespace itest

// Faults of the process model (issue 16): a worker stuck in code when its
// master dies, a slow control-socket client, fd exhaustion, rapid reloads
// with idle keep-alive clients.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "fault_env.h"
#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

// utime + stime of `pid` in clock ticks, -1 when unreadable.
long long cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(f, s)) return -1;
  size_t rp = s.rfind(')');
  if (rp == std::string::npos) return -1;
  std::istringstream in(s.substr(rp + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return utime + stime;
}

// SIGKILLs what a failed test left running (a worker that outlived its master).
struct KillOnExit {
  std::vector<pid_t> pids;
  ~KillOnExit() {
    for (pid_t p : pids) {
      if (process_alive(p)) kill(p, SIGKILL);
    }
  }
};

class ProcessFaults : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
};

// Issue 16 item 6: PDEATHSIG sends SIGTERM, which a loop busy in code never
// acts on; every worker must still be gone within 2 s of the master's death.
TEST_F(ProcessFaults, WorkerStuckInCodeDiesWithItsMaster) {
  ScopedEnv env({{"PILLAR_FAULT_POINT", "request.process"}, {"PILLAR_FAULT_ACTION", "spin"}});
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 2\nServerLimit 4\nThreadsPerChild 20\nEventThreadsPerChild 1\n"));
  env.restore();
  std::vector<pid_t> workers;
  ASSERT_TRUE(eventually([&] { return (workers = child_pids(srv.pid())).size() == 2; }, 5s)) << workers.size();
  KillOnExit cleanup{workers};

  // One request: the worker that takes it spins in its request path.
  RawConnection c(srv.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::vector<long long> base;
  for (pid_t w : workers) base.push_back(cpu_ticks(w));
  pid_t spinner = 0;
  ASSERT_TRUE(eventually(
      [&] {
        for (size_t i = 0; i < workers.size(); ++i) {
          if (cpu_ticks(workers[i]) - base[i] >= 30) spinner = workers[i];  // 0.3 s of CPU: it spins
        }
        return spinner != 0;
      },
      10s))
      << "no worker started spinning";

  ASSERT_EQ(kill(srv.pid(), SIGKILL), 0);
  auto killed = std::chrono::steady_clock::now();
  std::vector<pid_t> alive;
  bool gone = eventually(
      [&] {
        alive.clear();
        for (pid_t w : workers) {
          if (process_alive(w)) alive.push_back(w);
        }
        return alive.empty();
      },
      2s);
  auto ms = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - killed).count();
  std::string left;
  for (pid_t p : alive) left += " " + std::to_string(p) + (p == spinner ? "(spinning)" : "");
  EXPECT_TRUE(gone) << "workers alive 2 s after the master's SIGKILL:" << left;
  std::cout << "[ orphan   ] spinning worker " << spinner << "; all workers gone " << ms << " ms after the master\n";
}

}  // namespace
}  // namespace itest

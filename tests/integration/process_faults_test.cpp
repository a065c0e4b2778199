// Faults of the process model (issue 16): a worker stuck in code when its
// master dies, a slow control-socket client, fd exhaustion, rapid reloads
// with idle keep-alive clients.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
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


// Issue 16 item 12: a control client sending one byte at a time held the
// master (no worker reaped or replaced) for as long as it kept dribbling.
TEST_F(ProcessFaults, SlowControlClientDoesNotBlockTheMaster) {
  const std::string sock = tree.path("ctl.sock");
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 2\nServerLimit 4\nThreadsPerChild 20\n"
                                   "PillarControlSocket \"" + sock + "\"\n"));
  std::vector<pid_t> before;
  ASSERT_TRUE(eventually([&] { return (before = child_pids(srv.pid())).size() == 2; }, 5s)) << before.size();

  int cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(cfd, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock.c_str());
  ASSERT_EQ(connect(cfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << strerror(errno);
  const auto connected = std::chrono::steady_clock::now();
  // The fault: "status" one byte every 300 ms, never the newline, for up to 6 s.
  std::atomic<int> sent{0};
  std::atomic<bool> quit{false};
  std::thread dribbler([&] {
    const std::string text = "statusstatusstatusstatus";
    for (size_t i = 0; i < text.size() && !quit; ++i) {
      if (send(cfd, &text[i], 1, MSG_NOSIGNAL) != 1) return;  // the server dropped us
      ++sent;
      std::this_thread::sleep_for(300ms);  // the client's pace (the fault), not a synchronisation
    }
  });
  struct Join {
    std::thread& t;
    std::atomic<bool>& q;
    ~Join() {
      q = true;
      if (t.joinable()) t.join();
    }
  } join{dribbler, quit};
  ASSERT_TRUE(eventually([&] { return sent >= 2; }, 3s));  // the master has the client by now

  const pid_t victim = before.front();
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  auto killed = std::chrono::steady_clock::now();
  std::vector<pid_t> now;
  bool replaced = eventually(
      [&] {
        now = child_pids(srv.pid());
        bool gone = std::find(now.begin(), now.end(), victim) == now.end();
        bool fresh = std::any_of(now.begin(), now.end(), [&](pid_t p) {
          return std::find(before.begin(), before.end(), p) == before.end();
        });
        return gone && fresh;
      },
      1500ms);
  auto replaced_ms = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - killed).count();
  EXPECT_TRUE(replaced) << "killed worker not replaced within 1.5 s while a control client dribbles; children: "
                        << now.size();

  // The slow client is dropped at the deadline (2 s after it connected).
  std::string answer;
  bool closed = false;
  auto end = connected + 5s;
  while (!closed && std::chrono::steady_clock::now() < end) {
    pollfd p{cfd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    ssize_t n = read(cfd, buf, sizeof buf);
    if (n > 0) answer.append(buf, static_cast<size_t>(n));
    else closed = true;
  }
  auto closed_ms = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - connected).count();
  EXPECT_TRUE(closed) << "slow control client still connected after 5 s";
  EXPECT_GE(closed_ms, 1800) << "dropped before its deadline";
  EXPECT_LE(closed_ms, 3000) << "dropped long after its 2 s deadline";
  EXPECT_NE(answer.find("not complete"), std::string::npos) << answer;
  quit = true;
  dribbler.join();
  close(cfd);
  // And the master answers a normal client afterwards.
  EXPECT_NE(pillarctl(sock, "status").find("generation"), std::string::npos);
  std::cout << "[ ctl slow ] worker replaced after " << replaced_ms << " ms; slow client dropped after " << closed_ms
            << " ms\n";
}

}  // namespace
}  // namespace itest

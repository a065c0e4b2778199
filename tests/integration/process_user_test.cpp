// Started as root with User/Group, workers drop to them while the master
// keeps root (it binds, signals and owns the control socket).
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

// The real uid and gid of `pid` from /proc/PID/status, -1 when unreadable.
std::pair<long, long> ids_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  long uid = -1, gid = -1;
  while (std::getline(f, line)) {
    if (line.rfind("Uid:", 0) == 0) uid = std::stol(line.substr(4));
    if (line.rfind("Gid:", 0) == 0) gid = std::stol(line.substr(4));
  }
  return {uid, gid};
}

TEST(ProcessUser, WorkersDropToUserAndGroup) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CI runs the tests as root)";
  TempTree t;
  t.write("www/a.txt", "hello");
  // The workers read the tree as nobody: make it world-readable.
  for (const char* p : {"", "/www", "/www/a.txt"}) chmod((t.root() + p).c_str(), 0755);
  START_SERVER(srv, process_config(t.path("www"), t.root(), "User #65534\nGroup #65534\nStartServers 2\n"));
  // A worker is root for the moment between fork() and its setuid(): poll
  // until both have dropped (bounded), then check every id.
  std::vector<pid_t> workers;
  auto dropped = [&] {
    workers = child_pids(srv.pid());
    if (workers.size() != 2) return false;
    for (pid_t w : workers) {
      if (ids_of(w).first != 65534) return false;
    }
    return true;
  };
  EXPECT_TRUE(eventually(dropped, 5s));
  for (pid_t w : workers) {
    auto [uid, gid] = ids_of(w);
    EXPECT_EQ(uid, 65534) << "worker " << w;
    EXPECT_EQ(gid, 65534) << "worker " << w;
  }
  EXPECT_EQ(ids_of(srv.pid()).first, 0);  // the master stays root
  CurlResult r = curl_get(srv.base_url() + "/a.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
}

TEST(ProcessUser, UnknownUserIsRefusedAtStart) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: without it User is not applied";
  TempTree t;
  t.write("www/a.txt", "x");
  std::string conf = t.write("p.conf", basic_config(t.path("www"), "User no-such-user-pillar\n"));
  RunResult r = run_pillar({"-f", conf}, 10s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(icontains(r.err, "no-such-user-pillar")) << r.err;
}

}  // namespace
}  // namespace itest

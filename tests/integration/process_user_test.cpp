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

// Started as root with no User line, the workers would serve as root: start
// warns (on stderr and in the error log) and so does `pillar -t`; a User line
// silences both.
TEST(ProcessUser, RootWithoutUserIsWarnedAtStartAndByConfigTest) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the warning is about workers running as root";
  TempTree t;
  t.write("www/a.txt", "x");
  const std::string warning = "running as root with no User directive";
  const std::string bare_text = basic_config(t.path("www"), "ErrorLog \"" + t.path("error.log") + "\"\n");
  const std::string user_text = basic_config(t.path("www"), "User #65534\nGroup #65534\n");
  std::string bare = t.write("bare.conf", bare_text);
  std::string with_user = t.write("user.conf", user_text);

  RunResult check = run_pillar({"-t", "-f", bare}, 10s);
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.err.find(warning), std::string::npos) << check.err;
  EXPECT_NE(check.out.find("Syntax OK"), std::string::npos) << check.out;
  RunResult quiet = run_pillar({"-t", "-f", with_user}, 10s);
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find(warning), std::string::npos) << quiet.err;

  {
    START_SERVER(srv, bare_text);
    EXPECT_TRUE(eventually([&] { return srv.stderr_text().find(warning) != std::string::npos; }, 5s))
        << srv.stderr_text();
    EXPECT_TRUE(eventually([&] { return t.read("error.log").find(warning) != std::string::npos; }, 5s))
        << t.read("error.log");
  }
  // The workers read the tree as nobody: make it world-readable.
  for (const char* p : {"", "/www", "/www/a.txt"}) chmod((t.root() + p).c_str(), 0755);
  START_SERVER(quiet_srv, user_text);
  EXPECT_EQ(curl_get(quiet_srv.base_url() + "/a.txt").status, 200);
  EXPECT_EQ(quiet_srv.stderr_text().find(warning), std::string::npos) << quiet_srv.stderr_text();
}

}  // namespace
}  // namespace itest

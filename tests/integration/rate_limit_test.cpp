// PillarRateLimit on real requests: a client's burst then 429 with
// Retry-After, the count node-wide and kept when every worker is killed
// (it lives in the master's shared memory), keys by a request field and by
// vhost, a <Location>'s own limit, and -t naming the line of each mistake.
#include <signal.h>

#include <algorithm>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

using namespace std::chrono_literals;

class RateLimit : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override {
    tree.write("www/index.html", "home\n");
    tree.mkdir("www/api");
    tree.write("www/api/x", "api\n");
  }
  int status(uint16_t port, const std::string& path, const std::string& headers = "") {
    return raw_get(port, path, "localhost", headers).first().status;
  }
};

TEST_F(RateLimit, BurstThenTooManyRequestsWithRetryAfter) {
  // One request a minute: nothing drains while the test runs.
  START_SERVER(srv, basic_config(docroot, "PillarRateLimitZone perclient client 1r/m\n"
                                          "PillarRateLimit perclient burst=3\n"));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(status(srv.port(), "/index.html"), 200) << i;
  auto r = raw_get(srv.port(), "/index.html").first();
  EXPECT_EQ(r.status, 429);
  const int retry = std::atoi(r.header("Retry-After").c_str());
  EXPECT_GE(retry, 55) << r.header("Retry-After");  // the next request fits in about a minute
  EXPECT_LE(retry, 63) << r.header("Retry-After");
  EXPECT_EQ(status(srv.port(), "/api/x"), 429) << "the vhost's limit covers every path";
}

// The buckets are the master's: kill every worker, and the replacements
// still refuse the client that used its burst.
TEST_F(RateLimit, TheCountIsNodeWideAndSurvivesKilledWorkers) {
  START_SERVER(srv, basic_config(docroot, "StartServers 2\n"
                                          "PillarRateLimitZone perclient client 1r/m\n"
                                          "PillarRateLimit perclient burst=5\n"));
  std::vector<pid_t> before;
  ASSERT_TRUE(eventually([&] { return (before = child_pids(srv.pid())).size() >= 2; }, 5s));
  int passed = 0;
  for (int i = 0; i < 12; ++i) passed += status(srv.port(), "/index.html") == 200;
  EXPECT_EQ(passed, 6) << "the first request and the burst of 5, whichever worker took each";
  for (pid_t p : before) ::kill(p, SIGKILL);
  std::vector<pid_t> now;
  ASSERT_TRUE(eventually([&] {
    now = child_pids(srv.pid());
    return !now.empty() && std::none_of(now.begin(), now.end(), [&](pid_t p) {
      return std::find(before.begin(), before.end(), p) != before.end();
    });
  }, 10s));
  int code = 0;
  ASSERT_TRUE(eventually([&] { return (code = status(srv.port(), "/index.html")) != 0; }, 5s));
  EXPECT_EQ(code, 429) << "new workers, the same count";
}

TEST_F(RateLimit, KeysByFieldAndALocationsOwnLimit) {
  START_SERVER(srv, basic_config(docroot, "PillarRateLimitZone perkey header=X-Api-Key 1r/m\n"
                                          "<Location /api>\n  PillarRateLimit perkey burst=1 nodelay\n</Location>\n"));
  EXPECT_EQ(status(srv.port(), "/api/x", "X-Api-Key: a\r\n"), 200);
  EXPECT_EQ(status(srv.port(), "/api/x", "X-Api-Key: a\r\n"), 200);
  EXPECT_EQ(status(srv.port(), "/api/x", "X-Api-Key: a\r\n"), 429);
  EXPECT_EQ(status(srv.port(), "/api/x", "X-Api-Key: b\r\n"), 200) << "another key, its own bucket";
  for (int i = 0; i < 4; ++i) EXPECT_EQ(status(srv.port(), "/api/x"), 200) << "no key: not counted";
  for (int i = 0; i < 4; ++i) EXPECT_EQ(status(srv.port(), "/index.html", "X-Api-Key: a\r\n"), 200) << "outside /api";
}

// One budget for a whole site: every client counts into the vhost's bucket;
// another vhost on the same address has its own.
TEST_F(RateLimit, AVhostZoneIsOneBudgetForTheSite) {
  // RemoteIP makes each request another client: only a per-site key refuses the fourth.
  START_SERVER(srv, basic_config(docroot, "RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1\n"
                                          "PillarRateLimitZone persite vhost 1r/m\n"
                                          "<VirtualHost *>\n  ServerName busy.test\n  DocumentRoot \"" + docroot +
                                              "\"\n  PillarRateLimit persite burst=2\n</VirtualHost>\n"
                                          "<VirtualHost *>\n  ServerName calm.test\n  DocumentRoot \"" + docroot +
                                              "\"\n</VirtualHost>\n"));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(raw_get(srv.port(), "/index.html", "busy.test", "X-Forwarded-For: 10.0.0." + std::to_string(i) + "\r\n")
                  .first().status, 200) << i;
  EXPECT_EQ(raw_get(srv.port(), "/index.html", "busy.test", "X-Forwarded-For: 10.0.0.9\r\n").first().status, 429);
  EXPECT_EQ(raw_get(srv.port(), "/index.html", "calm.test").first().status, 200) << "no limit there";
}

TEST(RateLimitConfig, CheckNamesTheLineAndTheFix) {
  TempTree t;
  std::string docroot = t.mkdir("www");
  auto check = [&](const std::string& extra) {
    t.write("p.conf", basic_config(docroot, extra));
    RunResult r = run_pillar({"-t", "-f", t.path("p.conf")});
    r.out += r.err;
    return r;
  };
  auto r = check("PillarRateLimit nosuch burst=2\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("p.conf:4: PillarRateLimit: no zone named 'nosuch'"), std::string::npos) << r.out;
  r = check("PillarRateLimitZone z client ten/s\n");
  EXPECT_NE(r.out.find("p.conf:4: PillarRateLimitZone: 'ten/s' is not a rate"), std::string::npos) << r.out;
  r = check("PillarRateLimitZone z client 5r/s\nPillarRateLimit z delay=3\n");
  EXPECT_NE(r.out.find("p.conf:5: PillarRateLimit: 'delay=3': delaying requests"), std::string::npos) << r.out;
  r = check("PillarRateLimitZone z remote 5r/s\n");
  EXPECT_NE(r.out.find("is not a key"), std::string::npos) << r.out;
  r = check("PillarRateLimitZone z client 5r/s\nPillarRateLimit z burst=10\n");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace itest

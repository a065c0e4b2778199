// HUP (restart) and WINCH (graceful stop), with Apache's meanings.
#include <signal.h>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

TEST(ProcessSignals, HupRestartsWithANewGenerationOfWorkers) {
  TempTree t;
  t.write("www/a.txt", "hello");
  START_SERVER(srv, process_config(t.path("www"), t.root(), "StartServers 2\n"));
  StatusMap m;
  ASSERT_TRUE(wait_status(srv.port(), [](const StatusMap& s) { return status_num(s, "Processes") == 2; }, 5s, &m))
      << status_brief(m);
  std::vector<pid_t> before = child_pids(srv.pid());
  ASSERT_EQ(kill(srv.pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_status(
      srv.port(), [](const StatusMap& s) { return status_num(s, "ParentServerMPMGeneration") == 1; }, 5s, &m))
      << status_brief(m);
  // The old workers are stopped, not drained: they are gone promptly.
  EXPECT_TRUE(eventually([&] {
    for (pid_t p : before)
      if (process_alive(p)) return false;
    return true;
  }, 5s));
  EXPECT_EQ(curl_get(srv.base_url() + "/a.txt").status, 200);
}

TEST(ProcessSignals, WinchStopsGracefullyAfterTheLastResponse) {
  TempTree t;
  t.write("www/a.txt", "hello");
  START_SERVER(srv, process_config(t.path("www"), t.root(), "StartServers 1\nKeepAliveTimeout 30\nLogLevel info\n"));
  RawConnection c(srv.port());
  ASSERT_TRUE(c.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_EQ(c.read_response(3s).status, 200);
  // A request under way when the drain begins (its head half sent, so the
  // connection is not idle: idle ones are closed at once, as Apache does)
  // is answered, with Connection: close, then the master exits.
  ASSERT_TRUE(c.send("GET /a.txt HTTP/1.1\r\n"));
  StatusMap st;
  ASSERT_TRUE(wait_status(
      srv.port(), [](const StatusMap& m) { auto it = m.find("Scoreboard"); return it != m.end() && it->second.find('R') != std::string::npos; },
      3s, &st))
      << status_brief(st);
  ASSERT_EQ(kill(srv.pid(), SIGWINCH), 0);
  ASSERT_TRUE(eventually([&] { return srv.stderr_text().find("draining") != std::string::npos; }, 3s))
      << srv.stderr_text();
  ASSERT_TRUE(c.send("Host: localhost\r\n\r\n"));
  HttpResponse r = c.read_response(3s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(lower(r.header("Connection")), "close");
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_TRUE(eventually([&] { return !process_alive(srv.pid()); }, 5s));
  EXPECT_EQ(srv.stop(), 0);
}

}  // namespace
}  // namespace itest

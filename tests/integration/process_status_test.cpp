// server-status (scoreboard states, ?auto format, ExtendedStatus, access
// control) and the Prometheus metrics.
#include <cstdlib>
#include <regex>
#include <sstream>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

class ProcessStatus : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
  std::string config(const std::string& extra = "") const {
    return process_config(docroot, tree.root(),
                          "StartServers 1\nServerLimit 1\nThreadsPerChild 10\nEventThreadsPerChild 1\n"
                          "KeepAliveTimeout 30\nExtendedStatus On\n" + extra);
  }
};

bool is_number(const std::string& v) {
  if (v.empty()) return false;
  char* end = nullptr;
  std::strtod(v.c_str(), &end);
  return end && *end == 0;
}

TEST_F(ProcessStatus, ScoreboardShowsReadingAndKeepAlive) {
  START_SERVER(srv, config());
  const uint16_t port = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == 1; }, 5s, &st))
      << status_brief(st);

  RawConnection reading(port);
  ASSERT_TRUE(reading.connected());
  ASSERT_TRUE(reading.send("GET /index.html HTTP/1.1\r\nHost: loc"));
  RawConnection idle(port);
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(idle.send("GET /index.html?marker=status-test HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_EQ(idle.read_response(3s).status, 200);

  EXPECT_TRUE(wait_status(
      port,
      [](const StatusMap& m) {
        auto it = m.find("Scoreboard");
        if (it == m.end()) return false;
        return it->second.find('R') != std::string::npos && it->second.find('K') != std::string::npos;
      },
      3s, &st))
      << status_brief(st);
  EXPECT_GE(status_num(st, "ConnsAsyncKeepAlive"), 1) << status_brief(st);
  EXPECT_EQ(st["Scoreboard"].size(), 10u) << st["Scoreboard"];
  EXPECT_GE(status_num(st, "BusyWorkers"), 2) << status_brief(st);

  // ExtendedStatus: the other connection's client and request line.
  CurlResult html = curl_get(srv.base_url() + "/server-status");
  ASSERT_EQ(html.status, 200);
  EXPECT_NE(html.header("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(html.body.find("127.0.0.1"), std::string::npos) << html.body;
  EXPECT_NE(html.body.find("GET /index.html?marker=status-test HTTP/1.1"), std::string::npos) << html.body;

  // Both connections still work.
  ASSERT_TRUE(reading.send("alhost\r\n\r\n"));
  EXPECT_EQ(reading.read_response(3s).status, 200);
  ASSERT_TRUE(idle.send("GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(idle.read_response(3s).status, 200);
}

// `pillar -V` and server-status (?auto and the page) give one build time
// (a regression: each had its own __DATE__ __TIME__, seconds apart).
TEST_F(ProcessStatus, BuildTimeIsTheSameInVersionAndStatus) {
  RunResult v = run_pillar({"-V"});
  ASSERT_EQ(v.exit_code, 0) << v.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(v.out, m, std::regex("Server built: +([^\n]+)\n"))) << v.out;
  const std::string built = m[1];
  EXPECT_TRUE(std::regex_match(built, std::regex(R"([A-Z][a-z]{2} [ \d]\d \d{4} \d{2}:\d{2}:\d{2})"))) << built;
  START_SERVER(srv, config());
  CurlResult a = curl_get(srv.base_url() + "/server-status?auto");
  ASSERT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("\nServer Built: " + built + "\n"), std::string::npos) << "-V: " << built << "\n" << a.body;
  CurlResult h = curl_get(srv.base_url() + "/server-status");
  ASSERT_EQ(h.status, 200);
  EXPECT_NE(h.body.find("Server Built: " + built + "\n"), std::string::npos) << "-V: " << built << "\n" << h.body;
}

TEST_F(ProcessStatus, AutoOutputIsKeyValueWithNumbers) {
  START_SERVER(srv, config());
  ASSERT_EQ(curl_get(srv.base_url() + "/index.html").status, 200);
  CurlResult r = curl_get(srv.base_url() + "/server-status?auto");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.header("Content-Type").find("text/plain"), std::string::npos) << r.header("Content-Type");
  std::istringstream in(r.body);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_GT(lines.size(), 10u) << r.body;
  // As mod_status: the first line is the server name (with UseCanonicalName
  // Off, the request's Host: curl sends 127.0.0.1); every other line is "Key: value".
  EXPECT_EQ(lines[0], "127.0.0.1");
  std::map<std::string, std::string> kv;
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t sep = lines[i].find(": ");
    ASSERT_NE(sep, std::string::npos) << "line " << i << " is not \"Key: value\": " << lines[i];
    EXPECT_GT(sep, 0u) << lines[i];
    EXPECT_EQ(kv.count(lines[i].substr(0, sep)), 0u) << "duplicate key: " << lines[i];
    kv[lines[i].substr(0, sep)] = lines[i].substr(sep + 2);
  }
  for (const char* k :
       {"ParentServerConfigGeneration", "ParentServerMPMGeneration", "ServerUptimeSeconds", "Load1", "Load5",
        "Load15", "Total Accesses", "Total kBytes", "CPUUser", "CPUSystem", "CPUChildrenUser", "CPUChildrenSystem",
        "CPULoad", "Uptime", "ReqPerSec", "BytesPerSec", "BytesPerReq", "BusyWorkers", "GracefulWorkers",
        "IdleWorkers", "Processes", "Stopping", "ConnsTotal", "ConnsAsyncWriting", "ConnsAsyncKeepAlive",
        "ConnsAsyncClosing"}) {
    ASSERT_EQ(kv.count(k), 1u) << "missing " << k << " in\n" << r.body;
    EXPECT_TRUE(is_number(kv[k])) << k << ": \"" << kv[k] << "\" is not numeric";
  }
  EXPECT_GE(std::atoll(kv["Total Accesses"].c_str()), 1);
  EXPECT_EQ(kv["Processes"], "1");
  EXPECT_EQ(kv["ParentServerMPMGeneration"], "0");
  EXPECT_TRUE(std::regex_match(kv["Scoreboard"], std::regex(R"([_SRWKDCLGI.]{10})"))) << kv["Scoreboard"];
  EXPECT_EQ(kv["ServerMPM"], "event");
}

TEST_F(ProcessStatus, RequireIpDeniesOtherClients) {
  START_SERVER(srv, config("<Location /server-status>\n  Require ip 10.0.0.0/8\n</Location>\n"));
  EXPECT_EQ(curl_get(srv.base_url() + "/server-status").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/server-status?auto").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/index.html").status, 200);
}

TEST_F(ProcessStatus, RequireIpInsideTheHandlerLocation) {
  // The same with the Require inside the very <Location> that sets the handler.
  TempTree t2;
  std::string cfg = "Listen 127.0.0.1:0\nServerName localhost\nDocumentRoot \"" + docroot + "\"\nPidFile \"" +
                    t2.root() + "/pillar.pid\"\nStartServers 1\nServerLimit 1\nThreadsPerChild 10\n"
                    "<Location /server-status>\n  SetHandler server-status\n  Require ip 10.0.0.0/8\n</Location>\n";
  START_SERVER(srv, cfg);
  EXPECT_EQ(curl_get(srv.base_url() + "/server-status").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/index.html").status, 200);
}

TEST_F(ProcessStatus, MetricsArePrometheusText) {
  START_SERVER(srv, config());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(curl_get(srv.base_url() + "/index.html").status, 200);
  CurlResult r = curl_get(srv.base_url() + "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.header("Content-Type").find("text/plain"), std::string::npos) << r.header("Content-Type");
  EXPECT_NE(r.body.find("# HELP pillar_requests_total "), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("# TYPE pillar_requests_total counter\n"), std::string::npos) << r.body;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.body, m, std::regex(R"(\npillar_requests_total (\d+)\n)"))) << r.body;
  EXPECT_GE(std::stoll(m[1].str()), 3);
  // Every non-comment line is "name[{labels}] value" (names as Prometheus
  // allows them: a letter or '_' first, then digits too: pillar_http2_*).
  std::istringstream in(r.body);
  for (std::string l; std::getline(in, l);) {
    if (l.empty() || l[0] == '#') continue;
    EXPECT_TRUE(std::regex_match(l, std::regex(R"([a-z_][a-z0-9_]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.]+(e[+-]?[0-9]+)?)"))) << l;
  }
}

}  // namespace
}  // namespace itest

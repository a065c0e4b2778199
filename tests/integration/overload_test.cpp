// Overload protection on real connections: PillarMaxConnectionsPerClient
// counted node-wide (two workers, one count; the slot given back at close
// and by the master when the worker holding it is killed), and
// PillarShedLoad refusing low-priority paths with 503 + Retry-After while
// the connections in use or the load average pass the bound, counted in
// server-status and /metrics; -t naming the line of each mistake.
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <memory>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

using namespace std::chrono_literals;

class Overload : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override {
    tree.write("www/index.html", "home\n");
    tree.mkdir("www/batch");
    tree.write("www/batch/x", "batch\n");
  }
  // Keep-alive connections that have each been answered once (so each is
  // really held by a worker, not waiting in the backlog).
  std::vector<std::unique_ptr<RawConnection>> hold(uint16_t port, int n) {
    std::vector<std::unique_ptr<RawConnection>> v;
    for (int i = 0; i < n; ++i) {
      auto c = std::make_unique<RawConnection>(port);
      EXPECT_TRUE(c->connected());
      EXPECT_TRUE(c->send("GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      EXPECT_EQ(c->read_response().status, 200) << i;
      v.push_back(std::move(c));
    }
    return v;
  }
  std::string metric(const ServerProcess& srv, const std::string& name, const std::string& host = "localhost") {
    std::string body = curl_get(srv.base_url() + "/metrics", {"Host: " + host}).body;
    size_t at = body.find("\n" + name + " ");
    return at == std::string::npos ? std::string() : body.substr(at + name.size() + 2, body.find('\n', at + 1) - at - name.size() - 2);
  }
};

const char* kMetrics = "<Location /metrics>\n  SetHandler pillar-metrics\n</Location>\n";

TEST_F(Overload, ConnectionsPerClientAreCountedAcrossWorkersAndGivenBack) {
  START_SERVER(srv, basic_config(docroot, std::string("StartServers 2\nServerLimit 2\nPillarMaxConnectionsPerClient 3\n") + kMetrics));
  std::vector<pid_t> kids;
  ASSERT_TRUE(eventually([&] { return (kids = child_pids(srv.pid())).size() == 2; }, 5s));
  auto held = hold(srv.port(), 3);
  // The fourth, whichever worker accepts it, is one too many: 503 and closed.
  for (int i = 0; i < 4; ++i) {
    RawConnection extra(srv.port());
    ASSERT_TRUE(extra.send("GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    HttpResponse r = extra.read_response();
    EXPECT_EQ(r.status, 503) << i;
    EXPECT_TRUE(extra.wait_closed()) << i;
  }
  // Closing one gives its count back (the refused ones held nothing).
  held.pop_back();
  int refused_meanwhile = 0;  // until the server has seen the close
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    RawConnection c(srv.port());
    c.send("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
    HttpResponse r = c.read_response();
    refused_meanwhile += r.status == 503;
    metrics = r.body;
    return r.status == 200;
  })) << "a connection is free again";
  EXPECT_NE(metrics.find("\npillar_client_limit_refusals_total " + std::to_string(4 + refused_meanwhile) + "\n"),
            std::string::npos) << metrics;
  // A worker killed while it holds the connections: the master gives their counts back.
  ASSERT_EQ(held.size(), 2u);
  for (pid_t p : kids) ::kill(p, SIGKILL);
  held.clear();
  std::vector<pid_t> now;
  ASSERT_TRUE(eventually([&] {
    now = child_pids(srv.pid());
    return now.size() == 2 && std::find(now.begin(), now.end(), kids[0]) == now.end() &&
           std::find(now.begin(), now.end(), kids[1]) == now.end();
  }, 5s));
  auto again = hold(srv.port(), 3);  // all three back: nothing leaked by the killed workers
  RawConnection extra(srv.port());
  ASSERT_TRUE(extra.send("GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(extra.read_response().status, 503);
}

TEST_F(Overload, LowPriorityPathsAreShedWhileTheConnectionsInUsePassTheBound) {
  START_SERVER(srv, basic_config(docroot, std::string("StartServers 1\nServerLimit 1\nThreadsPerChild 10\n"
                                                      "MaxRequestWorkers 10\nPillarShedLoad busy=50% retry-after=7\n"
                                                      "<Location /batch>\n  PillarPriority low\n</Location>\n") +
                                              kMetrics));
  EXPECT_EQ(raw_get(srv.port(), "/batch/x").first().status, 200) << "under the bound, low priority passes";
  auto held = hold(srv.port(), 5);  // 5 of 10 in use; the request's own connection makes 6
  auto shed = raw_get(srv.port(), "/batch/x").first();
  EXPECT_EQ(shed.status, 503);
  EXPECT_EQ(shed.header("Retry-After"), "7");
  EXPECT_EQ(raw_get(srv.port(), "/index.html").first().status, 200) << "normal priority still passes";
  EXPECT_EQ(metric(srv, "pillar_shed_requests_total"), "1");
  held.clear();
  EXPECT_TRUE(eventually([&] { return raw_get(srv.port(), "/batch/x").first().status == 200; }))
      << "below the bound again, low priority passes";
}

TEST_F(Overload, LowPriorityVhostIsShedOverTheLoadAverage) {
  const std::string load = tree.path("loadavg");
  tree.write("loadavg", "0.10 0.10 0.10 1/100 1\n");
  std::string cfg = basic_config(docroot, std::string("PillarShedLoad loadavg=4.5\n") +
                                              "<VirtualHost *>\n  ServerName bulk.test\n  DocumentRoot \"" + docroot +
                                              "\"\n  PillarPriority low\n</VirtualHost>\n"
                                              "<VirtualHost *>\n  ServerName shop.test\n  DocumentRoot \"" + docroot +
                                              "\"\n" + kMetrics + "</VirtualHost>\n");
  START_SERVER(srv, cfg, 1, {"PILLAR_LOADAVG_FILE=" + load});
  EXPECT_EQ(raw_get(srv.port(), "/index.html", "bulk.test").first().status, 200);
  tree.write("loadavg", "7.25 3.00 1.00 1/100 1\n");  // the master samples it each second
  EXPECT_TRUE(eventually([&] { return raw_get(srv.port(), "/index.html", "bulk.test").first().status == 503; }, 5s));
  EXPECT_EQ(raw_get(srv.port(), "/index.html", "shop.test").first().status, 200);
  EXPECT_EQ(metric(srv, "pillar_shed_load_average", "shop.test"), "7.250");
  tree.write("loadavg", "4.49 3.00 1.00 1/100 1\n");
  EXPECT_TRUE(eventually([&] { return raw_get(srv.port(), "/index.html", "bulk.test").first().status == 200; }, 5s));
}

TEST(OverloadConfig, CheckNamesTheLineAndTheFix) {
  struct Case {
    std::string line, expect;
  } cases[] = {
      {"PillarShedLoad", "PillarShedLoad"},
      {"PillarShedLoad loadavg=abc", "is not a load average"},
      {"PillarShedLoad busy=150%", "busy="},
      {"PillarShedLoad retry-after=5", "give loadavg=N or busy=P%"},
      {"PillarShedLoad soon", "unknown argument 'soon'"},
      {"PillarPriority urgent", "write low or normal"},
      {"PillarMaxConnectionsPerClient lots", "PillarMaxConnectionsPerClient"},
  };
  for (const auto& c : cases) {
    std::string path;
    RunResult r = check_config("Listen 127.0.0.1:0\nServerName localhost\n" + c.line + "\n", &path);
    EXPECT_NE(r.exit_code, 0) << c.line;
    EXPECT_NE(r.err.find(path + ":3"), std::string::npos) << c.line << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.line << "\n" << r.err;
  }
}

}  // namespace
}  // namespace itest

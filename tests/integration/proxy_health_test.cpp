// Active health checks: a member whose check fails hcfails times in a row is
// taken out for every worker (Err), one that passes hcpasses times comes
// back; ProxyPassReverseCookiePath rewrites Set-Cookie paths.
#include <signal.h>

#include <cstdio>
#include <map>

#include "backend.h"
#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

std::string ctl(const std::string& socket, const std::string& args) { return pillarctl(socket, "-j " + args); }

TEST(ProxyHealth, FailingMemberIsTakenOutAndComesBack) {
  TempTree t;
  t.write("a/index.html", "a");
  t.write("a/health", "ok");
  t.write("b/index.html", "b");
  t.write("b/health", "ok");
  START_SERVER(ma, basic_config(t.path("a"), "StartServers 1\nPidFile " + t.path("a.pid") + "\n"));
  START_SERVER(mb, basic_config(t.path("b"), "StartServers 1\nPidFile " + t.path("b.pid") + "\n"));
  std::string sock = t.path("ctl.sock");
  std::string hc = " hcmethod=GET hcuri=/health hcinterval=100ms hcfails=2 hcpasses=2 hctimeout=500ms";
  START_SERVER(front, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 2\nPidFile " + t.path("f.pid") +
                          "\nPillarControlSocket " + sock + "\n<Proxy balancer://app>\nBalancerMember http://127.0.0.1:" +
                          std::to_string(ma.port()) + hc + "\nBalancerMember http://127.0.0.1:" +
                          std::to_string(mb.port()) + hc + "\n</Proxy>\nProxyPass /app/ balancer://app/\n");
  auto spread = [&](int n) {
    std::map<std::string, int> m;
    for (int i = 0; i < n; ++i) ++m[curl_get(front.base_url() + "/app/").body];
    return m;
  };
  // The check fails (404) once b's health file is gone: b is out within
  // about hcfails x hcinterval, for every worker.
  std::remove(t.path("b/health").c_str());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return ctl(sock, "balancer app").find("\"E\"") != std::string::npos; }, 3s))
      << ctl(sock, "balancer app");
  auto down_ms = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
  std::printf("health check took member b out after %lld ms (hcinterval 100ms, hcfails 2)\n", static_cast<long long>(down_ms));
  EXPECT_LT(down_ms, 1500);
  EXPECT_EQ(spread(20)["a"], 20);
  // Back after hcpasses good checks.
  t.write("b/health", "ok");
  ASSERT_TRUE(eventually([&] { return ctl(sock, "balancer app").find("\"E\"") == std::string::npos; }, 3s));
  auto both = spread(20);
  EXPECT_EQ(both["a"], 10);
  EXPECT_EQ(both["b"], 10);
}

TEST(ProxyHealth, CookiePathAndDomainAreRewritten) {
  Backend member("m", [](const BackendRequest&) {
    BackendReply r;
    r.bytes = "HTTP/1.1 200 OK\r\nSet-Cookie: sid=1; Path=/internal/app; Domain=backend.local; HttpOnly\r\n"
              "Content-Length: 2\r\n\r\nok";
    return r;
  });
  ASSERT_TRUE(member.ok());
  TempTree t;
  START_SERVER(front, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nPidFile " + t.path("f.pid") +
                          "\nProxyPass /app/ http://127.0.0.1:" + std::to_string(member.port()) +
                          "/internal/app/\nProxyPassReverseCookiePath /internal/app /app\n"
                          "ProxyPassReverseCookieDomain backend.local www.example.com\n");
  CurlResult r = curl_get(front.base_url() + "/app/x");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Set-Cookie"), "sid=1; Path=/app; Domain=www.example.com; HttpOnly");
}

TEST(ProxyHealth, ProxyPassMatchUsesRegexGroupsAndComesFirst) {
  Backend member("m", [](const BackendRequest& req) {
    BackendReply r;
    r.bytes = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(req.target.size()) + "\r\n\r\n" + req.target;
    return r;
  });
  ASSERT_TRUE(member.ok());
  TempTree t;
  t.write("www/local.gif", "local");
  START_SERVER(front, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nPidFile " + t.path("f.pid") +
                          "\nDocumentRoot " + t.path("www") + "\nProxyPassMatch ^/local\\.gif$ !\n"
                          "ProxyPassMatch ^/img/(.*)\\.gif$ http://127.0.0.1:" + std::to_string(member.port()) +
                          "/images/$1.png\nProxyPass /img/ http://127.0.0.1:" + std::to_string(member.port()) + "/other/\n");
  EXPECT_EQ(curl_get(front.base_url() + "/img/a/b.gif?x=1").body, "/images/a/b.png?x=1");
  EXPECT_EQ(curl_get(front.base_url() + "/img/a.jpg").body, "/other/a.jpg");  // not matched: the prefix route
  EXPECT_EQ(curl_get(front.base_url() + "/local.gif").body, "local");         // excluded: served locally
  EXPECT_EQ(check_config("Listen 80\nProxyPassMatch ^/(( http://127.0.0.1/\n").exit_code, 1);
}

TEST(ProxyHealth, SmallBodyOfIdempotentRequestIsRetriedWhole) {
  Backend dead("dead", [](const BackendRequest&) {
    BackendReply r;  // reads the request, then closes without a byte
    r.close_after = true;
    return r;
  });
  Backend good("good", [](const BackendRequest& req) {
    BackendReply r;
    r.bytes = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(req.body.size()) + "\r\n\r\n" + req.body;
    return r;
  });
  ASSERT_TRUE(dead.ok() && good.ok());
  TempTree t;
  START_SERVER(front, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nPidFile " + t.path("f.pid") +
                          "\n<Proxy balancer://app>\nBalancerMember http://127.0.0.1:" + std::to_string(dead.port()) +
                          "\nBalancerMember http://127.0.0.1:" + std::to_string(good.port()) +
                          "\n</Proxy>\nProxyPass / balancer://app/\n");
  std::string body(5000, 'p');
  CurlOptions o;
  o.method = "PUT";
  o.body = body;
  CurlResult r = curl_request(front.base_url() + "/doc", o);
  EXPECT_EQ(r.status, 200) << r.curl_error;
  EXPECT_EQ(r.body, body);  // the whole body reached the second member
}

TEST(ProxyHealth, RoutesByRequestHeaderAndClientNetwork) {
  auto named = [](const char* name) {
    return [name](const BackendRequest&) {
      BackendReply r;
      r.bytes = std::string("HTTP/1.1 200 OK\r\nContent-Length: ") + std::to_string(strlen(name)) + "\r\n\r\n" + name;
      return r;
    };
  };
  Backend main_pool("main", named("main")), beta("beta", named("beta")), office("office", named("office"));
  ASSERT_TRUE(main_pool.ok() && beta.ok() && office.ok());
  TempTree t;
  auto url = [](const Backend& b) { return "http://127.0.0.1:" + std::to_string(b.port()) + "/"; };
  START_SERVER(front, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nPidFile " + t.path("f.pid") +
                          "\nProxyPass /app/ " + url(main_pool) + "\nProxyPass /app/ " + url(beta) +
                          " when-header=X-Beta:1\nProxyPass /app/ " + url(office) + " when-network=10.0.0.0/8\nProxyPass /lan/ " + url(main_pool) + "\nProxyPass /lan/ " + url(office) +
                          " when-network=127.0.0.0/8\n");
  EXPECT_EQ(curl_get(front.base_url() + "/app/x").body, "main");
  EXPECT_EQ(curl_get(front.base_url() + "/app/x", {"X-Beta: 1"}).body, "beta");
  EXPECT_EQ(curl_get(front.base_url() + "/app/x", {"X-Beta: 2"}).body, "main");
  // 127.0.0.1 is not in 10.0.0.0/8 but is in 127.0.0.0/8.
  EXPECT_EQ(curl_get(front.base_url() + "/lan/x").body, "office");
  EXPECT_EQ(check_config("Listen 80\nProxyPass /a/ http://127.0.0.1/ when-network=banana\n").exit_code, 1);
}

}  // namespace
}  // namespace itest

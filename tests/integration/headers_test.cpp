// The metadata modules on real responses: Header and RequestHeader
// (static, proxied, a member's 404, the proxy's own 502, a redirect),
// SetEnvIf/BrowserMatch and SetEnv into %{VAR}e of Header values and the
// access log, Apache's sticky-cookie recipe over two members
// (BALANCER_ROUTE_CHANGED, BALANCER_WORKER_ROUTE), ExpiresByType on static
// and proxied answers, ServerSignature on error pages and listings, and
// Debian's setenvif.conf (nokeepalive, force-response-1.0). The expected
// answers are Apache 2.4's for the same lines.
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "backend.h"
#include "test_common.h"

namespace itest {
namespace {

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class Headers : public ::testing::Test {
 protected:
  TempTree t;
  std::string docroot = t.mkdir("www");
  void SetUp() override {
    t.write("www/a.txt", "body\n");
    t.write("www/page.html", "<p>page</p>\n");
    t.mkdir("www/list");
    t.write("www/list/one.txt", "1\n");
  }
  std::string config(const std::string& extra) const {
    return basic_config(docroot, "StartServers 1\nServerLimit 1\nEventThreadsPerChild 1\nPidFile " + t.path("pillar.pid") +
                                     "\n" + extra);
  }
};

TEST_F(Headers, StaticSuccessGetsBothTablesAnErrorOnlyAlways) {
  START_SERVER(s, config("Header set X-OnSuccess yes\nHeader always set X-Always yes\nHeader append X-Order a\n"
                         "Header append X-Order b\nHeader unset ETag\nHeader merge Cache-Control private\n"
                         "<Location /a.txt>\n  Header set X-Loc here\n</Location>\n"));
  CurlResult ok = curl_get(s.base_url() + "/a.txt");
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.header("X-OnSuccess"), "yes");
  EXPECT_EQ(ok.header("X-Always"), "yes");
  EXPECT_EQ(ok.header("X-Order"), "a, b");
  EXPECT_EQ(ok.header("X-Loc"), "here");
  EXPECT_EQ(ok.header("Cache-Control"), "private");
  EXPECT_FALSE(ok.has("ETag"));
  EXPECT_FALSE(ok.header("Last-Modified").empty());
  EXPECT_EQ(ok.body, "body\n");
  CurlResult missing = curl_get(s.base_url() + "/missing");
  ASSERT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("X-Always"), "yes");
  EXPECT_FALSE(missing.has("X-OnSuccess")) << "onsuccess does not reach the server's own errors, as Apache";
  EXPECT_FALSE(curl_get(s.base_url() + "/page.html").has("X-Loc"));
}

// HSTS on a redirect: `always` reaches an answer given before the filter step.
TEST_F(Headers, AlwaysReachesARedirectAndA413) {
  START_SERVER(s, config("Header always set Strict-Transport-Security \"max-age=63072000\"\nHeader set X-OnSuccess yes\n"
                         "Redirect /old http://example.com/new\nLimitRequestBody 10\n"));
  CurlResult r = curl_get(s.base_url() + "/old");
  ASSERT_EQ(r.status, 302);
  EXPECT_EQ(r.header("Location"), "http://example.com/new");
  EXPECT_EQ(r.header("Strict-Transport-Security"), "max-age=63072000");
  EXPECT_FALSE(r.has("X-OnSuccess"));
  CurlOptions post;
  post.method = "POST";
  post.body = std::string(100, 'x');
  CurlResult big = curl_request(s.base_url() + "/a.txt", post);
  ASSERT_EQ(big.status, 413);
  EXPECT_EQ(big.header("Strict-Transport-Security"), "max-age=63072000");
}

TEST_F(Headers, SetEnvIfAndSetEnvFeedHeaderValuesConditionsAndTheLog) {
  std::string log = t.path("access.log");
  START_SERVER(s, config("SetEnvIf User-Agent \"^tester/(\\d+)\" TV=$1\nBrowserMatchNoCase ^TESTER is_tester\n"
                         "SetEnvIf Request_URI \\.txt$ txt\nSetEnv FROM_SETENV on\n"
                         "<Location /a.txt>\n  SetEnvIf Remote_Addr ^127\\. local=yes\n</Location>\n"
                         "Header set X-Env \"v=%{TV}e t=%{is_tester}e txt=%{txt}e local=%{local}e se=%{FROM_SETENV}e "
                         "none=%{NOPE}e\"\n"
                         "Header set X-Tester 1 env=is_tester\nHeader set X-Not-Tester 1 env=!is_tester\n"
                         "Header set X-Time \"%D %t\"\n"
                         "LogFormat \"%U tv=%{TV}e local=%{local}e\" envlog\nCustomLog " + log + " envlog\n"));
  CurlResult r = curl_get(s.base_url() + "/a.txt", {"User-Agent: tester/42"});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("X-Env"), "v=42 t=1 txt=1 local=yes se=on none=(null)");
  EXPECT_EQ(r.header("X-Tester"), "1");
  EXPECT_FALSE(r.has("X-Not-Tester"));
  std::string xt = r.header("X-Time");
  ASSERT_EQ(xt.rfind("D=", 0), 0u) << xt;
  size_t t_at = xt.find(" t=");
  ASSERT_NE(t_at, std::string::npos) << xt;
  uint64_t t_us = std::stoull(xt.substr(t_at + 3));
  EXPECT_LT(std::llabs(static_cast<long long>(t_us / 1000000) - static_cast<long long>(time(nullptr))), 10) << xt;
  CurlResult other = curl_get(s.base_url() + "/page.html", {"User-Agent: curl/8"});
  EXPECT_EQ(other.header("X-Env"), "v=(null) t=(null) txt=(null) local=(null) se=on none=(null)");
  EXPECT_EQ(other.header("X-Not-Tester"), "1");
  ASSERT_TRUE(eventually([&] { return slurp(log).find("/page.html") != std::string::npos; })) << slurp(log);
  EXPECT_NE(slurp(log).find("/a.txt tv=42 local=yes\n"), std::string::npos) << slurp(log);
  EXPECT_NE(slurp(log).find("/page.html tv=- local=-\n"), std::string::npos) << slurp(log);
}

// A member's answer is in the onsuccess table whatever its status;
// RequestHeader edits what the member receives.
TEST_F(Headers, ProxiedAnswersAndRequestHeader) {
  Backend be("be1", [](const BackendRequest& q) {
    if (q.target == "/gone") return BackendReply{"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nX-Backend: be1\r\n\r\nno"};
    std::string body;
    for (const auto& [n, v] : q.headers) body += n + ": " + v + "\n";
    return BackendReply{"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nX-Backend: be1\r\nX-Internal: secret\r\nSet-Cookie: s=1\r\n\r\n" + body};
  });
  ASSERT_TRUE(be.ok());
  START_SERVER(s, config("ProxyPass /app " + be.url() + " retry=0\n"
                         "RequestHeader set X-Req-One \"one\"\nRequestHeader append X-Req-Two a\n"
                         "RequestHeader merge X-Req-Two a\nRequestHeader unset X-Drop\n"
                         "RequestHeader edit X-Edit ^(.*)$ [$1]\n"
                         "Header unset X-Internal\nHeader always unset X-Backend\nHeader set X-OnSuccess yes\n"
                         "Header always set X-Always yes\nHeader edit Set-Cookie $ \"; HttpOnly\"\n"));
  CurlResult r = curl_get(s.base_url() + "/app/x", {"X-Req-Two: z", "X-Drop: 1", "X-Edit: v"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("X-Req-One: one\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Req-Two: z, a\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Edit: [v]\n"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("X-Drop"), std::string::npos) << r.body;
  EXPECT_FALSE(r.has("X-Internal"));
  EXPECT_EQ(r.header("X-Backend"), "be1") << "always does not see a member's fields, as Apache";
  EXPECT_EQ(r.header("Set-Cookie"), "s=1; HttpOnly");
  EXPECT_EQ(r.header("X-OnSuccess"), "yes");
  EXPECT_EQ(r.header("X-Always"), "yes");
  CurlResult gone = curl_get(s.base_url() + "/app/gone");
  ASSERT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, "no");
  EXPECT_EQ(gone.header("X-OnSuccess"), "yes") << "a member's 404 is a successful proxying";
}

// A cache hit is edited as the member's answer was; the stored copy is the
// member's own (an edit made for one client is not served to the next).
TEST_F(Headers, CachedAnswersAreEditedOnEachDelivery) {
  Backend be("be1", [](const BackendRequest&) {
    return BackendReply{"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 2\r\nX-Backend: be1\r\n\r\nok"};
  });
  ASSERT_TRUE(be.ok());
  START_SERVER(s, config("ProxyPass /app " + be.url() + " retry=0\nCacheEnable mem /app\nCacheHeader on\n"
                         "SetEnvIf X-Client (.+) CLIENT=$1\nHeader set X-Client \"%{CLIENT}e\"\nHeader unset X-Backend\n"));
  CurlResult miss = curl_get(s.base_url() + "/app/c", {"X-Client: one"});
  ASSERT_EQ(miss.status, 200);
  EXPECT_EQ(miss.header("X-Client"), "one");
  EXPECT_FALSE(miss.has("X-Backend"));
  CurlResult hit;
  ASSERT_TRUE(eventually([&] {
    hit = curl_get(s.base_url() + "/app/c", {"X-Client: two"});
    return hit.header("X-Cache").rfind("HIT", 0) == 0;
  })) << hit.header("X-Cache");
  EXPECT_EQ(hit.body, "ok");
  EXPECT_EQ(hit.header("X-Client"), "two");
  EXPECT_FALSE(hit.has("X-Backend"));
  EXPECT_EQ(be.request_count(), 1u);
}

TEST_F(Headers, TheProxysOwn502GetsOnlyAlways) {
  uint16_t dead = 0;
  int fd = listen_loopback(dead, 1);
  ASSERT_GE(fd, 0);
  ::close(fd);  // nothing listens there now
  START_SERVER(s, config("ProxyPass /app http://127.0.0.1:" + std::to_string(dead) + " retry=0\n"
                         "Header set X-OnSuccess yes\nHeader always set X-Always yes\n"));
  CurlResult r = curl_get(s.base_url() + "/app/x");
  ASSERT_TRUE(r.status == 502 || r.status == 503) << r.status;
  EXPECT_EQ(r.header("X-Always"), "yes");
  EXPECT_FALSE(r.has("X-OnSuccess"));
}

// Apache's own recipe (mod_proxy_balancer's manual) makes a new client sticky.
TEST_F(Headers, StickyCookieRecipeOverTwoMembers) {
  Backend a("a"), b("b");
  ASSERT_TRUE(a.ok() && b.ok());
  std::string log = t.path("balancer.log");
  START_SERVER(s, config("<Proxy balancer://app>\n  BalancerMember " + a.url() + " route=a\n  BalancerMember " + b.url() +
                         " route=b\n  ProxySet stickysession=ROUTEID\n</Proxy>\nProxyPass /app balancer://app\n"
                         "Header add Set-Cookie \"ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/\" env=BALANCER_ROUTE_CHANGED\n"
                         "LogFormat \"%U %{BALANCER_NAME}e %{BALANCER_WORKER_ROUTE}e %{BALANCER_ROUTE_CHANGED}e "
                         "%{BALANCER_SESSION_ROUTE}e %{Set-Cookie}o\" bal\nCustomLog " + log + " bal\n"));
  CurlResult first = curl_get(s.base_url() + "/app/first");
  ASSERT_EQ(first.status, 200) << first.body;
  std::string member = first.header("X-Backend");
  ASSERT_TRUE(member == "a" || member == "b") << member;
  EXPECT_EQ(first.header("Set-Cookie"), "ROUTEID=." + member + "; path=/");
  // The next requests carry the cookie: all go to the same member, and none resets it.
  for (int i = 0; i < 10; ++i) {
    CurlResult r = curl_get(s.base_url() + "/app/next", {"Cookie: ROUTEID=." + member});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("X-Backend"), member) << "request " << i;
    EXPECT_FALSE(r.has("Set-Cookie")) << "request " << i;
  }
  // A route that names no member: balanced, and the cookie set anew.
  CurlResult stale = curl_get(s.base_url() + "/app/stale", {"Cookie: ROUTEID=.zz"});
  ASSERT_EQ(stale.status, 200);
  EXPECT_EQ(stale.header("Set-Cookie"), "ROUTEID=." + stale.header("X-Backend") + "; path=/");
  ASSERT_TRUE(eventually([&] { return slurp(log).find("/app/stale") != std::string::npos; })) << slurp(log);
  // %{Set-Cookie}o logs the cookie the Header line added, as Apache logs after mod_headers.
  EXPECT_NE(slurp(log).find("/app/first balancer://app " + member + " 1 - ROUTEID=." + member + "; path=/\n"),
            std::string::npos) << slurp(log);
  EXPECT_NE(slurp(log).find("/app/next balancer://app " + member + " - " + member + " -\n"), std::string::npos) << slurp(log);
  EXPECT_NE(slurp(log).find("/app/stale balancer://app " + stale.header("X-Backend") + " 1 zz ROUTEID=."), std::string::npos)
      << slurp(log);
}

TEST_F(Headers, ExpiresOnStaticAndProxiedAnswers) {
  Backend be("be1", [](const BackendRequest& q) {
    std::string extra = q.target == "/own" ? "Expires: Thu, 01 Jan 2037 00:00:00 GMT\r\n" : "";
    std::string status = q.target == "/gone" ? "404 Not Found" : "200 OK";
    return BackendReply{"HTTP/1.1 " + status + "\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n" + extra + "\r\nok"};
  });
  ASSERT_TRUE(be.ok());
  START_SERVER(s, config("ExpiresActive On\nExpiresByType text/plain \"access plus 1 month 2 days\"\n"
                         "ExpiresByType text/html M60\nProxyPass /app " + be.url() + " retry=0\n"
                         "<Location /app/off>\n  ExpiresActive Off\n</Location>\n"));
  time_t before = time(nullptr);
  CurlResult txt = curl_get(s.base_url() + "/a.txt");
  ASSERT_EQ(txt.status, 200);
  EXPECT_EQ(txt.header("Cache-Control"), "max-age=2764800");
  time_t expires = 0;
  {
    struct tm tm {};
    ASSERT_NE(strptime(txt.header("Expires").c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm), nullptr) << txt.header("Expires");
    expires = timegm(&tm);
  }
  EXPECT_GE(expires, before + 2764800);
  EXPECT_LE(expires, time(nullptr) + 2764800);
  // A 304 carries no Content-Type; the file's type still decides, as Apache.
  CurlResult not_modified = curl_get(s.base_url() + "/a.txt", {"If-None-Match: " + txt.header("ETag")});
  ASSERT_EQ(not_modified.status, 304);
  EXPECT_EQ(not_modified.header("Cache-Control"), "max-age=2764800");
  // modification plus 60 s: the file was written just now.
  CurlResult html = curl_get(s.base_url() + "/page.html");
  ASSERT_TRUE(html.has("Cache-Control")) << "M60 on a fresh file";
  EXPECT_LE(std::stoi(html.header("Cache-Control").substr(8)), 60);
  EXPECT_FALSE(curl_get(s.base_url() + "/missing.txt").has("Expires"));
  CurlResult px = curl_get(s.base_url() + "/app/x");
  EXPECT_EQ(px.header("Cache-Control"), "max-age=2764800");
  CurlResult own = curl_get(s.base_url() + "/app/own");
  EXPECT_EQ(own.header("Expires"), "Thu, 01 Jan 2037 00:00:00 GMT");
  EXPECT_FALSE(own.has("Cache-Control")) << "the member's Expires is kept, nothing added";
  EXPECT_FALSE(curl_get(s.base_url() + "/app/off/x").has("Expires"));
  CurlResult gone = curl_get(s.base_url() + "/app/gone");
  ASSERT_EQ(gone.status, 404);
  EXPECT_FALSE(gone.has("Expires")) << "not on a member's 404 either, as Apache";
}

TEST_F(Headers, ServerSignatureOnErrorPagesAndListings) {
  START_SERVER(s, config("ServerSignature On\nServerAdmin admin@example.com\n"
                         "<Directory " + docroot + "/list>\n  Options +Indexes\n  ServerSignature EMail\n</Directory>\n"
                         "<Location /quiet>\n  ServerSignature Off\n</Location>\n"));
  std::string port = std::to_string(s.port());
  CurlResult missing = curl_get(s.base_url() + "/missing", {"Host: www.example.test:8443"});
  ASSERT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("<hr>\n<address>Pillar Server at www.example.test Port 8443</address>\n</body>"),
            std::string::npos) << missing.body;
  CurlResult plain = curl_get(s.base_url() + "/missing");
  EXPECT_NE(plain.body.find("<address>Pillar Server at 127.0.0.1 Port " + port + "</address>"), std::string::npos) << plain.body;
  CurlResult listing = curl_get(s.base_url() + "/list/");
  ASSERT_EQ(listing.status, 200);
  EXPECT_NE(listing.body.find("<address>Pillar Server at <a href=\"mailto:admin@example.com\">127.0.0.1</a> Port " + port +
                              "</address>"), std::string::npos) << listing.body;
  EXPECT_EQ(curl_get(s.base_url() + "/quiet/x").body.find("<address>"), std::string::npos);
}

TEST_F(Headers, ServerSignatureIsOffByDefault) {
  START_SERVER(s, config(""));
  CurlResult missing = curl_get(s.base_url() + "/missing");
  ASSERT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body.find("<address>"), std::string::npos) << missing.body;
}

// Debian's mods-enabled/setenvif.conf, as shipped.
TEST_F(Headers, DebiansSetEnvIfConfTakesEffect) {
  START_SERVER(s, config("Include " + std::string(PILLAR_FIXTURES) + "/debian-apache2/apache2/mods-enabled/setenvif.conf\n"));
  RawConnection old(s.port());
  ASSERT_TRUE(old.connected());
  ASSERT_TRUE(old.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/2.0 (compatible)\r\n\r\n"));
  HttpResponse r = old.read_response();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Connection"), "close") << "nokeepalive";
  EXPECT_TRUE(old.wait_closed());
  RawConnection modern(s.port());
  ASSERT_TRUE(modern.send("GET /a.txt HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0\r\n\r\n"));
  HttpResponse m = modern.read_response();
  ASSERT_EQ(m.status, 200);
  EXPECT_FALSE(m.has("Connection"));
  // force-response-1.0 answers an HTTP/1.0 Java/1.0 client in HTTP/1.0.
  auto java = raw_exchange(s.port(), "GET /a.txt HTTP/1.0\r\nUser-Agent: Java/1.0\r\n\r\n");
  ASSERT_FALSE(java.responses.empty()) << java.data;
  EXPECT_EQ(java.data.rfind("HTTP/1.0 200 ", 0), 0u) << java.data;
  auto other10 = raw_exchange(s.port(), "GET /a.txt HTTP/1.0\r\nUser-Agent: curl\r\n\r\n");
  EXPECT_EQ(other10.data.rfind("HTTP/1.1 200 ", 0), 0u) << other10.data;
}

TEST_F(Headers, ConfigCheckNamesTheLineAndTheFix) {
  std::string path;
  RunResult r = check_config(config("Header sett X-A 1\n"), &path);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find(":8: Header sett: first argument must be 'add', 'set'"), std::string::npos) << r.err;
  RunResult e = check_config(config("ExpiresByType text/html \"access plus 1 fortnight\"\n"));
  EXPECT_NE(e.err.find("'fortnight' is not a unit (years, months, weeks, days, hours, minutes, seconds)"),
            std::string::npos) << e.err;
  RunResult ok = check_config(config("Header always set X-A 1\nSetEnvIf Host ^x y\nExpiresActive On\n"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace itest

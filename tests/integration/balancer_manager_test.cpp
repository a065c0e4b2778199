// SetHandler balancer-manager: the page lists every member, and changes are
// form POSTs whose fields come in the body (with the node's nonce); a link
// or a query string changes nothing, malformed forms get a 4xx, and every
// worker sees a change at once.
#include <map>
#include <regex>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

class BalancerManagerPage : public ::testing::Test {
 protected:
  void SetUp() override {
    t.write("a/index.html", "a");
    t.write("b/index.html", "b");
    a = std::make_unique<ServerProcess>(basic_config(t.path("a"), "StartServers 1\n"));
    b = std::make_unique<ServerProcess>(basic_config(t.path("b"), "StartServers 1\n"));
    ASSERT_TRUE(a->ok() && b->ok());
    member_b = "http://127.0.0.1:" + std::to_string(b->port());
    front = std::make_unique<ServerProcess>(
        "Listen 127.0.0.1:0\nServerName localhost\nStartServers 3\n<Proxy balancer://app>\nBalancerMember http://127.0.0.1:" +
        std::to_string(a->port()) + "\nBalancerMember " + member_b +
        "\n</Proxy>\nProxyPass /app/ balancer://app/\n<Location /bm>\nSetHandler balancer-manager\n</Location>\n");
    ASSERT_TRUE(front->ok()) << front->error();
    auto page = curl_get(url("/bm"));
    ASSERT_EQ(page.status, 200);
    ASSERT_NE(page.body.find(member_b), std::string::npos) << page.body;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(page.body, m, std::regex("name=\"nonce\" value=\"([0-9a-f]+)\""))) << page.body;
    nonce = m[1];
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(front->port()) + path; }
  // One POST /bm[query] with `body` as a form, over its own connection.
  HttpResponse post(const std::string& body, const std::string& query = "", const std::string& extra_fields = "") {
    RawConnection c(front->port());
    std::string req = "POST /bm" + query + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
                      extra_fields + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    EXPECT_TRUE(c.send(req));
    return c.read_response(3s);
  }
  std::map<std::string, int> spread(int n) {
    std::map<std::string, int> m;
    for (int i = 0; i < n; ++i) ++m[curl_get(url("/app/")).body];
    return m;
  }

  TempTree t;
  std::unique_ptr<ServerProcess> a, b, front;
  std::string member_b, nonce;
};

TEST_F(BalancerManagerPage, AFormPostInTheBodyDrainsTheMemberInEveryWorker) {
  EXPECT_EQ(spread(10)["b"], 5);
  // The member's URL percent-encoded as a browser sends it.
  std::string w = std::regex_replace(std::regex_replace(member_b, std::regex(":"), "%3A"), std::regex("/"), "%2F");
  HttpResponse r = post("nonce=" + nonce + "&b=app&w=" + w + "&op=drain");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("Done"), std::string::npos);
  auto after = spread(30);  // three workers: every one sees it
  EXPECT_EQ(after["a"], 30) << "b got " << after["b"];
  EXPECT_NE(curl_get(url("/bm")).body.find("Drn"), std::string::npos);
  // And back, with the body read in two pieces behind an Expect: 100-continue.
  RawConnection c(front->port());
  std::string body = "nonce=" + nonce + "&b=app&w=" + member_b + "&op=enable";
  ASSERT_TRUE(c.send("POST /bm HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n"));
  HttpResponse interim = c.read_response(3s);
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(c.send(body.substr(0, 10)));
  ASSERT_TRUE(c.send(body.substr(10)));
  EXPECT_EQ(c.read_response(3s).status, 200);
  EXPECT_EQ(spread(10)["b"], 5);
}

TEST_F(BalancerManagerPage, TheQueryStringAWrongNonceOrAMalformedFormChangeNothing) {
  const std::string fields = "b=app&w=" + member_b + "&op=disable";
  EXPECT_EQ(post("", "?nonce=" + nonce + "&" + fields).status, 403);  // a link's query string is not a form
  EXPECT_EQ(post("nonce=0000000000000000&" + fields).status, 403);
  EXPECT_EQ(post("nonce=" + nonce + "&b=app&w=%zz&op=disable").status, 400);
  EXPECT_EQ(post("nonce=" + nonce + "&b=app&w=" + member_b + "&op=explode").status, 400);
  EXPECT_EQ(post("nonce=" + nonce + "&b=app&w=http://nowhere&op=disable").status, 404);
  EXPECT_EQ(post(std::string(20000, 'x')).status, 413);
  EXPECT_EQ(spread(10)["b"], 5);  // nothing was disabled, and the server still answers
}

// A member passive checks took out (its requests failed: it was killed) is
// shown as out, "Err" on the page and E in `pillarctl balancer`, for its
// retry= period; pillarctl names the method (a regression: both said Ok, and
// pillarctl printed the method's number).
TEST(BalancerManagerStatus, AMemberPassiveChecksTookOutIsShownInError) {
  TempTree t;
  t.write("a/index.html", "a");
  t.write("b/index.html", "b");
  START_SERVER(a, basic_config(t.path("a"), "StartServers 1\n"));
  auto b = std::make_unique<ServerProcess>(basic_config(t.path("b"), "StartServers 1\n"));
  ASSERT_TRUE(b->ok()) << b->error();
  const std::string member_b = "http://127.0.0.1:" + std::to_string(b->port());
  const std::string sock = t.path("ctl.sock");
  START_SERVER(front, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nPillarControlSocket " + sock +
                          "\n<Proxy balancer://app>\nBalancerMember http://127.0.0.1:" + std::to_string(a.port()) +
                          " route=a\nBalancerMember " + member_b + " route=b retry=60\n</Proxy>\n"
                          "ProxyPass /app/ balancer://app/\n<Location /bm>\nSetHandler balancer-manager\n</Location>\n");
  auto row_of = [](const std::string& text, const std::string& url) {
    size_t at = text.find(url);
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  std::string before = row_of(curl_get(front.base_url() + "/bm").body, member_b);
  ASSERT_NE(before.find("<td>Ok</td>"), std::string::npos) << before;
  std::string ctl = pillarctl(sock, "balancer app");
  EXPECT_NE(ctl.find("balancer://app lbmethod=byrequests"), std::string::npos) << ctl;
  ASSERT_NE(row_of(ctl, member_b).find(" Ok "), std::string::npos) << ctl;

  ASSERT_EQ(b->stop(), 0);
  b.reset();
  // Requests to b now fail (and are retried on a): one is enough to eject it.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(curl_get(front.base_url() + "/app/").body, "a");
  std::string page = curl_get(front.base_url() + "/bm").body;
  EXPECT_NE(row_of(page, member_b).find("<td>Err</td>"), std::string::npos) << page;
  ctl = pillarctl(sock, "balancer app");
  EXPECT_NE(row_of(ctl, member_b).find(" E "), std::string::npos) << ctl;
  EXPECT_NE(pillarctl(sock, "-j balancer app").find("\"ejected\": true"), std::string::npos);
  // The other member is untouched.
  EXPECT_NE(row_of(page, "http://127.0.0.1:" + std::to_string(a.port())).find("<td>Ok</td>"), std::string::npos) << page;
}

}  // namespace
}  // namespace itest

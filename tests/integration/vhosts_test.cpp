// Name-based virtual hosts: selection by Host, ServerAlias wildcards, the
// first vhost as default, and several listeners.
#include "test_common.h"

namespace itest {
namespace {

class Vhosts : public ::testing::Test {
 protected:
  TempTree tree;
  std::string main_root = tree.mkdir("main");
  std::string a_root = tree.mkdir("a");
  std::string b_root = tree.mkdir("b");

  void SetUp() override {
    tree.write("main/who.txt", "main\n");
    tree.write("a/who.txt", "site-a\n");
    tree.write("b/who.txt", "site-b\n");
    tree.write("b/only-b.txt", "only in b\n");
  }

  std::string config() const {
    return basic_config(main_root,
                        "<VirtualHost *>\n"
                        "  ServerName a.example\n"
                        "  ServerAlias www.a.example *.a-alias.test\n"
                        "  DocumentRoot \"" + a_root + "\"\n"
                        "</VirtualHost>\n"
                        "<VirtualHost *>\n"
                        "  ServerName b.example\n"
                        "  ServerAlias *.b.example\n"
                        "  DocumentRoot \"" + b_root + "\"\n"
                        "</VirtualHost>\n");
  }
  static std::string who(const ServerProcess& srv, const std::string& host) {
    return curl_get(srv.base_url() + "/who.txt", {"Host: " + host}).body;
  }
};

TEST_F(Vhosts, SelectedByServerName) {
  START_SERVER(srv, config());
  EXPECT_EQ(who(srv, "a.example"), "site-a\n");
  EXPECT_EQ(who(srv, "b.example"), "site-b\n");
}

TEST_F(Vhosts, HostIsCaseInsensitiveAndPortIgnored) {
  START_SERVER(srv, config());
  EXPECT_EQ(who(srv, "B.Example"), "site-b\n");
  EXPECT_EQ(who(srv, "b.example:" + std::to_string(srv.port())), "site-b\n");
  EXPECT_EQ(who(srv, "b.example."), "site-b\n");  // a trailing dot names the same host
}

TEST_F(Vhosts, ServerAliasExactAndWildcard) {
  START_SERVER(srv, config());
  EXPECT_EQ(who(srv, "www.a.example"), "site-a\n");
  EXPECT_EQ(who(srv, "x.a-alias.test"), "site-a\n");
  EXPECT_EQ(who(srv, "deep.sub.b.example"), "site-b\n");
  EXPECT_EQ(who(srv, "img.b.example"), "site-b\n");
}

TEST_F(Vhosts, UnknownHostGetsFirstVhost) {
  START_SERVER(srv, config());
  EXPECT_EQ(who(srv, "unknown.example"), "site-a\n");
  EXPECT_EQ(who(srv, "127.0.0.1"), "site-a\n");
  EXPECT_EQ(curl_get(srv.base_url() + "/only-b.txt", {"Host: nobody.test"}).status, 404);
}

TEST_F(Vhosts, Http10WithoutHostGetsFirstVhost) {
  START_SERVER(srv, config());
  RawExchange x = raw_exchange(srv.port(), "GET /who.txt HTTP/1.0\r\n\r\n");
  EXPECT_EQ(x.first().status, 200) << x.data;
  EXPECT_EQ(x.first().body, "site-a\n");
}

TEST_F(Vhosts, AbsoluteFormTargetOverridesHost) {
  // RFC 9112 3.2.2: with an absolute-form target the Host header is ignored.
  START_SERVER(srv, config());
  RawExchange x = raw_exchange(srv.port(),
                               "GET http://b.example/who.txt HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(x.first().status, 200) << x.data;
  EXPECT_EQ(x.first().body, "site-b\n");
}

TEST_F(Vhosts, WithoutVhostsMainServerAnswersEveryHost) {
  START_SERVER(srv, basic_config(main_root));
  EXPECT_EQ(who(srv, "anything.example"), "main\n");
  EXPECT_EQ(who(srv, "localhost"), "main\n");
}

TEST_F(Vhosts, TwoListeners) {
  START_SERVER(srv, basic_config(main_root, "Listen 127.0.0.1:0\n"), 2);
  ASSERT_NE(srv.port(0), srv.port(1));
  EXPECT_EQ(curl_get(srv.base_url(0) + "/who.txt").body, "main\n");
  EXPECT_EQ(curl_get(srv.base_url(1) + "/who.txt").body, "main\n");
}

}  // namespace
// A hosting node's scale: 10 000 vhosts are routed by hash (the last as the
// first) and every one of them has its own counters in /metrics, past the
// 512 the table used to stop at.
TEST(ManyVhosts, TenThousandRoutedAndCountedEach) {
  TempTree tree;
  tree.write("first/who.txt", "first\n");
  tree.write("last/who.txt", "last\n");
  tree.write("other/who.txt", "other\n");
  std::string vhosts;
  constexpr int kVhosts = 10000;
  for (int i = 0; i < kVhosts; ++i) {
    std::string root = i == 0 ? "first" : i == kVhosts - 1 ? "last" : "other";
    vhosts += "<VirtualHost *>\nServerName site" + std::to_string(i) + ".example\n" +
              (i == kVhosts - 1 ? "ServerAlias *.last.example\n" : "") + "DocumentRoot \"" + tree.path(root) +
              "\"\n</VirtualHost>\n";
  }
  START_SERVER(srv, basic_config(tree.mkdir("main"), "<Location /metrics>\nSetHandler metrics\n</Location>\n" + vhosts));
  auto who = [&](const std::string& host) { return curl_get(srv.base_url() + "/who.txt", {"Host: " + host}).body; };
  EXPECT_EQ(who("site0.example"), "first\n");
  EXPECT_EQ(who("site9999.example"), "last\n");
  EXPECT_EQ(who("www.last.example"), "last\n");
  EXPECT_EQ(who("site5000.example"), "other\n");
  EXPECT_EQ(who("unknown.example"), "first\n");  // the first vhost is the default
  for (int i = 0; i < 3; ++i) who("site9999.example");
  std::string metrics = curl_get(srv.base_url() + "/metrics", {"Host: site1.example"}).body;
  EXPECT_NE(metrics.find("pillar_vhost_requests_total{vhost=\"site9999.example\",code=\"2xx\"} 5"), std::string::npos);
  EXPECT_NE(metrics.find("pillar_vhost_requests_total{vhost=\"site0.example\",code=\"2xx\"} 2"), std::string::npos);
}

}  // namespace itest

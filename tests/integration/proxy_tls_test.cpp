// TLS to balancer members (SSLProxy*): another Pillar with SSLEngine on is
// the member. Requests and bodies go through; pooled member connections
// are reused (the member counts one handshake for many requests); the
// member's certificate is checked as mod_ssl does (SSLProxyVerify require
// against SSLProxyCACertificateFile, SSLProxyCheckPeerName on the member's
// host, SSLProxyCheckPeerExpire), each failure a 502 with the reason in the
// error log; https:// members without SSLProxyEngine are refused by -t at
// the line that defines them.
#include <cstdio>
#include <regex>
#include <string>

#include "test_common.h"

namespace itest {
namespace {

long long metric_of(uint16_t port, const std::string& name) {
  CurlResult r = curl_get("http://127.0.0.1:" + std::to_string(port) + "/metrics");
  std::smatch m;
  if (!std::regex_search(r.body, m, std::regex("\n" + name + " ([0-9]+)\n"))) return -1;
  return std::atoll(m[1].str().c_str());
}

class ProxyTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TempTree();
    const std::string d = certs_->root();
    std::string err = make_test_ca(d);
    ASSERT_TRUE(err.empty()) << err;
    err = make_test_leaf(d, "member", "127.0.0.1", "IP:127.0.0.1,DNS:member.test", "member", false, false);
    ASSERT_TRUE(err.empty()) << err;
    err = make_test_leaf(d, "other", "other.test", "DNS:other.test", "other", false, false);
    ASSERT_TRUE(err.empty()) << err;
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  static std::string cert(const std::string& f) { return certs_->path(f); }

  // The member: https on listener 0, plain /metrics on listener 1.
  std::string member_config(const std::string& leaf) {
    tree_.write("m/index.html", "member says hi\n");
    tree_.write("m/big.bin", std::string(3 * 1024 * 1024 + 17, 'b'));
    return "Listen 127.0.0.1:0 https\nListen 127.0.0.1:0\nServerName localhost\nDocumentRoot \"" + tree_.path("m") +
           "\"\n<Location /metrics>\n  SetHandler pillar-metrics\n</Location>\n"
           "<VirtualHost *>\n  ServerName member.test\n  DocumentRoot \"" + tree_.path("m") +
           "\"\n  SSLEngine on\n  SSLCertificateFile " + cert(leaf + ".crt") + "\n  SSLCertificateKeyFile " +
           cert(leaf + ".key") + "\n</VirtualHost>\n";
  }
  // The front: ProxyPass /app/ to the member over TLS, with `tls` lines.
  std::string front_config(uint16_t member_port, const std::string& tls) {
    return basic_config(tree_.mkdir("front"), "ErrorLog \"" + tree_.path("front-error.log") + "\"\nLogLevel info\n" +
                                                  tls + "ProxyPass /app/ https://127.0.0.1:" +
                                                  std::to_string(member_port) + "/\n");
  }
  std::string front_log() { return tree_.read("front-error.log"); }

  static TempTree* certs_;
  TempTree tree_;
};
TempTree* ProxyTls::certs_ = nullptr;

TEST_F(ProxyTls, RequestsAndBodiesGoThroughOnePooledConnection) {
  START_SERVER(member, member_config("member"), 2);
  // One worker with one loop: every request sees the same idle pool.
  START_SERVER(front, front_config(member.port(0), "SSLProxyEngine on\nStartServers 1\nServerLimit 1\nEventThreadsPerChild 1\n"));
  for (int i = 0; i < 3; ++i) {
    CurlResult r = curl_get(front.base_url() + "/app/index.html");
    ASSERT_EQ(r.curl_code, 0) << r.curl_error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "member says hi\n");
  }
  // A large body comes through TLS (no splice from a TLS socket), whole.
  CurlResult big = curl_get(front.base_url() + "/app/big.bin");
  ASSERT_EQ(big.curl_code, 0) << big.curl_error;
  EXPECT_EQ(big.status, 200);
  EXPECT_EQ(big.body.size(), 3u * 1024 * 1024 + 17);
  EXPECT_EQ(big.body.find_first_not_of('b'), std::string::npos);
  // A request body goes up (the member answers a POST to a file 405, as Apache).
  CurlOptions post;
  post.method = "POST";
  post.body = std::string(100000, 'p');
  CurlResult p = curl_request(front.base_url() + "/app/index.html", post);
  ASSERT_EQ(p.curl_code, 0) << p.curl_error;
  EXPECT_EQ(p.status, 405);
  // One front worker, sequential requests: the pooled TLS connection is
  // reused (a session per request would count one handshake each).
  long long handshakes = metric_of(member.port(1), "pillar_tls_handshakes_total");
  EXPECT_GE(handshakes, 1);
  EXPECT_LE(handshakes, 2) << "the member connection was not reused";
}

TEST_F(ProxyTls, VerifyRequireNeedsTheCa) {
  START_SERVER(member, member_config("member"), 2);
  {
    START_SERVER(front, front_config(member.port(0), "SSLProxyEngine on\nSSLProxyVerify require\n"
                                                     "SSLProxyCACertificateFile " + cert("ca.pem") + "\n"));
    CurlResult r = curl_get(front.base_url() + "/app/index.html");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  // The system's CAs do not know the test CA: refused, and the log says why.
  START_SERVER(front, front_config(member.port(0), "SSLProxyEngine on\nSSLProxyVerify require\n"));
  CurlResult r = curl_get(front.base_url() + "/app/index.html");
  EXPECT_EQ(r.status, 502);
  EXPECT_TRUE(eventually([&] { return front_log().find("TLS handshake failed") != std::string::npos; })) << front_log();
  EXPECT_NE(front_log().find("SSLProxyCACertificateFile"), std::string::npos) << front_log();
}

TEST_F(ProxyTls, ThePeerNameIsCheckedUnlessTurnedOff) {
  START_SERVER(member, member_config("other"), 2);  // its certificate names other.test, not 127.0.0.1
  {
    START_SERVER(front, front_config(member.port(0), "SSLProxyEngine on\n"));
    CurlResult r = curl_get(front.base_url() + "/app/index.html");
    EXPECT_EQ(r.status, 502);
    EXPECT_TRUE(eventually([&] { return front_log().find("does not name 127.0.0.1") != std::string::npos; }))
        << front_log();
  }
  START_SERVER(front, front_config(member.port(0), "SSLProxyEngine on\nSSLProxyCheckPeerName off\n"));
  CurlResult r = curl_get(front.base_url() + "/app/index.html");
  EXPECT_EQ(r.status, 200) << r.body;
}

// hcmethod=GET over TLS: the member is taken out when its health file goes
// and comes back when it returns, which only a check that speaks TLS (and
// accepts the member's certificate) can see.
TEST_F(ProxyTls, HealthChecksSpeakTls) {
  tree_.write("m/health", "ok");
  START_SERVER(member, member_config("member"), 2);
  std::string sock = tree_.path("ctl.sock");
  START_SERVER(front, basic_config(tree_.mkdir("front"),
                                   "PillarControlSocket " + sock + "\nSSLProxyEngine on\nSSLProxyVerify require\n"
                                   "SSLProxyCACertificateFile " + cert("ca.pem") + "\n<Proxy balancer://app>\n"
                                   "  BalancerMember https://127.0.0.1:" + std::to_string(member.port(0)) +
                                   " hcmethod=GET hcuri=/health hcinterval=100ms hcfails=2 hcpasses=2 hctimeout=500ms\n"
                                   "</Proxy>\nProxyPass /app/ balancer://app/\n"));
  auto in_error = [&] { return pillarctl(sock, "-j balancer app").find("\"E\"") != std::string::npos; };
  EXPECT_EQ(curl_get(front.base_url() + "/app/index.html").status, 200);
  std::remove(tree_.path("m/health").c_str());
  ASSERT_TRUE(eventually(in_error, 3s)) << pillarctl(sock, "-j balancer app");
  tree_.write("m/health", "ok");
  ASSERT_TRUE(eventually([&] { return !in_error(); }, 3s)) << pillarctl(sock, "-j balancer app");
  EXPECT_EQ(curl_get(front.base_url() + "/app/index.html").status, 200);
}

TEST_F(ProxyTls, HttpsMembersNeedSslProxyEngine) {
  std::string path;
  std::string cfg = basic_config(tree_.mkdir("t"), "ProxyPass /a/ https://127.0.0.1:9/\n");
  RunResult r = check_config(cfg, &path);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(path + ":4: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("SSLProxyEngine on"), std::string::npos) << r.err;
  // A balancer's members inherit the <Proxy> section's setting.
  cfg = basic_config(tree_.mkdir("u"), "<Proxy balancer://b>\n  SSLProxyEngine on\n  BalancerMember https://127.0.0.1:9\n"
                                       "</Proxy>\nProxyPass /b/ balancer://b/\n");
  r = check_config(cfg, &path);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // A missing CA file is the check's failure, at its line.
  cfg = basic_config(tree_.mkdir("v"), "SSLProxyEngine on\nSSLProxyCACertificateFile /nonexistent/ca.pem\n"
                                       "ProxyPass /a/ https://127.0.0.1:9/\n");
  r = check_config(cfg, &path);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(path + ":5: "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace itest

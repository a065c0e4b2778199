// Reverse proxy basics: what a ProxyPass sends to the member and what the
// client gets back (RFC 9110 §7.6 for intermediaries, RFC 9112 for framing).
#include <memory>

#include "backend.h"
#include "test_common.h"

namespace itest {
namespace {

class ProxyBasic : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  Backend be{"be1"};
  std::unique_ptr<ServerProcess> front;

  void SetUp() override {
    ASSERT_TRUE(be.ok());
    tree.write("www/app/static/local.txt", "served locally\n");
    tree.write("www/index.html", "front\n");
  }

  // Starts the front with ProxyPass /app/ -> balancer://x/sub/ (be as the member).
  void start_front(const std::string& extra = "") {
    std::string conf = "ProxyPass /app/static !\n"
                       "ProxyPass /app/ balancer://x/sub/\n"
                       "ProxyPassReverse /app/ " + be.url() + "/sub/\n"
                       "<Proxy balancer://x>\n"
                       "  BalancerMember " + be.url() + "\n"
                       "</Proxy>\n" + extra;
    front = std::make_unique<ServerProcess>(proxy_front_config(docroot, conf));
    ASSERT_TRUE(front->ok()) << front->error();
  }
  uint16_t port() const { return front->port(); }
};

std::string get_req(const std::string& target, const std::string& extra = "", bool close = true) {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + (close ? "Connection: close\r\n" : "") + "\r\n";
}

TEST_F(ProxyBasic, GetIsForwardedWithPathMappingAndForwardingHeaders) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  auto ex = raw_exchange(port(), get_req("/app/a?q=1", "X-Forwarded-For: 192.0.2.7\r\nX-Custom: kept\r\n"));
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  const auto& r = ex.first();
  EXPECT_EQ(r.status, 200) << ex.data;
  EXPECT_EQ(r.header("X-Backend"), "be1");
  EXPECT_TRUE(icontains(r.header("Via"), "1.1")) << "Via on the response: " << r.header("Via");
  EchoInfo e = parse_echo(r.body);
  ASSERT_TRUE(e.valid) << r.body;
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.target, "/sub/a?q=1");
  EXPECT_EQ(e.version, "HTTP/1.1");
  EXPECT_EQ(e.header("x-custom"), "kept");
  EXPECT_EQ(e.count("host"), 1u);
  EXPECT_EQ(e.header("host"), "127.0.0.1:" + std::to_string(be.port())) << "Host must name the member";
  EXPECT_EQ(e.count("x-forwarded-for"), 1u) << r.body;
  EXPECT_EQ(e.header("x-forwarded-for"), "192.0.2.7, 127.0.0.1");
  EXPECT_EQ(e.header("x-forwarded-host"), "localhost");
  EXPECT_EQ(e.header("x-forwarded-proto"), "http");
  EXPECT_TRUE(icontains(e.header("via"), "1.1 ")) << "Via: " << e.header("via");
  EXPECT_EQ(e.body_length, 0u);
  EXPECT_FALSE(e.has("content-length")) << "a GET without a body must not gain a Content-Length";
  EXPECT_FALSE(e.has("transfer-encoding"));
}

TEST_F(ProxyBasic, PathMappingVariants) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  struct Case {
    std::string in, out;
  } cases[] = {
      {"/app/", "/sub/"},
      {"/app/a/b/c.txt", "/sub/a/b/c.txt"},
      {"/app/x%20y?a=1&b=%2F", "/sub/x%20y?a=1&b=%2F"},
      {"/app/deep/?", "/sub/deep/"},
  };
  for (const auto& c : cases) {
    auto ex = raw_exchange(port(), get_req(c.in));
    ASSERT_EQ(ex.responses.size(), 1u) << c.in << "\n" << ex.data;
    EXPECT_EQ(ex.first().status, 200) << c.in;
    EXPECT_EQ(parse_echo(ex.first().body).target, c.out) << "for " << c.in;
  }
  // Outside the prefix: served locally.
  auto local = raw_exchange(port(), get_req("/index.html"));
  EXPECT_EQ(local.first().status, 200);
  EXPECT_EQ(local.first().body, "front\n");
}

TEST_F(ProxyBasic, ExclusionIsServedLocally) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  auto ex = raw_exchange(port(), get_req("/app/static/local.txt"));
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_EQ(ex.first().status, 200);
  EXPECT_EQ(ex.first().body, "served locally\n");
  EXPECT_FALSE(ex.first().has("X-Backend"));
  EXPECT_EQ(be.request_count(), 0u);
  // "/app/staticx" is not under the excluded "/app/static" segment: proxied.
  auto px = raw_exchange(port(), get_req("/app/staticx"));
  EXPECT_EQ(px.first().header("X-Backend"), "be1") << px.data;
}

TEST_F(ProxyBasic, PreserveHostSendsTheClientsHost) {
  ASSERT_NO_FATAL_FAILURE(start_front("ProxyPreserveHost On\n"));
  auto ex = raw_exchange(port(), "GET /app/h HTTP/1.1\r\nHost: www.example.com:8080\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EchoInfo e = parse_echo(ex.first().body);
  EXPECT_EQ(e.count("host"), 1u);
  EXPECT_EQ(e.header("host"), "www.example.com:8080");
  EXPECT_EQ(e.header("x-forwarded-host"), "www.example.com:8080");
}

TEST_F(ProxyBasic, HopByHopRequestFieldsAreNotForwarded) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  auto ex = raw_exchange(port(), "GET /app/hop HTTP/1.1\r\nHost: localhost\r\n"
                                 "Connection: close, X-Drop-Me\r\n"
                                 "X-Drop-Me: secret\r\n"
                                 "Keep-Alive: timeout=300\r\n"
                                 "TE: trailers\r\n"
                                 "Upgrade: h2c\r\n"
                                 "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n"
                                 "Proxy-Connection: keep-alive\r\n"
                                 "X-End-To-End: yes\r\n\r\n");
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EchoInfo e = parse_echo(ex.first().body);
  ASSERT_TRUE(e.valid) << ex.data;
  EXPECT_EQ(e.header("x-end-to-end"), "yes");
  EXPECT_FALSE(e.has("keep-alive"));
  EXPECT_FALSE(e.has("te"));
  EXPECT_FALSE(e.has("upgrade"));
  EXPECT_FALSE(e.has("proxy-authorization"));
  EXPECT_FALSE(e.has("proxy-connection"));
  EXPECT_FALSE(icontains(e.header("connection"), "close")) << "the client's Connection options are its own";
  EXPECT_FALSE(icontains(e.header("connection"), "x-drop-me"));
  EXPECT_FALSE(e.has("x-drop-me")) << "a field named in Connection is hop-by-hop (RFC 9110 §7.6.1); the member got:\n"
                                   << ex.first().body;
}

TEST_F(ProxyBasic, HopByHopResponseFieldsAreNotRelayed) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  auto ex = raw_exchange(port(), get_req("/app/hopresp"));
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  const auto& r = ex.first();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.header("X-Kept"), "yes");
  EXPECT_FALSE(r.has("Keep-Alive")) << ex.data;
  EXPECT_FALSE(r.has("X-Hop-Resp")) << "a field named in the member's Connection is hop-by-hop (RFC 9110 §7.6.1):\n"
                                    << ex.data;
}

TEST_F(ProxyBasic, HeadIsForwardedAndHasNoBody) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("HEAD /app/head HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  HttpResponse r = c.read_response(3s, true);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.has("Content-Length")) << "the member's length for the GET";
  EXPECT_GT(std::stoul(r.header("Content-Length").empty() ? "0" : r.header("Content-Length")), 0u);
  // The connection goes on with no stray body bytes in between.
  ASSERT_TRUE(c.send(get_req("/app/after", "", false)));
  HttpResponse r2 = c.read_response(3s);
  EXPECT_EQ(r2.status, 200) << c.buffered();
  EXPECT_EQ(parse_echo(r2.body).target, "/sub/after");
  auto reqs = be.requests();
  ASSERT_GE(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "HEAD");
}

TEST_F(ProxyBasic, PostWithContentLengthArrivesIntact) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  std::string body = "field=value&x=" + std::string(5000, 'y');
  auto ex = raw_exchange(port(), "POST /app/form HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                                 "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EchoInfo e = parse_echo(ex.first().body);
  EXPECT_EQ(e.method, "POST");
  EXPECT_EQ(e.body_length, body.size());
  EXPECT_EQ(e.header("content-length"), std::to_string(body.size()));
  EXPECT_EQ(e.header("content-type"), "application/x-www-form-urlencoded");
  auto reqs = be.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(reqs[0].body == body) << "body differs (" << reqs[0].body.size() << " bytes)";
}

TEST_F(ProxyBasic, PostWithChunkedBodyArrivesIntact) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  std::string body = pattern_bytes(20000, 7);
  std::string wire;
  for (size_t p = 0; p < body.size();) {
    size_t n = std::min<size_t>(p == 0 ? 1 : 3333, body.size() - p);
    char hex[16];
    std::snprintf(hex, sizeof hex, "%zx", n);
    wire += std::string(hex) + ";ext=1\r\n" + body.substr(p, n) + "\r\n";
    p += n;
  }
  wire += "0\r\n\r\n";
  auto ex = raw_exchange(port(), "POST /app/upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                                 "Connection: close\r\n\r\n" + wire);
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data.substr(0, 300);
  EXPECT_EQ(ex.first().status, 200);
  auto reqs = be.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].body.size(), body.size());
  EXPECT_TRUE(reqs[0].body == body) << "chunked body differs";
  EXPECT_TRUE(reqs[0].chunked || reqs[0].header("Content-Length") == std::to_string(body.size()))
      << "the member needs framing for the body";
}

TEST_F(ProxyBasic, LocationIsRewrittenByProxyPassReverse) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  auto ex = raw_exchange(port(), get_req("/app/redirect"));
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_EQ(ex.first().status, 302);
  std::string loc = ex.first().header("Location");
  const std::string abs = "http://localhost:" + std::to_string(port()) + "/app/landed?x=1";
  EXPECT_TRUE(loc == "/app/landed?x=1" || loc == abs || loc == "http://localhost/app/landed?x=1") << loc;

  // Only the matched prefix is rewritten: the rest of the URL stays byte for byte.
  auto ex2 = raw_exchange(port(), get_req("/app/redirect2"));
  ASSERT_EQ(ex2.responses.size(), 1u) << ex2.data;
  std::string loc2 = ex2.first().header("Location");
  EXPECT_TRUE(loc2.ends_with("/app/landed?next=http://example.com//x")) << "Location became: " << loc2;
}

TEST_F(ProxyBasic, ContentLengthResponseIsRelayedExactly) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  auto ex = raw_exchange(port(), get_req("/app/big-1000"));
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data.substr(0, 400);
  const auto& r = ex.first();
  EXPECT_EQ(r.header("Content-Length"), "1000");
  EXPECT_FALSE(r.has("Transfer-Encoding"));
  EXPECT_TRUE(r.body == pattern_bytes(1000));
  // Nothing after the body.
  EXPECT_EQ(ex.data.size(), ex.data.find("\r\n\r\n") + 4 + 1000);
}

TEST_F(ProxyBasic, ChunkedResponseIsRelayedChunkedToHttp11) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  auto ex = raw_exchange(port(), get_req("/app/bigchunked-100000"));
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data.substr(0, 400);
  const auto& r = ex.first();
  EXPECT_TRUE(iequals(r.header("Transfer-Encoding"), "chunked")) << ex.data.substr(0, 400);
  EXPECT_FALSE(r.has("Content-Length"));
  EXPECT_TRUE(r.body == pattern_bytes(100000)) << r.body.size();
  EXPECT_TRUE(ex.data.ends_with("\r\n0\r\n\r\n")) << "the last chunk must end the body";
}

TEST_F(ProxyBasic, CloseDelimitedResponseBecomesChunkedForHttp11) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  RawConnection c(port());
  ASSERT_TRUE(c.send(get_req("/app/http10", "", false)));
  HttpResponse r = c.read_response(3s);
  ASSERT_EQ(r.status, 200) << c.buffered();
  EXPECT_TRUE(iequals(r.header("Transfer-Encoding"), "chunked")) << "a close-delimited body is chunked for HTTP/1.1";
  EXPECT_EQ(parse_echo(r.body).target, "/sub/http10");
  EXPECT_EQ(r.version, "HTTP/1.1");
  // And the client's connection survives it.
  ASSERT_TRUE(c.send(get_req("/app/next", "", false)));
  HttpResponse r2 = c.read_response(3s);
  EXPECT_EQ(r2.status, 200);
  EXPECT_EQ(parse_echo(r2.body).target, "/sub/next");
}

TEST_F(ProxyBasic, UnframedBodiesAreCloseDelimitedForHttp10) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  for (const std::string target : {"/app/http10", "/app/chunked"}) {
    auto ex = raw_exchange(port(), "GET " + target + " HTTP/1.0\r\nHost: localhost\r\n\r\n");
    ASSERT_FALSE(ex.data.empty()) << target;
    HttpResponse r;
    ASSERT_GT(parse_response(ex.data, r), 0u);
    EXPECT_EQ(r.status, 200) << target;
    EXPECT_FALSE(r.has("Transfer-Encoding")) << target << ": HTTP/1.0 has no chunked coding\n" << ex.data;
    EXPECT_TRUE(ex.close == CloseKind::Eof) << target << ": " << to_string(ex.close);
    EchoInfo e = parse_echo(r.body);
    EXPECT_EQ(e.target, "/sub" + target.substr(4)) << target << "\n" << ex.data;
    EXPECT_EQ(r.body, be.echo_text(be.requests().back())) << target;
  }
}

TEST_F(ProxyBasic, KeepAliveClientConnectionIsReused) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  const std::string targets[] = {"/app/one", "/app/chunked", "/app/http10", "/app/big-5000", "/app/two", "/index.html",
                                 "/app/three"};
  for (const auto& t : targets) {
    ASSERT_TRUE(c.send(get_req(t, "", false))) << t;
    HttpResponse r = c.read_response(3s);
    ASSERT_EQ(r.status, 200) << t << " buffered: " << c.buffered().substr(0, 200);
    EXPECT_FALSE(icontains(r.header("Connection"), "close")) << t;
  }
  EXPECT_EQ(c.close_kind(), CloseKind::Open);
  // The member connection is reused as well (the http10 answer closes one).
  EXPECT_LE(be.connections_accepted(), 3u) << "member connections for 6 sequential requests";
}

TEST_F(ProxyBasic, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  RawConnection c(port());
  ASSERT_TRUE(c.send(get_req("/app/p1", "", false) + get_req("/app/chunked", "", false) + get_req("/app/p3", "", true)));
  std::string data = c.read_until_close(5s);
  auto rs = parse_responses(data);
  ASSERT_EQ(rs.size(), 3u) << data.substr(0, 600);
  EXPECT_EQ(parse_echo(rs[0].body).target, "/sub/p1");
  EXPECT_EQ(parse_echo(rs[1].body).target, "/sub/chunked");
  EXPECT_EQ(parse_echo(rs[2].body).target, "/sub/p3");
}

TEST_F(ProxyBasic, OneMebibyteBothWaysIsByteExact) {
  ASSERT_NO_FATAL_FAILURE(start_front());
  const std::string body = pattern_bytes(1 << 20, 42);
  RawConnection c(port());
  ASSERT_TRUE(c.send("POST /app/mirror HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  HttpResponse r = c.read_response(8s);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), std::to_string(body.size()));
  EXPECT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body) << "mirrored body differs";
  auto reqs = be.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(reqs[0].body == body) << "the member got " << reqs[0].body.size() << " bytes, not the same";

  // A 1 MiB chunked answer on the same connection, then a 1 MiB Content-Length one.
  ASSERT_TRUE(c.send(get_req("/app/bigchunked-1048576", "", false)));
  HttpResponse r2 = c.read_response(8s);
  EXPECT_EQ(r2.status, 200);
  EXPECT_TRUE(r2.body == pattern_bytes(1 << 20)) << r2.body.size();
  ASSERT_TRUE(c.send(get_req("/app/big-1048576", "", false)));
  HttpResponse r3 = c.read_response(8s);
  EXPECT_EQ(r3.status, 200);
  EXPECT_TRUE(r3.body == pattern_bytes(1 << 20)) << r3.body.size();

  // Chunked upload of 1 MiB through curl.
  CurlOptions o;
  o.method = "POST";
  o.body = body;
  o.headers = {"Transfer-Encoding: chunked", "Content-Type: application/octet-stream"};
  o.timeout = 8s;
  CurlResult cr = curl_request("http://127.0.0.1:" + std::to_string(port()) + "/app/mirror", o);
  EXPECT_EQ(cr.curl_code, 0) << cr.curl_error;
  EXPECT_EQ(cr.status, 200);
  EXPECT_TRUE(cr.body == body) << cr.body.size();
}

}  // namespace
}  // namespace itest

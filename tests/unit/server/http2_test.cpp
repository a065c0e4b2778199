// HTTP/2's socketless pieces: a request's header list into an
// http::RequestHead (RFC 9113 §8.3), a response head into HTTP/2 fields,
// the client preface, the window counters of the hostile-peer limits and
// ALPN's choice.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/model.h"
#include "server/http2/handover.h"
#include "server/http2/limits.h"
#include "server/http2/request_head.h"
#include "server/http2/response_head.h"
#include "tls/tls_transport.h"

namespace pillar::server::http2 {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

struct Built {
  bool fields_ok = true;
  RequestHeadBuilder::Result result;
};

Built build(RequestHeadBuilder& b, const Fields& fields, http::RequestHead& head, bool end_stream = true) {
  Built out;
  for (const auto& [n, v] : fields) {
    if (!b.add(n, v)) {
      out.fields_ok = false;
      break;
    }
  }
  out.result = b.finish(head, end_stream);
  return out;
}

const Fields kGet = {{":method", "GET"}, {":scheme", "https"}, {":authority", "www.example.com:8443"},
                     {":path", "/a%20b/c?x=1&y=2"}, {"accept", "*/*"}};

TEST(Http2RequestHead, PseudoFieldsBecomeTheRequestLineAndAuthority) {
  Limits l;
  RequestHeadBuilder b(l);
  http::RequestHead h;
  Built r = build(b, kGet, h);
  ASSERT_TRUE(r.fields_ok);
  ASSERT_EQ(r.result.verdict, RequestHeadBuilder::Verdict::Ok) << r.result.reason;
  EXPECT_EQ(h.method, http::Method::Get);
  EXPECT_EQ(h.method_name, "GET");
  EXPECT_EQ(h.target, "/a%20b/c?x=1&y=2");
  EXPECT_EQ(h.path, "/a%20b/c");
  EXPECT_EQ(h.query, "x=1&y=2");
  EXPECT_EQ(h.authority, "www.example.com:8443");
  EXPECT_EQ(h.find("Host"), "www.example.com:8443");  // :authority stands for Host, for the phases that read it
  EXPECT_EQ(h.find("Accept"), "*/*");
  EXPECT_EQ(h.version_major, 2);
  EXPECT_EQ(h.version_minor, 0);
  EXPECT_FALSE(h.chunked);
  // The request line as logs and THE_REQUEST show it.
  std::string_view line(b.text().data(), b.line_length());
  EXPECT_EQ(line, "GET /a%20b/c?x=1&y=2 HTTP/2.0\r\n");
  // Every view points into the builder's own text.
  const char* lo = b.text().data();
  const char* hi = lo + b.text().size();
  for (std::string_view v : {h.method_name, h.target, h.path, h.query, h.authority}) {
    EXPECT_GE(v.data(), lo);
    EXPECT_LE(v.data() + v.size(), hi);
  }
}

TEST(Http2RequestHead, CookieCrumbsAreJoined) {
  Limits l;
  RequestHeadBuilder b(l);
  http::RequestHead h;
  Fields f = kGet;
  f.push_back({"cookie", "a=1"});
  f.push_back({"x-other", "v"});
  f.push_back({"cookie", "b=2"});
  ASSERT_EQ(build(b, f, h).result.verdict, RequestHeadBuilder::Verdict::Ok);
  EXPECT_EQ(h.find("Cookie"), "a=1; b=2");  // RFC 9113 §8.2.3
}

TEST(Http2RequestHead, ABodyOfUnknownLengthIsMarkedChunked) {
  Limits l;
  RequestHeadBuilder b(l);
  http::RequestHead h;
  Fields post = {{":method", "POST"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/up"}};
  ASSERT_EQ(build(b, post, h, false).result.verdict, RequestHeadBuilder::Verdict::Ok);
  EXPECT_TRUE(h.chunked);
  EXPECT_FALSE(h.has_content_length);

  RequestHeadBuilder b2(l);
  http::RequestHead h2;
  post.push_back({"content-length", "12"});
  ASSERT_EQ(build(b2, post, h2, false).result.verdict, RequestHeadBuilder::Verdict::Ok);
  EXPECT_FALSE(h2.chunked);
  EXPECT_TRUE(h2.has_content_length);
  EXPECT_EQ(h2.content_length, 12u);

  // A length with the stream already ended cannot be met.
  RequestHeadBuilder b3(l);
  http::RequestHead h3;
  EXPECT_EQ(build(b3, post, h3, true).result.verdict, RequestHeadBuilder::Verdict::Malformed);
}

TEST(Http2RequestHead, MalformedListsAreStreamErrors) {
  const std::vector<std::pair<const char*, Fields>> cases = {
      {"no :method", {{":scheme", "http"}, {":authority", "h"}, {":path", "/"}}},
      {"no :path", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}}},
      {"no :scheme", {{":method", "GET"}, {":authority", "h"}, {":path", "/"}}},
      {"empty :path", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", ""}}},
      {"no authority nor host", {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}}},
      {"upper-case name", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"Accept", "x"}}},
      {"connection field", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"connection", "close"}}},
      {"transfer-encoding", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"transfer-encoding", "chunked"}}},
      {"keep-alive", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"keep-alive", "5"}}},
      {"upgrade", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"upgrade", "h2c"}}},
      {"te gzip", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"te", "gzip"}}},
      {"pseudo after regular", {{":method", "GET"}, {":scheme", "http"}, {"accept", "x"}, {":authority", "h"}, {":path", "/"}}},
      {"repeated pseudo", {{":method", "GET"}, {":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}}},
      {"unknown pseudo", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {":status", "200"}}},
      {"extended CONNECT", {{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"}, {":authority", "h"}, {":path", "/"}}},
      {"host differs", {{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}, {"host", "b"}}},
      {"bad target", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/a b"}}},
      {"relative target", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "x"}}},
      {"asterisk for GET", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "*"}}},
      {"bad content-length", {{":method", "POST"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"content-length", "1x"}}},
      {"bad authority", {{":method", "GET"}, {":scheme", "http"}, {":authority", "h h"}, {":path", "/"}}},
  };
  Limits l;
  for (const auto& [why, fields] : cases) {
    RequestHeadBuilder b(l);
    http::RequestHead h;
    EXPECT_EQ(build(b, fields, h, false).result.verdict, RequestHeadBuilder::Verdict::Malformed) << why;
  }
  // What is allowed: TE: trailers, OPTIONS *, a host equal to :authority,
  // Host alone, CONNECT with :authority alone.
  const std::vector<Fields> fine = {
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"te", "trailers"}},
      {{":method", "OPTIONS"}, {":scheme", "http"}, {":authority", "h"}, {":path", "*"}},
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"host", "h"}},
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "h"}},
      {{":method", "CONNECT"}, {":authority", "h:443"}},
  };
  for (const auto& fields : fine) {
    RequestHeadBuilder b(l);
    http::RequestHead h;
    auto r = build(b, fields, h, true);
    EXPECT_EQ(r.result.verdict, RequestHeadBuilder::Verdict::Ok) << fields[0].second << " " << r.result.reason;
  }
}

TEST(Http2RequestHead, ListsOverTheLimitsAreRefusedWithoutKeepingThem) {
  Limits l;
  l.field_count = 10;
  l.field_size = 100;
  l.header_list = 10 * 100;
  l.request_line = 200;
  {
    RequestHeadBuilder b(l);
    http::RequestHead h;
    Fields f = kGet;
    for (int i = 0; i < 11; ++i) f.push_back({"x-f" + std::to_string(i), "v"});
    auto r = build(b, f, h);
    EXPECT_TRUE(r.fields_ok);  // not malformed: answered
    EXPECT_EQ(r.result.verdict, RequestHeadBuilder::Verdict::Refused);
    EXPECT_EQ(r.result.status, 431);
  }
  {
    RequestHeadBuilder b(l);
    http::RequestHead h;
    Fields f = kGet;
    f.push_back({"x-big", std::string(100, 'a')});
    auto r = build(b, f, h);
    EXPECT_EQ(r.result.status, 431);
  }
  {
    // An HPACK bomb: the same small field decoded a great many times. Over
    // the list limit nothing more is kept.
    RequestHeadBuilder b(l);
    http::RequestHead h;
    for (const auto& [n, v] : kGet) ASSERT_TRUE(b.add(n, v));
    for (int i = 0; i < 100000; ++i) ASSERT_TRUE(b.add("x-bomb", std::string(60, 'b')));
    auto r = b.finish(h, true);
    EXPECT_EQ(r.verdict, RequestHeadBuilder::Verdict::Refused);
    EXPECT_EQ(r.status, 431);
    EXPECT_TRUE(b.over_limits());
  }
  {
    RequestHeadBuilder b(l);
    http::RequestHead h;
    Fields f = {{":method", "GET"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/" + std::string(300, 'p')}};
    auto r = build(b, f, h);
    EXPECT_EQ(r.result.status, 414);
  }
  {
    // Within every limit (each field also costs 32 bytes of the list, RFC
    // 9113 §6.5.2), with the host line the builder adds itself.
    RequestHeadBuilder b(l);
    http::RequestHead h;
    Fields f = kGet;
    for (int i = 0; i < 9; ++i) f.push_back({"x-f" + std::to_string(i), std::string(40, 'v')});
    auto r = build(b, f, h);
    EXPECT_EQ(r.result.verdict, RequestHeadBuilder::Verdict::Ok) << r.result.reason;
  }
}

std::vector<std::pair<std::string, std::string>> fields_of(const ResponseFields& f) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& nv : f.nv())
    out.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                     std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
  return out;
}

TEST(Http2ResponseHead, FieldsAreLowerCasedAndConnectionFieldsDropped) {
  ResponseFields f;
  f.build(200,
          "Date: Mon, 07 Dec 2026 10:00:00 GMT\r\nServer: Pillar\r\nContent-Type: text/plain\r\n"
          "Connection: close, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n"
          "Upgrade: h2c\r\nProxy-Connection: x\r\nContent-Length: 999\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n",
          http::BodyLength::Known, 5);
  auto got = fields_of(f);
  std::vector<std::pair<std::string, std::string>> want = {
      {":status", "200"},        {"date", "Mon, 07 Dec 2026 10:00:00 GMT"}, {"server", "Pillar"},
      {"content-type", "text/plain"}, {"set-cookie", "a=1"}, {"set-cookie", "b=2"}, {"content-length", "5"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(f.find("content-length"), "5");
}

TEST(Http2ResponseHead, FieldsNamedByConnectionAreDroppedWhereverTheyStand) {
  ResponseFields f;
  f.build(200, "X-Before: 1\r\nX-Keep: 2\r\nconnection: x-before, X-AFTER\r\nX-After: 3\r\n", http::BodyLength::None, 0);
  std::vector<std::pair<std::string, std::string>> want = {{":status", "200"}, {"x-keep", "2"}};
  EXPECT_EQ(fields_of(f), want);
}

TEST(Http2ResponseHead, UnknownLengthHasNoContentLengthAndAHeadAnswerKeepsItsOwn) {
  ResponseFields f;
  f.build(404, "Content-Type: text/html\r\n", http::BodyLength::Unknown, 0);
  EXPECT_EQ(f.find("content-length"), "");
  EXPECT_EQ(f.find(":status"), "404");
  f.build(200, "Content-Length: 1234\r\n", http::BodyLength::None, 0);
  EXPECT_EQ(f.find("content-length"), "1234");
}

TEST(Http2ResponseHead, InterimAnswers) {
  ResponseFields f;
  ASSERT_TRUE(f.build_interim("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"));
  EXPECT_EQ(f.status(), 103);
  EXPECT_EQ(f.find("link"), "</s.css>; rel=preload");
  ASSERT_TRUE(f.build_interim("HTTP/1.1 100 Continue\r\n\r\n"));
  EXPECT_EQ(f.status(), 100);
  EXPECT_FALSE(f.build_interim("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"));
  EXPECT_FALSE(f.build_interim("HTTP/1.1 200 OK\r\n\r\n"));
  EXPECT_FALSE(f.build_interim("hello"));
}

TEST(Http2Handover, ThePrefaceDecidesOnlyWhenItCan) {
  EXPECT_EQ(classify_first_bytes(""), FirstBytes::Undecided);
  EXPECT_EQ(classify_first_bytes("PRI * HTTP/2"), FirstBytes::Undecided);
  EXPECT_EQ(classify_first_bytes(kClientPreface), FirstBytes::Http2);
  EXPECT_EQ(classify_first_bytes(std::string(kClientPreface) + std::string("\0\0\0\4", 4)), FirstBytes::Http2);
  EXPECT_EQ(classify_first_bytes("GET / HTTP/1.1\r\n"), FirstBytes::Http1);
  EXPECT_EQ(classify_first_bytes("P"), FirstBytes::Undecided);
  EXPECT_EQ(classify_first_bytes("PRX"), FirstBytes::Http1);
  EXPECT_EQ(classify_first_bytes("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), FirstBytes::Http1);
}

TEST(Http2Limits, WindowCounterTripsOverItsMaximumWithinAWindow) {
  WindowCounter c(3, 1000);
  EXPECT_FALSE(c.note(100));
  EXPECT_FALSE(c.note(200));
  EXPECT_FALSE(c.note(300));
  EXPECT_TRUE(c.note(400));
  // A new window starts from nothing.
  EXPECT_FALSE(c.note(1500));
  EXPECT_EQ(c.count(), 1u);
}

std::string wire(std::initializer_list<std::string_view> names) {
  std::string out;
  for (auto n : names) {
    out.push_back(static_cast<char>(n.size()));
    out.append(n);
  }
  return out;
}

TEST(Http2Alpn, ServerOrderOrClientOrder) {
  auto offered = wire({"http/1.1", "h2"});
  std::span<const unsigned char> o(reinterpret_cast<const unsigned char*>(offered.data()), offered.size());
  tls::SniSelector::Protocols ours;
  ours.names = {"h2", "http/1.1"};
  ours.honor_order = true;
  EXPECT_EQ(tls::choose_alpn(o, ours), "h2");
  ours.honor_order = false;
  EXPECT_EQ(tls::choose_alpn(o, ours), "http/1.1");
  ours.names = {"http/1.1"};
  EXPECT_EQ(tls::choose_alpn(o, ours), "http/1.1");
  auto only_h2 = wire({"h2"});
  std::span<const unsigned char> o2(reinterpret_cast<const unsigned char*>(only_h2.data()), only_h2.size());
  EXPECT_EQ(tls::choose_alpn(o2, ours), "");  // nothing in common: no ALPN
  std::string broken = "\x05h2";  // a length past the end
  std::span<const unsigned char> o3(reinterpret_cast<const unsigned char*>(broken.data()), broken.size());
  ours.names = {"h2"};
  EXPECT_EQ(tls::choose_alpn(o3, ours), "");
}

TEST(Http2Limits, FromTheConfiguration) {
  config::ServerConfig cfg;
  config::Http2Config h2;
  h2.max_session_streams = 7;
  h2.window_size = 1 << 20;
  cfg.limit_request_fields = 20;
  cfg.limit_request_field_size = 1000;
  Limits l = Limits::from(cfg, h2);
  EXPECT_EQ(l.max_streams, 7u);
  EXPECT_EQ(l.stream_window, 1u << 20);
  EXPECT_GE(l.connection_window, l.stream_window);
  EXPECT_EQ(l.header_list, 20u * 1000u);
  EXPECT_GE(l.resets_per_window, 2u * 7u);
}

}  // namespace
}  // namespace pillar::server::http2

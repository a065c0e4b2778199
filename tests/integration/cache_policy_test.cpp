// The cache's RFC 9111 policy seen from a client, each against a scripted
// origin: which fields a stored head keeps, no stale copy without the
// origin's or the admin's permission (§4.2.4), heuristic freshness from
// Last-Modified (§4.2.2) and targeted cache control (RFC 9213:
// CDN-Cache-Control and Pillar-Cache-Control). The policy's pure logic has
// unit tests (tests/unit/cache/policy_test.cpp); these show the defaults and
// directives take effect in a running server.
#include <atomic>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "backend.h"
#include "test_common.h"

namespace itest {
namespace {

BackendReply reply(int status, const std::string& fields, const std::string& body) {
  BackendReply r;
  r.bytes = "HTTP/1.1 " + std::to_string(status) + (status == 304 ? " Not Modified" : " OK") + "\r\n" + fields;
  if (status != 304) r.bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r.bytes += "\r\n";
  if (status != 304) r.bytes += body;
  return r;
}

HttpResponse get(uint16_t port, const std::string& target, const std::string& fields = "") {
  RawExchange ex = raw_exchange(
      port, "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + fields + "Connection: close\r\n\r\n", 5s, false);
  if (ex.responses.empty()) {
    HttpResponse r;
    r.body = ex.data;
    return r;
  }
  return ex.first();
}

std::string describe(const HttpResponse& r) {
  std::string s = "status " + std::to_string(r.status) + "\n";
  for (const auto& [n, v] : r.headers) s += "  " + n + ": " + v + "\n";
  return s + "  (body " + std::to_string(r.body.size()) + " bytes)";
}

std::string xcache(const HttpResponse& r) { return r.header("X-Cache"); }

size_t origin_count(const Backend& be, const std::string& target) {
  size_t n = 0;
  for (const auto& r : be.requests()) n += r.target == target ? 1 : 0;
  return n;
}

// One pillar, one virtual host proxying everything to `origin_url` under
// CacheEnable, X-Cache on; `extra` goes into the virtual host.
class Front {
 public:
  TempTree tree;
  std::unique_ptr<ServerProcess> srv;

  void start(const std::string& origin_url, const std::string& extra = "") {
    std::string conf = proxy_front_config(tree.mkdir("www"),
                                          "PidFile " + tree.path("pillar.pid") +
                                              "\nCacheSize 16M\n<VirtualHost *>\n  ServerName localhost\n"
                                              "  ProxyPass / " + origin_url + "/ retry=0\n  CacheEnable mem /\n"
                                              "  CacheHeader on\n" + extra + "\n</VirtualHost>\n",
                                          1);
    srv = std::make_unique<ServerProcess>(conf);
    ASSERT_TRUE(srv->ok()) << srv->error();
  }
  uint16_t port() const { return srv->port(); }
};

// =========================================================================================
// The stored head: as the origin sent it, minus what RFC 9111 §3.1 and the
// response itself (private="...", no-cache="...") exclude.
// =========================================================================================

TEST(CachePolicyHead, HitKeepsSetCookie2AndDropsFieldsNamedByPrivate) {
  Backend be("origin", [](const BackendRequest&) {
    return reply(200,
                 "Cache-Control: max-age=60, private=\"X-User\"\r\nSet-Cookie2: legacy=1; Version=1\r\n"
                 "X-User: alice\r\nX-Custom: kept\r\n",
                 "body");
  });
  ASSERT_TRUE(be.ok());
  Front f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  HttpResponse first = get(f.port(), "/h");
  ASSERT_EQ(first.status, 200) << describe(first);
  HttpResponse hit = get(f.port(), "/h");
  ASSERT_EQ(xcache(hit), "HIT") << describe(hit);
  EXPECT_EQ(hit.header("Set-Cookie2"), "legacy=1; Version=1") << "stored as sent: " << describe(hit);
  EXPECT_EQ(hit.header("X-Custom"), "kept") << describe(hit);
  EXPECT_EQ(hit.header("X-User"), "") << "private=\"X-User\": a shared cache must not store it: " << describe(hit);
  EXPECT_EQ(origin_count(be, "/h"), 1u);
}

// =========================================================================================
// No stale copy without permission (RFC 9111 §4.2.4): by default an expired
// object is fetched again; the origin's stale-while-revalidate (RFC 5861) or
// an explicit CacheGrace allows serving it stale.
// =========================================================================================

// Polls `target` while it answers HIT; returns the first other answer.
HttpResponse first_non_hit(uint16_t port, const std::string& target, Millis timeout = 4s) {
  HttpResponse r;
  eventually([&] { return xcache(r = get(port, target)) != "HIT"; }, timeout);
  return r;
}

// A versioned origin: the n-th request for a path gets body "vN".
Backend::Handler versioned(const std::string& fields) {
  auto n = std::make_shared<std::atomic<int>>(0);
  return [n, fields](const BackendRequest&) { return reply(200, fields, "v" + std::to_string(++*n)); };
}

TEST(CachePolicyStale, ExpiredObjectIsNotServedStaleByDefault) {
  Backend be("origin", versioned("Cache-Control: max-age=1\r\n"));
  ASSERT_TRUE(be.ok());
  Front f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/s").body, "v1");
  HttpResponse r = first_non_hit(f.port(), "/s");
  EXPECT_NE(xcache(r), "STALE") << "nobody allowed a stale copy: " << describe(r);
  EXPECT_EQ(r.body, "v2") << "the expired copy must be fetched again: " << describe(r);
  EXPECT_EQ(origin_count(be, "/s"), 2u);
}

TEST(CachePolicyStale, OriginStaleWhileRevalidateAllowsStale) {
  Backend be("origin", versioned("Cache-Control: max-age=1, stale-while-revalidate=30\r\n"));
  ASSERT_TRUE(be.ok());
  Front f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/swr").body, "v1");
  HttpResponse r = first_non_hit(f.port(), "/swr");
  EXPECT_EQ(xcache(r), "STALE") << describe(r);
  EXPECT_EQ(r.body, "v1") << describe(r);
  EXPECT_TRUE(eventually([&] { return get(f.port(), "/swr").body == "v2"; }, 3s)) << "one background refresh";
}

TEST(CachePolicyStale, ExplicitCacheGraceAllowsStale) {
  Backend be("origin", versioned("Cache-Control: max-age=1\r\n"));
  ASSERT_TRUE(be.ok());
  Front f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheGrace 30\n"));
  ASSERT_EQ(get(f.port(), "/g").body, "v1");
  HttpResponse r = first_non_hit(f.port(), "/g");
  EXPECT_EQ(xcache(r), "STALE") << "Varnish-style grace, opted in: " << describe(r);
  EXPECT_EQ(r.body, "v1") << describe(r);
}

// =========================================================================================
// Heuristic freshness (RFC 9111 §4.2.2): a 200 with Last-Modified and no
// explicit lifetime is fresh for 10% of its age, unless CacheHeuristic Off.
// =========================================================================================

std::string http_date(std::time_t t) {
  char buf[64];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

Backend::Handler last_modified_origin() {
  return [](const BackendRequest&) {
    std::time_t now = std::time(nullptr);
    return reply(200, "Date: " + http_date(now) + "\r\nLast-Modified: " + http_date(now - 10000) + "\r\n", "doc");
  };
}

TEST(CachePolicyHeuristic, LastModifiedGivesFreshnessByDefault) {
  Backend be("origin", last_modified_origin());
  ASSERT_TRUE(be.ok());
  Front f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/lm").status, 200);
  HttpResponse r = get(f.port(), "/lm");
  EXPECT_EQ(xcache(r), "HIT") << "fresh for 10% of 10000 s: " << describe(r);
  EXPECT_EQ(origin_count(be, "/lm"), 1u);
}

TEST(CachePolicyHeuristic, CacheHeuristicOffDisablesIt) {
  Backend be("origin", last_modified_origin());
  ASSERT_TRUE(be.ok());
  Front f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheHeuristic Off\n"));
  ASSERT_EQ(get(f.port(), "/lm").status, 200);
  HttpResponse r = get(f.port(), "/lm");
  EXPECT_NE(xcache(r), "HIT") << describe(r);
  EXPECT_EQ(origin_count(be, "/lm"), 2u);
}

// =========================================================================================
// Targeted cache control (RFC 9213): Pillar-Cache-Control, then
// CDN-Cache-Control, replace Cache-Control in the store decision. That they
// are kept from the client, and CacheControlTarget, are in
// cache_conformance_test.cpp.
// =========================================================================================

TEST(CachePolicyTargeted, PillarCacheControlStoresWhatCacheControlForbids) {
  Backend be("origin", versioned("Cache-Control: no-store\r\nPillar-Cache-Control: max-age=60\r\n"));
  ASSERT_TRUE(be.ok());
  Front f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/t").body, "v1");
  HttpResponse r = get(f.port(), "/t");
  EXPECT_EQ(xcache(r), "HIT") << "Pillar-Cache-Control: max-age=60 is Pillar's lifetime: " << describe(r);
  EXPECT_EQ(r.body, "v1");
  EXPECT_EQ(origin_count(be, "/t"), 1u);
}

TEST(CachePolicyTargeted, CdnCacheControlNoStoreBeatsCacheControlMaxAge) {
  Backend be("origin", versioned("Cache-Control: max-age=60\r\nCDN-Cache-Control: no-store\r\n"));
  ASSERT_TRUE(be.ok());
  Front f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/t").body, "v1");
  HttpResponse r = get(f.port(), "/t");
  EXPECT_NE(xcache(r), "HIT") << describe(r);
  EXPECT_EQ(r.body, "v2") << describe(r);
  EXPECT_EQ(origin_count(be, "/t"), 2u);
}

TEST(CachePolicyTargeted, InvalidTargetedFieldIsIgnored) {
  // A trailing comma makes it no Structured Fields Dictionary (RFC 8941 §4.2.2),
  // although a Cache-Control reader would take max-age=600: no-store applies.
  Backend be("origin", versioned("Cache-Control: no-store\r\nCDN-Cache-Control: max-age=600,\r\n"));
  ASSERT_TRUE(be.ok());
  Front f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/t").body, "v1");
  HttpResponse r = get(f.port(), "/t");
  EXPECT_NE(xcache(r), "HIT") << describe(r);
  EXPECT_EQ(origin_count(be, "/t"), 2u);
}

}  // namespace
}  // namespace itest

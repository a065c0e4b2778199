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

#include "cache_front.h"

namespace itest {
namespace {

HttpResponse get(uint16_t port, const std::string& target, const std::string& fields = "") {
  return cache_request(port, "GET", target, fields);
}

std::string xcache(const HttpResponse& r) { return r.header("X-Cache"); }

// =========================================================================================
// The stored head: as the origin sent it, minus what RFC 9111 §3.1 and the
// response itself (private="...", no-cache="...") exclude.
// =========================================================================================

TEST(CachePolicyHead, HitKeepsSetCookie2AndDropsFieldsNamedByPrivate) {
  Backend be("origin", [](const BackendRequest&) {
    return cache_reply(200,
                 "Cache-Control: max-age=60, private=\"X-User\"\r\nSet-Cookie2: legacy=1; Version=1\r\n"
                 "X-User: alice\r\nX-Custom: kept\r\n",
                 "body");
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  HttpResponse first = get(f.port(), "/h");
  ASSERT_EQ(first.status, 200) << describe_response(first);
  HttpResponse hit = get(f.port(), "/h");
  ASSERT_EQ(xcache(hit), "HIT") << describe_response(hit);
  EXPECT_EQ(hit.header("Set-Cookie2"), "legacy=1; Version=1") << "stored as sent: " << describe_response(hit);
  EXPECT_EQ(hit.header("X-Custom"), "kept") << describe_response(hit);
  EXPECT_EQ(hit.header("X-User"), "") << "private=\"X-User\": a shared cache must not store it: " << describe_response(hit);
  EXPECT_EQ(origin_requests(be, "/h"), 1u);
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
  return [n, fields](const BackendRequest&) { return cache_reply(200, fields, "v" + std::to_string(++*n)); };
}

TEST(CachePolicyStale, ExpiredObjectIsNotServedStaleByDefault) {
  Backend be("origin", versioned("Cache-Control: max-age=1\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/s").body, "v1");
  HttpResponse r = first_non_hit(f.port(), "/s");
  EXPECT_NE(xcache(r), "STALE") << "nobody allowed a stale copy: " << describe_response(r);
  EXPECT_EQ(r.body, "v2") << "the expired copy must be fetched again: " << describe_response(r);
  EXPECT_EQ(origin_requests(be, "/s"), 2u);
}

TEST(CachePolicyStale, OriginStaleWhileRevalidateAllowsStale) {
  Backend be("origin", versioned("Cache-Control: max-age=1, stale-while-revalidate=30\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/swr").body, "v1");
  HttpResponse r = first_non_hit(f.port(), "/swr");
  EXPECT_EQ(xcache(r), "STALE") << describe_response(r);
  EXPECT_EQ(r.body, "v1") << describe_response(r);
  EXPECT_TRUE(eventually([&] { return get(f.port(), "/swr").body == "v2"; }, 3s)) << "one background refresh";
}

TEST(CachePolicyStale, ExplicitCacheGraceAllowsStale) {
  Backend be("origin", versioned("Cache-Control: max-age=1\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheGrace 30\n"));
  ASSERT_EQ(get(f.port(), "/g").body, "v1");
  HttpResponse r = first_non_hit(f.port(), "/g");
  EXPECT_EQ(xcache(r), "STALE") << "Varnish-style grace, opted in: " << describe_response(r);
  EXPECT_EQ(r.body, "v1") << describe_response(r);
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
    return cache_reply(200, "Date: " + http_date(now) + "\r\nLast-Modified: " + http_date(now - 10000) + "\r\n", "doc");
  };
}

TEST(CachePolicyHeuristic, LastModifiedGivesFreshnessByDefault) {
  Backend be("origin", last_modified_origin());
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/lm").status, 200);
  HttpResponse r = get(f.port(), "/lm");
  EXPECT_EQ(xcache(r), "HIT") << "fresh for 10% of 10000 s: " << describe_response(r);
  EXPECT_EQ(origin_requests(be, "/lm"), 1u);
}

TEST(CachePolicyHeuristic, CacheHeuristicOffDisablesIt) {
  Backend be("origin", last_modified_origin());
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheHeuristic Off\n"));
  ASSERT_EQ(get(f.port(), "/lm").status, 200);
  HttpResponse r = get(f.port(), "/lm");
  EXPECT_NE(xcache(r), "HIT") << describe_response(r);
  EXPECT_EQ(origin_requests(be, "/lm"), 2u);
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
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/t").body, "v1");
  HttpResponse r = get(f.port(), "/t");
  EXPECT_EQ(xcache(r), "HIT") << "Pillar-Cache-Control: max-age=60 is Pillar's lifetime: " << describe_response(r);
  EXPECT_EQ(r.body, "v1");
  EXPECT_EQ(origin_requests(be, "/t"), 1u);
}

TEST(CachePolicyTargeted, CdnCacheControlNoStoreBeatsCacheControlMaxAge) {
  Backend be("origin", versioned("Cache-Control: max-age=60\r\nCDN-Cache-Control: no-store\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/t").body, "v1");
  HttpResponse r = get(f.port(), "/t");
  EXPECT_NE(xcache(r), "HIT") << describe_response(r);
  EXPECT_EQ(r.body, "v2") << describe_response(r);
  EXPECT_EQ(origin_requests(be, "/t"), 2u);
}

TEST(CachePolicyTargeted, InvalidTargetedFieldIsIgnored) {
  // A trailing comma makes it no Structured Fields Dictionary (RFC 8941 §4.2.2),
  // although a Cache-Control reader would take max-age=600: no-store applies.
  Backend be("origin", versioned("Cache-Control: no-store\r\nCDN-Cache-Control: max-age=600,\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/t").body, "v1");
  HttpResponse r = get(f.port(), "/t");
  EXPECT_NE(xcache(r), "HIT") << describe_response(r);
  EXPECT_EQ(origin_requests(be, "/t"), 2u);
}

}  // namespace
}  // namespace itest

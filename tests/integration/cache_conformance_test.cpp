// RFC 9111/9110/9213 behaviours of the cache's request path, each against a
// scripted origin: a 304 updating the stored head before it is served
// (§4.3.4), Age on answers from the store (§5.1), targeted cache control
// (RFC 9213) and its CacheControlTarget directive, invalidation by unsafe
// methods (§4.4), interim responses (RFC 9110 §15.2), stale-if-error on a
// refused origin (RFC 5861), a client's conditional on a miss, and
// extension methods through a cached location.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cache_front.h"

namespace itest {
namespace {

std::string xcache(const HttpResponse& r) { return r.header("X-Cache"); }

HttpResponse get(uint16_t port, const std::string& target, const std::string& fields = "") {
  return cache_request(port, "GET", target, fields);
}

// Polls `target` while it answers HIT; returns the first other answer.
HttpResponse first_non_hit(uint16_t port, const std::string& target, Millis timeout = 4s) {
  HttpResponse r;
  eventually([&] { return xcache(r = get(port, target)) != "HIT"; }, timeout);
  return r;
}

// =========================================================================================
// A 304 from the origin updates the stored head before anyone is answered
// (RFC 9111 §3.2, §4.3.4): the client whose request revalidated sees it.
// =========================================================================================

TEST(CacheConformanceRevalidation, NotModifiedUpdatesTheHeadItAnswersWith) {
  Backend be("origin", [](const BackendRequest& r) {
    if (r.header("If-None-Match") == "\"a\"")
      return cache_reply(304,
                         "Cache-Control: max-age=60\r\nETag: W/\"a\"\r\nContent-Type: text/html\r\n"
                         "X-Custom: new1\r\nX-Custom: new2\r\nConnection: X-Hop\r\nX-Hop: 1\r\n",
                         "");
    return cache_reply(200, "Cache-Control: max-age=1\r\nETag: \"a\"\r\nContent-Type: text/plain\r\nX-Custom: old\r\n",
                       "v1");
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/r").body, "v1");
  HttpResponse r = first_non_hit(f.port(), "/r");
  ASSERT_EQ(xcache(r), "REVALIDATED") << describe_response(r);
  EXPECT_EQ(r.body, "v1");
  EXPECT_EQ(r.header("Cache-Control"), "max-age=60") << describe_response(r);
  EXPECT_EQ(r.header("ETag"), "W/\"a\"") << describe_response(r);
  EXPECT_EQ(r.header("Content-Type"), "text/html") << describe_response(r);
  EXPECT_EQ(r.count("X-Custom"), 2u) << "both lines of the 304's field: " << describe_response(r);
  EXPECT_EQ(r.header("X-Custom"), "new1") << describe_response(r);
  EXPECT_FALSE(r.has("X-Hop")) << "named by the 304's Connection: not stored: " << describe_response(r);
  HttpResponse hit = get(f.port(), "/r");
  EXPECT_EQ(xcache(hit), "HIT") << "max-age=60 from the 304: " << describe_response(hit);
  EXPECT_EQ(hit.header("ETag"), "W/\"a\"") << describe_response(hit);
  EXPECT_EQ(hit.count("X-Custom"), 2u) << describe_response(hit);
  EXPECT_EQ(origin_requests(be, "/r"), 2u);
}

// =========================================================================================
// Age (RFC 9111 §4.2.3, §5.1) on every answer from the store.
// =========================================================================================

TEST(CacheConformanceAge, OriginAgeCountsInTheStoredAge) {
  Backend be("origin", [](const BackendRequest&) { return cache_reply(200, "Cache-Control: max-age=600\r\nAge: 30\r\n", "a"); });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/age").status, 200);
  HttpResponse hit = get(f.port(), "/age");
  ASSERT_EQ(xcache(hit), "HIT") << describe_response(hit);
  EXPECT_EQ(hit.count("Age"), 1u) << describe_response(hit);
  int age = std::atoi(hit.header("Age").c_str());
  EXPECT_GE(age, 30) << describe_response(hit);
  EXPECT_LT(age, 40) << describe_response(hit);
}

TEST(CacheConformanceAge, SlowFillIsOldAtOnce) {
  // No Date from the origin: the fetch's own duration is the copy's age.
  Backend be("origin", [](const BackendRequest&) {
    BackendReply r = cache_reply(200, "Cache-Control: max-age=600\r\n", "slow");
    r.delay = std::chrono::milliseconds(1100);
    return r;
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/slow").body, "slow");
  HttpResponse hit = get(f.port(), "/slow");
  ASSERT_EQ(xcache(hit), "HIT") << describe_response(hit);
  EXPECT_GE(std::atoi(hit.header("Age").c_str()), 1) << "the 1.1 s the fetch took: " << describe_response(hit);
}

TEST(CacheConformanceAge, AgeNeverExceedsTwoToThe31) {
  // RFC 9111 §1.2.2: a delta-seconds past 2^31 is sent as 2^31. The copy is
  // stale at once; max-stale lets the client have it anyway.
  Backend be("origin", [](const BackendRequest& r) {
    if (r.target == "/ctl") return cache_reply(200, "Cache-Control: max-age=600\r\n", "ctl");
    return cache_reply(200, "Cache-Control: max-age=60\r\nAge: 2147483648\r\n", "old");
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/old").body, "old");
  ASSERT_EQ(get(f.port(), "/ctl").body, "ctl");
  // Stored after /old: once /ctl is a second old, /old has been stored a second too.
  ASSERT_TRUE(eventually([&] { return std::atoi(get(f.port(), "/ctl").header("Age").c_str()) >= 1; }, 4s));
  HttpResponse r = get(f.port(), "/old", "Cache-Control: max-stale\r\n");
  ASSERT_EQ(xcache(r), "STALE") << describe_response(r);
  EXPECT_EQ(r.header("Age"), "2147483648") << describe_response(r);
}

// =========================================================================================
// Targeted cache control (RFC 9213): obeyed, and kept from the client.
// =========================================================================================

Backend::Handler versioned(const std::string& fields) {
  auto n = std::make_shared<std::atomic<int>>(0);
  return [n, fields](const BackendRequest&) { return cache_reply(200, fields, "v" + std::to_string(++*n)); };
}

TEST(CacheConformanceTargeted, CdnCacheControlIsObeyedAndNotSentToTheClient) {
  Backend be("origin", versioned("Cache-Control: no-store\r\nCDN-Cache-Control: max-age=60\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  HttpResponse miss = get(f.port(), "/cdn");
  ASSERT_EQ(miss.body, "v1");
  EXPECT_FALSE(miss.has("CDN-Cache-Control")) << "the relayed miss: " << describe_response(miss);
  EXPECT_EQ(miss.header("Cache-Control"), "no-store") << "for the browser: " << describe_response(miss);
  HttpResponse hit = get(f.port(), "/cdn");
  EXPECT_EQ(xcache(hit), "HIT") << describe_response(hit);
  EXPECT_EQ(hit.body, "v1");
  EXPECT_FALSE(hit.has("CDN-Cache-Control")) << describe_response(hit);
  EXPECT_EQ(hit.header("Cache-Control"), "no-store") << describe_response(hit);
}

TEST(CacheConformanceTargeted, PillarCacheControlBeatsCdnCacheControlAndCacheControl) {
  Backend be("origin",
             versioned("Cache-Control: max-age=0\r\nCDN-Cache-Control: no-store\r\nPillar-Cache-Control: max-age=60\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  HttpResponse miss = get(f.port(), "/p");
  ASSERT_EQ(miss.body, "v1");
  EXPECT_FALSE(miss.has("Pillar-Cache-Control")) << describe_response(miss);
  EXPECT_FALSE(miss.has("CDN-Cache-Control")) << describe_response(miss);
  HttpResponse hit = get(f.port(), "/p");
  EXPECT_EQ(xcache(hit), "HIT") << describe_response(hit);
  EXPECT_FALSE(hit.has("Pillar-Cache-Control")) << describe_response(hit);
  EXPECT_EQ(hit.header("Cache-Control"), "max-age=0") << describe_response(hit);
  EXPECT_EQ(origin_requests(be, "/p"), 1u);
}

TEST(CacheConformanceTargeted, PublicInTheTargetedFieldLetsAuthorizedRequestsHit) {
  // RFC 9111 §3.5: a request with Authorization may get a stored copy only
  // when the response said public (or s-maxage, must-revalidate); here the
  // targeted field says it, Cache-Control does not.
  Backend be("origin", versioned("Cache-Control: max-age=60\r\nPillar-Cache-Control: max-age=60, public\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_EQ(get(f.port(), "/auth").body, "v1");
  HttpResponse r = get(f.port(), "/auth", "Authorization: Basic dTpw\r\n");
  EXPECT_EQ(xcache(r), "HIT") << describe_response(r);
  EXPECT_EQ(r.body, "v1");
}

TEST(CacheConformanceTargeted, TargetListWithoutCdnForwardsItUntouched) {
  Backend be("origin", versioned("Cache-Control: max-age=60\r\nCDN-Cache-Control: no-store\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheControlTarget Pillar-Cache-Control\n"));
  HttpResponse miss = get(f.port(), "/c");
  ASSERT_EQ(miss.body, "v1");
  EXPECT_EQ(miss.header("CDN-Cache-Control"), "no-store") << "for the CDN in front: " << describe_response(miss);
  HttpResponse hit = get(f.port(), "/c");
  EXPECT_EQ(xcache(hit), "HIT") << "CDN-Cache-Control is not Pillar's: " << describe_response(hit);
  EXPECT_EQ(hit.header("CDN-Cache-Control"), "no-store") << describe_response(hit);
}

TEST(CacheConformanceTargeted, TargetOffObeysOnlyCacheControl) {
  Backend be("origin", versioned("Cache-Control: no-store\r\nPillar-Cache-Control: max-age=60\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url(), "  CacheControlTarget Off\n"));
  HttpResponse miss = get(f.port(), "/o");
  ASSERT_EQ(miss.body, "v1");
  EXPECT_EQ(miss.header("Pillar-Cache-Control"), "max-age=60") << describe_response(miss);
  HttpResponse again = get(f.port(), "/o");
  EXPECT_EQ(again.body, "v2") << "no-store applies: " << describe_response(again);
}

TEST(CacheConformanceTargeted, BadCacheControlTargetIsAConfigError) {
  const std::string head = "Listen 127.0.0.1:0\nServerName localhost\nCacheSize 16M\n";
  for (const char* bad : {"CacheControlTarget Off Pillar-Cache-Control", "CacheControlTarget Bad(Name",
                                 "CacheControlTarget Cache-Control", "CacheControlTarget CDN-Cache-Control cdn-cache-control"}) {
    RunResult r = check_config(head + std::string(bad) + "\n");
    EXPECT_EQ(r.exit_code, 1) << bad << "\n" << r.out << r.err;
    EXPECT_TRUE(icontains(r.err, "CacheControlTarget")) << bad << "\n" << r.err;
  }
  RunResult ok = check_config(head + "CacheControlTarget Pillar-Cache-Control My-Cache-Control\n");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// =========================================================================================
// Invalidation (RFC 9111 §4.4): after the origin's answer to an unsafe
// request, not before it, and only for a 2xx/3xx.
// =========================================================================================

// GETs are cacheable for a minute (body "METHOD-n" counting every request);
// POST /p answers `post_status` with `post_fields`.
Backend::Handler post_origin(int post_status, std::string post_fields) {
  auto n = std::make_shared<std::atomic<int>>(0);
  return [n, post_status, post_fields](const BackendRequest& r) {
    if (r.method == "POST") {
      BackendReply b = cache_reply(post_status, post_fields, "posted");
      if (post_status != 200) b.bytes.replace(b.bytes.find(" OK"), 3, post_status == 201 ? " Created" : " Error");
      return b;
    }
    return cache_reply(200, "Cache-Control: max-age=60\r\n", "v" + std::to_string(++*n));
  };
}

HttpResponse post(uint16_t port, const std::string& target) {
  RawExchange ex = raw_exchange(
      port, "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
  return ex.responses.empty() ? HttpResponse{} : ex.first();
}

// Both cached: the second GET of each is a HIT.
void warm(uint16_t port, const std::string& a, const std::string& b) {
  for (const auto& t : {a, b}) {
    ASSERT_EQ(get(port, t).status, 200);
    ASSERT_EQ(xcache(get(port, t)), "HIT") << t;
  }
}

TEST(CacheConformanceInvalidation, CreatedWithLocationInvalidatesTargetAndLocation) {
  Backend be("origin", post_origin(201, "Location: /inv/b\r\nContent-Location: http://localhost/inv/c\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_NO_FATAL_FAILURE(warm(f.port(), "/inv/a", "/inv/b"));
  ASSERT_NO_FATAL_FAILURE(warm(f.port(), "/inv/c", "/inv/d"));
  ASSERT_EQ(post(f.port(), "/inv/a").status, 201);
  EXPECT_NE(xcache(get(f.port(), "/inv/a")), "HIT") << "the target";
  EXPECT_NE(xcache(get(f.port(), "/inv/b")), "HIT") << "the Location, same origin";
  EXPECT_NE(xcache(get(f.port(), "/inv/c")), "HIT") << "the Content-Location, same origin";
  EXPECT_EQ(xcache(get(f.port(), "/inv/d")), "HIT") << "an unrelated URL";
}

TEST(CacheConformanceInvalidation, FailedUnsafeRequestInvalidatesNothing) {
  Backend be("origin", post_origin(500, ""));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_NO_FATAL_FAILURE(warm(f.port(), "/f/a", "/f/b"));
  ASSERT_EQ(post(f.port(), "/f/a").status, 500);
  HttpResponse r = get(f.port(), "/f/a");
  EXPECT_EQ(xcache(r), "HIT") << "a 500 to the POST changes nothing: " << describe_response(r);
  EXPECT_EQ(origin_requests(be, "/f/a"), 2u) << "the first GET and the POST";
}

TEST(CacheConformanceInvalidation, CrossOriginLocationInvalidatesNothingThere) {
  Backend be("origin", post_origin(201, "Location: http://elsewhere.example/x/b\r\n"));
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  ASSERT_NO_FATAL_FAILURE(warm(f.port(), "/x/a", "/x/b"));
  ASSERT_EQ(post(f.port(), "/x/a").status, 201);
  EXPECT_NE(xcache(get(f.port(), "/x/a")), "HIT") << "the target";
  EXPECT_EQ(xcache(get(f.port(), "/x/b")), "HIT") << "another origin's /x/b is not this one";
}

// =========================================================================================
// Interim responses (RFC 9110 §15.2): passed on before the final response,
// never stored.
// =========================================================================================

Backend::Handler early_hints_origin() {
  return [](const BackendRequest&) {
    BackendReply r;
    r.bytes =
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 4\r\n\r\nbody";
    return r;
  };
}

TEST(CacheConformanceInterim, EarlyHintsReachTheClientAndAreNotStored) {
  Backend be("origin", early_hints_origin());
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  RawExchange miss = raw_get(f.port(), "/eh");
  ASSERT_EQ(miss.responses.size(), 2u) << miss.data;
  EXPECT_EQ(miss.responses[0].status, 103) << miss.data;
  EXPECT_EQ(miss.responses[0].header("Link"), "</style.css>; rel=preload") << miss.data;
  EXPECT_EQ(miss.responses[1].status, 200) << miss.data;
  EXPECT_EQ(miss.responses[1].body, "body");
  RawExchange hit = raw_get(f.port(), "/eh");
  ASSERT_EQ(hit.responses.size(), 1u) << "no interim response from the store: " << hit.data;
  EXPECT_EQ(xcache(hit.responses[0]), "HIT") << hit.data;
  EXPECT_FALSE(hit.responses[0].has("Link")) << "the 103's fields are not the response's: " << hit.data;
}

TEST(CacheConformanceInterim, NoInterimResponseForHttp10Clients) {
  Backend be("origin", early_hints_origin());
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  RawExchange ex = raw_exchange(f.port(), "GET /eh10 HTTP/1.0\r\nHost: localhost\r\n\r\n");
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_EQ(ex.responses[0].status, 200) << ex.data;
}

TEST(CacheConformanceInterim, OriginContinueIsNotRepeatedAfterPillarsOwn) {
  // Pillar answers Expect: 100-continue itself; the origin's 100 would be a
  // second one. Its 102 still goes through.
  Backend be("origin", [](const BackendRequest&) {
    BackendReply r;
    r.bytes =
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
        "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    return r;
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  RawConnection c(f.port());
  ASSERT_TRUE(c.send("POST /up HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
                     "Connection: close\r\n\r\n"));
  HttpResponse cont = c.read_response(3s);
  ASSERT_EQ(cont.status, 100) << "Pillar's own 100 Continue";
  ASSERT_TRUE(c.send("abc"));
  std::vector<HttpResponse> rest = parse_responses(c.read_until_close(3s));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].status, 102) << "the origin's 102 is passed on";
  EXPECT_EQ(rest[1].status, 201);
  EXPECT_EQ(rest[1].body, "ok");
}

// =========================================================================================
// stale-if-error (RFC 5861) when the origin cannot be reached at all.
// =========================================================================================

TEST(CacheConformanceStaleIfError, RefusedOriginConnectionServesTheStaleCopy) {
  auto be = std::make_unique<Backend>("origin", versioned("Cache-Control: max-age=1, stale-if-error=60\r\n"));
  ASSERT_TRUE(be->ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be->url()));
  ASSERT_EQ(get(f.port(), "/sie").body, "v1");
  be.reset();  // the origin is gone: its port refuses connections
  HttpResponse r = first_non_hit(f.port(), "/sie");
  EXPECT_EQ(r.status, 200) << describe_response(r);
  EXPECT_EQ(xcache(r), "STALE") << describe_response(r);
  EXPECT_EQ(r.body, "v1");
}

// =========================================================================================
// A client's conditional request on a miss goes to the origin with its
// validators, and the origin's 304 to it fills nothing.
// =========================================================================================

TEST(CacheConformanceConditional, ClientIfNoneMatchOnAMissIsForwarded) {
  Backend be("origin", [](const BackendRequest& r) {
    if (r.header("If-None-Match") == "\"v\"") return cache_reply(304, "ETag: \"v\"\r\nCache-Control: max-age=60\r\n", "");
    return cache_reply(200, "ETag: \"v\"\r\nCache-Control: max-age=60\r\n", "full");
  });
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  HttpResponse nm = get(f.port(), "/cond", "If-None-Match: \"v\"\r\n");
  EXPECT_EQ(nm.status, 304) << describe_response(nm);
  ASSERT_EQ(be.request_count(), 1u);
  EXPECT_EQ(be.requests()[0].header("If-None-Match"), "\"v\"") << "the client's validator reaches the origin";
  HttpResponse full = get(f.port(), "/cond");
  EXPECT_EQ(full.status, 200) << "the 304 was not stored: " << describe_response(full);
  EXPECT_EQ(full.body, "full");
  HttpResponse hit = get(f.port(), "/cond", "If-None-Match: \"v\"\r\n");
  EXPECT_EQ(hit.status, 304) << "now stored: the store answers the conditional: " << describe_response(hit);
  EXPECT_EQ(xcache(hit), "HIT") << describe_response(hit);
  EXPECT_EQ(origin_requests(be, "/cond"), 2u);
}

// =========================================================================================
// Extension methods go through a cached location to the origin.
// =========================================================================================

TEST(CacheConformanceMethods, ExtensionMethodsReachTheOrigin) {
  Backend be("origin");
  ASSERT_TRUE(be.ok());
  CacheFront f;
  ASSERT_NO_FATAL_FAILURE(f.start(be.url()));
  for (const std::string m : {"M-SEARCH", "PROPFIND"}) {
    HttpResponse r = cache_request(f.port(), m, "/ext");
    EXPECT_EQ(r.status, 200) << m << ": " << describe_response(r);
    EXPECT_NE(r.body.find("method " + m + "\n"), std::string::npos) << m << ": " << r.body;
  }
  EXPECT_EQ(origin_requests(be, "/ext"), 2u);
}

}  // namespace
}  // namespace itest

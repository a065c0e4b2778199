// Unit tests for the RFC 9111 shared-cache policy (src/cache/policy.cpp).
// Heads are built by parsing real bytes, so the views they hold point into
// buffers owned by the Req/Resp helpers (heads.h).
#include "cache/policy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>

#include "http/http_date.h"
#include "http/request_parser.h"
#include "http/response_parser.h"
#include "heads.h"

using pillar::cache::CacheControl;
using pillar::cache::decide_store;
using pillar::cache::freshness;
using pillar::cache::join_vary;
using pillar::cache::merge_cache_control;
using pillar::cache::primary_key;
using pillar::cache::request_cache_control;
using pillar::cache::request_needs_revalidation;
using pillar::cache::response_cache_control;
using pillar::cache::Settings;
using pillar::cache::StoreDecision;
using pillar::cache::vary_key;
using pillar::cache::vary_matches;
using pillar::http::ParseOutcome;
using pillar::http::RequestHead;
using pillar::http::ResponseHead;
using namespace cache_test;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

CacheControl parse_cc(std::string_view v) {
  CacheControl cc;
  merge_cache_control(cc, v);
  return cc;
}

// ---------------------------------------------------------------------------
// Cache-Control parsing

struct CcCase {
  const char* name;
  const char* value;
  CacheControl want;
};
void PrintTo(const CcCase& c, std::ostream* os) { *os << c.name; }

CacheControl cc_with(void (*f)(CacheControl&)) {
  CacheControl cc;
  f(cc);
  return cc;
}

const CcCase kCcCases[] = {
    {"Empty", "", {}},
    {"OnlyCommasAndSpaces", " , ,, ", {}},
    {"NoStore", "no-store", cc_with([](CacheControl& c) { c.no_store = true; })},
    {"BooleanFlags", "no-cache, private, public, must-revalidate, proxy-revalidate, only-if-cached",
     cc_with([](CacheControl& c) {
       c.no_cache = c.private_ = c.public_ = c.must_revalidate = c.proxy_revalidate = c.only_if_cached = true;
     })},
    {"Uppercase", "MAX-AGE=60, No-Store, S-MAXAGE=7", cc_with([](CacheControl& c) {
       c.max_age = 60;
       c.no_store = true;
       c.s_maxage = 7;
     })},
    {"Numbers", "max-age=60, s-maxage=120, stale-while-revalidate=30, stale-if-error=600, min-fresh=5",
     cc_with([](CacheControl& c) {
       c.max_age = 60;
       c.s_maxage = 120;
       c.stale_while_revalidate = 30;
       c.stale_if_error = 600;
       c.min_fresh = 5;
     })},
    {"QuotedNumber", "max-age=\"60\"", cc_with([](CacheControl& c) { c.max_age = 60; })},
    // RFC 9111 §5.2: cache-directive = token [ "=" ( token / quoted-string ) ],
    // no whitespace around "="; §4.2.1: invalid freshness information (a
    // max-age that is not delta-seconds) means stale, read here as 0.
    {"SpacesAroundEqualsIsStale", "max-age = 60", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"SpaceBeforeEqualsIsStale", "max-age =60", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"SpaceAfterEqualsIsStale", "max-age= 60", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"NonDigitIsStale", "max-age=abc", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"LeadingAlphaIsStale", "max-age=a100", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"TrailingAlphaIsStale", "max-age=100a", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"SingleQuotedIsStale", "max-age='60'", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"NegativeIsStale", "max-age=-1", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"FractionIsStale", "max-age=1.5", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"DecimalZeroIsStale", "max-age=3600.0", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"EmptyValueIsStale", "max-age=", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"NoValueIsStale", "max-age", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"LeadingZerosAreDigits", "max-age=003600", cc_with([](CacheControl& c) { c.max_age = 3600; })},
    {"InvalidSMaxageIsStale", "s-maxage=1.5, max-age=60", cc_with([](CacheControl& c) {
       c.s_maxage = 0;
       c.max_age = 60;
     })},
    {"InvalidStaleWindowsAreZero", "stale-while-revalidate=x, stale-if-error=1e3", cc_with([](CacheControl& c) {
       c.stale_while_revalidate = 0;
       c.stale_if_error = 0;
     })},
    // Repeated directives keep the most restrictive value, whatever the order.
    {"SmallestWinsFreshFirst", "max-age=1800, max-age=1", cc_with([](CacheControl& c) { c.max_age = 1; })},
    {"SmallestWinsStaleFirst", "max-age=1, max-age=1800", cc_with([](CacheControl& c) { c.max_age = 1; })},
    {"InvalidAmongValidIsStale", "max-age=abc, max-age=, max-age=30", cc_with([](CacheControl& c) { c.max_age = 0; })},
    {"SmallestWindows", "stale-if-error=60, stale-while-revalidate=9, stale-if-error=5, stale-while-revalidate=30",
     cc_with([](CacheControl& c) {
       c.stale_if_error = 5;
       c.stale_while_revalidate = 9;
     })},
    {"LargestMinFresh", "min-fresh=10, min-fresh=5", cc_with([](CacheControl& c) { c.min_fresh = 10; })},
    {"InvalidMinFreshIgnored", "min-fresh=x", {}},
    {"SmallestMaxStale", "max-stale, max-stale=30", cc_with([](CacheControl& c) { c.max_stale = 30; })},
    {"InvalidMaxStaleGrantsNothing", "max-stale=soon", {}},
    {"SpacedQualificationIsUnqualified", "no-cache = \"Set-Cookie\"", cc_with([](CacheControl& c) { c.no_cache = true; })},
    {"OverflowReadAs2Pow31", "max-age=99999999999999999999999", cc_with([](CacheControl& c) {
       c.max_age = int64_t{1} << 31;
     })},
    {"JunkAfterNumberIsStale", "max-age=60 junk, s-maxage=5", cc_with([](CacheControl& c) {
       c.max_age = 0;
       c.s_maxage = 5;
     })},
    {"JunkAfterRestrictiveFlagStillCounts", "no-store junk", cc_with([](CacheControl& c) { c.no_store = true; })},
    {"QualifiedNoCacheIgnored", "no-cache=\"Set-Cookie, X-Id\", max-age=5",
     cc_with([](CacheControl& c) { c.max_age = 5; })},
    {"QualifiedNoCacheTokenIgnored", "no-cache=Set-Cookie", {}},
    {"QualifiedPrivateIgnored", "private=\"X-User\"", {}},
    {"EmptyQualificationIsUnqualified", "private=, no-cache=\"\"", cc_with([](CacheControl& c) {
       c.private_ = true;
       c.no_cache = true;
     })},
    {"UnterminatedQuoteIsUnqualified", "no-cache=\"Set-Cookie, max-age=5",
     cc_with([](CacheControl& c) { c.no_cache = true; })},
    {"UnqualifiedAfterQualified", "private=\"x\", private", cc_with([](CacheControl& c) { c.private_ = true; })},
    {"PublicWithValueIgnored", "public=yes", {}},
    {"MaxStaleWithoutValue", "max-stale", cc_with([](CacheControl& c) { c.max_stale = kMax; })},
    {"MaxStaleWithValue", "max-stale=30", cc_with([](CacheControl& c) { c.max_stale = 30; })},
    {"UnknownWithQuotedComma", "foo=\"a,max-age=1\", max-age=5", cc_with([](CacheControl& c) { c.max_age = 5; })},
    {"MaxAgeInsideQuotedExtension", "max-age=1, extension=\"max-age=3600\"",
     cc_with([](CacheControl& c) { c.max_age = 1; })},
    {"EscapedQuoteInsideString", "foo=\"a\\\",max-age=1\", max-age=5",
     cc_with([](CacheControl& c) { c.max_age = 5; })},
    {"Garbage", "\x01\x7f==,,\"\"=;", {}},
};

class CacheControlParse : public ::testing::TestWithParam<CcCase> {};

TEST_P(CacheControlParse, Merges) {
  const CcCase& c = GetParam();
  CacheControl got = parse_cc(c.value);
  const CacheControl& w = c.want;
  EXPECT_EQ(got.no_store, w.no_store);
  EXPECT_EQ(got.no_cache, w.no_cache);
  EXPECT_EQ(got.private_, w.private_);
  EXPECT_EQ(got.public_, w.public_);
  EXPECT_EQ(got.must_revalidate, w.must_revalidate);
  EXPECT_EQ(got.proxy_revalidate, w.proxy_revalidate);
  EXPECT_EQ(got.only_if_cached, w.only_if_cached);
  EXPECT_EQ(got.max_age, w.max_age);
  EXPECT_EQ(got.s_maxage, w.s_maxage);
  EXPECT_EQ(got.stale_while_revalidate, w.stale_while_revalidate);
  EXPECT_EQ(got.stale_if_error, w.stale_if_error);
  EXPECT_EQ(got.max_stale, w.max_stale);
  EXPECT_EQ(got.min_fresh, w.min_fresh);
}

INSTANTIATE_TEST_SUITE_P(Cases, CacheControlParse, ::testing::ValuesIn(kCcCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(CacheControl, RequestMergesEveryField) {
  Req r("Cache-Control: max-age=99\r\nAccept: */*\r\ncache-control: no-cache, max-age=10\r\n");
  CacheControl cc = request_cache_control(r.head);
  EXPECT_EQ(cc.max_age, 10);
  EXPECT_TRUE(cc.no_cache);
}

TEST(CacheControl, PragmaNoCacheOnlyWithoutCacheControl) {
  Req pragma("Pragma: foo, No-Cache\r\n");
  EXPECT_TRUE(request_cache_control(pragma.head).no_cache);
  // RFC 9111 §5.4: Cache-Control present, Pragma is ignored.
  Req both("Pragma: no-cache\r\nCache-Control: max-age=5\r\n");
  EXPECT_FALSE(request_cache_control(both.head).no_cache);
  Req other("Pragma: foo\r\n");
  EXPECT_FALSE(request_cache_control(other.head).no_cache);
}

TEST(CacheControl, ResponseMergesEveryFieldAndIgnoresPragma) {
  Resp r("Cache-Control: public\r\nPragma: no-cache\r\nCache-Control: s-maxage=30\r\n");
  CacheControl cc = response_cache_control(r.head);
  EXPECT_TRUE(cc.public_);
  EXPECT_EQ(cc.s_maxage, 30);
  EXPECT_FALSE(cc.no_cache);
}

// ---------------------------------------------------------------------------
// decide_store: request sent and head received at T, Date: T unless the row says otherwise.

struct StoreCase {
  const char* name;
  const char* req_headers;
  int status;
  const char* resp_headers;
  bool store;
  const char* why;  // when !store
  int64_t ttl = 0;
  int64_t grace = 0;
  int64_t stale_if_error = 0;
  bool revalidate_always = false;
  void (*tweak)(Settings&) = nullptr;
  int64_t content_length = -1;
  const char* method = "GET";
};
void PrintTo(const StoreCase& c, std::ostream* os) { *os << c.name; }

#define D "Date: @{+0}\r\n"
void heuristic(Settings& s) { s.heuristic = pillar::config::CacheHeuristic::On; }

const StoreCase kStoreCases[] = {
    // Explicit freshness and its precedence.
    // No stale copy without permission (RFC 9111 §4.2.4): by default no grace and no stale-if-error.
    {"MaxAge", "", 200, D "Cache-Control: max-age=60\r\n", true, "", 60, 0},
    {"OriginSwrIsPermission", "", 200, D "Cache-Control: max-age=60, stale-while-revalidate=30\r\n", true, "", 60,
     30},
    {"AdminGraceIsPermission", "", 200, D "Cache-Control: max-age=60\r\n", true, "", 60, 10, 0, false,
     [](Settings& s) { s.grace = 10; }},
    {"SMaxageOverMaxAge", "", 200, D "Cache-Control: max-age=60, s-maxage=120\r\n", true, "", 120, 0},
    {"SMaxageKeepsExplicitWindows", "", 200,
     D "Cache-Control: s-maxage=120, stale-while-revalidate=30, stale-if-error=90\r\n", true, "", 120, 30, 90},
    {"MaxAgeOverExpires", "", 200, D "Cache-Control: max-age=60\r\nExpires: @{+300}\r\n", true, "", 60, 0},
    {"ExpiresMinusDate", "", 200, D "Expires: @{+300}\r\n", true, "", 300, 0},
    {"ExpiresWithoutDateUsesReceipt", "", 200, "Expires: @{+50}\r\n", true, "", 50, 0},
    // An invalid max-age is still a max-age: it makes the response stale and Expires is not consulted.
    {"InvalidMaxAgeHidesExpires", "", 200, D "Cache-Control: max-age=soon\r\nExpires: @{+40}\r\n", false,
     "no freshness"},
    {"InvalidMaxAgeWithEtagStoredStale", "", 200, D "Cache-Control: max-age=1.5\r\nETag: \"a\"\r\n", true, "", 0,
     0},
    {"SpacedMaxAgeIsStale", "", 200, D "Cache-Control: max-age = 3600\r\n", false, "no freshness"},
    {"AlphaMaxAgeIsStale", "", 200, D "Cache-Control: max-age=a100\r\n", false, "no freshness"},
    {"DuplicateMaxAgeSameLineSmallest", "", 200, D "Cache-Control: max-age=1, max-age=1800\r\n", true, "", 1, 0},
    // RFC 9111 §5.3 / RFC 9110 §5.6.7: HTTP-date is case-sensitive and always GMT; anything else is
    // invalid, and an invalid Expires means already expired.
    {"ExpiresLowercaseMonthExpired", "", 200, D "Expires: Sun, 06 nov 1994 08:54:37 GMT\r\n", false,
     "no freshness"},
    {"ExpiresUppercaseMonthExpired", "", 200, D "Expires: Sun, 06 NOV 1994 08:54:37 GMT\r\n", false,
     "no freshness"},
    {"ExpiresUtcZoneExpired", "", 200, D "Expires: Sun, 06 Nov 1994 08:54:37 UTC\r\n", false, "no freshness"},
    {"ExpiresNumericZoneExpired", "", 200, D "Expires: Sun, 06 Nov 1994 08:54:37 +0000\r\n", false,
     "no freshness"},
    {"ExpiresLowercaseGmtExpired", "", 200, D "Expires: Sun, 06 Nov 1994 08:54:37 gmt\r\n", false,
     "no freshness"},
    {"ExpiresBadCaseWithEtagStoredStale", "", 200, D "Expires: Sun, 06 nov 1994 08:54:37 GMT\r\nETag: \"e\"\r\n",
     true, "", 0, 0},
    {"ExpiresCorrectFormFresh", "", 200, D "Expires: Sun, 06 Nov 1994 08:54:37 GMT\r\n", true, "", 300, 0},
    {"InvalidExpiresIsExpired", "", 200, D "Expires: 0\r\n", false, "no freshness"},
    {"InvalidExpiresWithEtagStoredTtl0", "", 200, D "Expires: 0\r\nETag: \"a\"\r\n", true, "", 0, 0},
    {"PastExpires", "", 200, D "Expires: @{-10}\r\n", false, "no freshness"},
    {"MaxAge0WithoutValidator", "", 200, D "Cache-Control: max-age=0\r\n", false, "no freshness"},
    {"MaxAge0WithEtag", "", 200, D "Cache-Control: max-age=0\r\nETag: \"v1\"\r\n", true, "", 0, 0},
    {"MaxAge0WithLastModified", "", 200, D "Cache-Control: max-age=0\r\nLast-Modified: @{-5}\r\n", true, "", 0,
     0},
    {"QuotedUppercaseMaxAge", "", 200, D "CACHE-CONTROL: MAX-AGE=\"45\"\r\n", true, "", 45, 0},
    {"SmallestMaxAgeAcrossFields", "", 200, D "Cache-Control: max-age=60\r\nCache-Control: max-age=5\r\n", true, "",
     5, 0},
    {"MaxTtlCapsExplicit", "", 200, D "Cache-Control: max-age=1000000\r\n", true, "", 86400, 0},
    {"HugeMaxAgeReadAs2Pow31", "", 200, D "Cache-Control: max-age=99999999999999\r\n", true, "",
     int64_t{1} << 31, 0, 0, false, [](Settings& s) { s.max_ttl = kMax; }},
    {"MinTtlNotForExplicit", "", 200, D "Cache-Control: max-age=5\r\n", true, "", 5, 0, 0, false,
     [](Settings& s) { s.min_ttl = 600; }},
    {"GarbageCacheControl", "", 200, D "Cache-Control: =,\"\";;max-age\r\n", false, "no freshness"},

    // Refusals.
    {"ResponseNoStore", "", 200, D "Cache-Control: max-age=60, no-store\r\n", false, "no-store"},
    {"RequestNoStore", "Cache-Control: no-store\r\n", 200, D "Cache-Control: max-age=60\r\n", false, "no-store"},
    {"Private", "", 200, D "Cache-Control: max-age=60, private\r\n", false, "private"},
    {"PrivateUppercase", "", 200, D "Cache-Control: PRIVATE, max-age=60\r\n", false, "private"},
    {"PrivateQualifiedStored", "", 200, D "Cache-Control: private=\"X-User\", max-age=60\r\n", true, "", 60, 0},
    {"SetCookie", "", 200, D "Cache-Control: max-age=60\r\nSet-Cookie: a=b\r\n", false, "Set-Cookie"},
    {"SetCookieWithStoreCookies", "", 200, D "Cache-Control: max-age=60\r\nSet-Cookie: a=b\r\n", true, "", 60, 0,
     0, false, [](Settings& s) { s.store_cookies = true; }},
    {"VaryStar", "", 200, D "Cache-Control: max-age=60\r\nVary: *\r\n", false, "Vary: *"},
    {"VaryStarInList", "", 200, D "Cache-Control: max-age=60\r\nVary: Accept\r\nVary: Origin, *\r\n", false,
     "Vary: *"},
    {"Status206", "", 206, D "Cache-Control: max-age=60\r\nContent-Range: bytes 0-1/10\r\n", false, "status 206"},
    {"Status304", "", 304, D "Cache-Control: max-age=60\r\n", false, "status 304"},
    {"Interim103", "", 103, "Link: </a.css>\r\n", false, "not final"},
    {"HeadNotStored", "", 200, D "Cache-Control: max-age=60\r\n", false, "method", 0, 0, 0, false, nullptr, -1,
     "HEAD"},
    {"PostNotStored", "Content-Length: 0\r\n", 200, D "Cache-Control: max-age=60\r\n", false, "method", 0, 0, 0,
     false, nullptr, -1, "POST"},
    {"TooLarge", "", 200, D "Cache-Control: max-age=60\r\n", false, "too large", 0, 0, 0, false, nullptr, 1000001},
    {"ExactlyMaxSize", "", 200, D "Cache-Control: max-age=60\r\n", true, "", 60, 0, 0, false, nullptr, 1000000},
    {"SmallerMaxObjectSize", "", 200, D "Cache-Control: max-age=60\r\n", false, "too large", 0, 0, 0, false,
     [](Settings& s) { s.max_object_size = 10; }, 11},

    // Authorization (§3.5).
    {"AuthorizationPlain", "Authorization: Basic eDp5\r\n", 200, D "Cache-Control: max-age=60\r\n", false,
     "Authorization"},
    {"AuthorizationPublic", "Authorization: Basic eDp5\r\n", 200, D "Cache-Control: public, max-age=60\r\n", true,
     "", 60, 0},
    {"AuthorizationSMaxage", "Authorization: Basic eDp5\r\n", 200, D "Cache-Control: s-maxage=60\r\n", true, "", 60,
     0},
    {"AuthorizationMustRevalidate", "Authorization: Basic eDp5\r\n", 200,
     D "Cache-Control: must-revalidate, max-age=60, stale-while-revalidate=30\r\n", true, "", 60, 0, 0},
    {"AuthorizationPublicButPrivate", "Authorization: Basic eDp5\r\n", 200,
     D "Cache-Control: public, private, max-age=60\r\n", false, "private"},

    // Response no-cache.
    {"NoCacheWithEtag", "", 200, D "Cache-Control: no-cache\r\nETag: \"x\"\r\n", true, "", 0, 0, 0, true},
    {"NoCacheWithMaxAgeIsTtl0", "", 200, D "Cache-Control: no-cache, max-age=600\r\nETag: \"x\"\r\n", true, "", 0,
     0, 0, true},
    {"NoCacheKeepsExplicitStaleIfError", "", 200,
     D "Cache-Control: no-cache, stale-if-error=60, stale-while-revalidate=9\r\nETag: \"x\"\r\n", true, "", 0, 0,
     60, true},
    {"NoCacheBarsDefaultStaleIfError", "", 200, D "Cache-Control: no-cache\r\nLast-Modified: @{-60}\r\n", true, "",
     0, 0, 0, true, [](Settings& s) { s.stale_if_error = 300; }},
    {"NoCacheWithoutValidator", "", 200, D "Cache-Control: no-cache, max-age=60\r\n", false, "no-cache"},
    {"NoCacheOn500WithoutFreshness", "", 500, D "Cache-Control: no-cache\r\nETag: \"x\"\r\n", false,
     "no freshness"},
    {"NoCacheQualifiedIsStoredNormally", "", 200, D "Cache-Control: no-cache=\"Set-Cookie\", max-age=60\r\n", true,
     "", 60, 0},
    {"RequestNoCacheDoesNotStopStore", "Cache-Control: no-cache\r\nPragma: no-cache\r\n", 200,
     D "Cache-Control: max-age=60\r\n", true, "", 60, 0},

    // Statuses and heuristic freshness.
    {"NothingNoHeuristic", "", 200, D, false, "no freshness"},
    {"EtagOnlyNoHeuristic", "", 200, D "ETag: \"x\"\r\n", false, "no freshness"},
    {"PublicOnlyNoHeuristic", "", 200, D "Cache-Control: public\r\n", false, "no freshness"},
    // RFC 9111 §4.2.2: heuristic freshness by default, 10% of the time since Last-Modified, capped by
    // CacheMaxExpire (a day); only for heuristically cacheable statuses or `public`.
    {"DefaultHeuristicFromLastModified", "", 200, D "Last-Modified: @{-10000}\r\n", true, "", 1000, 0},
    {"DefaultHeuristic404", "", 404, D "Last-Modified: @{-600}\r\n", true, "", 60, 0},
    {"DefaultHeuristicCappedToADay", "", 200, D "Last-Modified: @{-100000000}\r\n", true, "", 86400, 0},
    {"DefaultHeuristicNotFor302", "", 302, D "Location: /b\r\nLast-Modified: @{-10000}\r\n", false,
     "no freshness"},
    {"DefaultHeuristicPublic302", "", 302, D "Location: /b\r\nCache-Control: public\r\nLast-Modified: @{-10000}\r\n",
     true, "", 1000, 0},
    {"DefaultHeuristicNotWithInvalidExpires", "", 200, D "Expires: 0\r\nLast-Modified: @{-10000}\r\n", true, "", 0,
     0},
    {"HeuristicOff", "", 200, D "Last-Modified: @{-10000}\r\n", false, "no freshness", 0, 0, 0, false,
     [](Settings& s) { s.heuristic = pillar::config::CacheHeuristic::Off; }},
    {"HeuristicLastModified", "", 200, D "Last-Modified: @{-10000}\r\n", true, "", 1000, 0, 0, false, heuristic},
    {"HeuristicLmFactor", "", 200, D "Last-Modified: @{-10000}\r\n", true, "", 5000, 0, 0, false,
     [](Settings& s) {
       s.heuristic = pillar::config::CacheHeuristic::On;
       s.lm_factor = 0.5;
     }},
    {"HeuristicDefaultTtl", "", 200, D, true, "", 3600, 0, 0, false, heuristic},
    {"Heuristic404", "", 404, D, true, "", 3600, 0, 0, false, heuristic},
    {"Heuristic301", "", 301, D "Location: /b\r\n", true, "", 3600, 0, 0, false, heuristic},
    {"Heuristic204", "", 204, D, true, "", 3600, 0, 0, false, heuristic},
    {"HeuristicMinTtl", "", 200, D "Last-Modified: @{-1000}\r\n", true, "", 600, 0, 0, false,
     [](Settings& s) {
       s.heuristic = pillar::config::CacheHeuristic::On;
       s.min_ttl = 600;
     }},
    {"HeuristicMaxTtlCap", "", 200, D, true, "", 86400, 0, 0, false,
     [](Settings& s) {
       s.heuristic = pillar::config::CacheHeuristic::On;
       s.default_ttl = 1000000;
     }},
    {"HeuristicFutureLastModifiedTtl0", "", 200, D "Last-Modified: @{+100}\r\n", true, "", 0, 0, 0, false,
     heuristic},
    {"Heuristic302NotAllowed", "", 302, D "Location: /b\r\n", false, "no freshness", 0, 0, 0, false, heuristic},
    {"Heuristic302Public", "", 302, D "Location: /b\r\nCache-Control: public\r\n", true, "", 3600, 0, 0, false,
     heuristic},
    {"Explicit302", "", 302, D "Location: /b\r\nCache-Control: max-age=60\r\n", true, "", 60, 0},
    {"Explicit500Expires", "", 500, D "Expires: @{+30}\r\n", true, "", 30, 0},
    {"Plain500", "", 500, D "ETag: \"x\"\r\n", false, "no freshness", 0, 0, 0, false, heuristic},

    // Stale windows.
    {"ResponseWindows", "", 200, D "Cache-Control: max-age=60, stale-while-revalidate=30, stale-if-error=300\r\n",
     true, "", 60, 30, 300},
    {"SettingsWindows", "", 200, D "Cache-Control: max-age=60\r\n", true, "", 60, 5, 120, false,
     [](Settings& s) {
       s.grace = 5;
       s.stale_if_error = 120;
     }},
    {"MustRevalidateNoWindows", "", 200,
     D "Cache-Control: max-age=60, must-revalidate, stale-while-revalidate=30, stale-if-error=300\r\n", true, "",
     60, 0, 0, false, [](Settings& s) { s.stale_if_error = 100; }},
    {"ProxyRevalidateNoWindows", "", 200, D "Cache-Control: max-age=60, proxy-revalidate\r\n", true, "", 60, 0, 0,
     false, [](Settings& s) { s.stale_if_error = 100; }},
};
#undef D

class DecideStore : public ::testing::TestWithParam<StoreCase> {};

TEST_P(DecideStore, Decides) {
  const StoreCase& c = GetParam();
  Settings s;
  if (c.tweak) c.tweak(s);
  Req req(c.req_headers, c.method);
  Resp resp(c.resp_headers, c.status);
  StoreDecision d = decide_store(req.head, resp.head, T, T, c.content_length, s);
  ASSERT_EQ(d.store, c.store) << "why: " << d.why;
  if (!c.store) {
    EXPECT_STREQ(d.why, c.why);
    return;
  }
  EXPECT_EQ(d.ttl, c.ttl);
  EXPECT_EQ(d.grace, c.grace);
  EXPECT_EQ(d.stale_if_error, c.stale_if_error);
  EXPECT_EQ(d.revalidate_always, c.revalidate_always);
  EXPECT_EQ(d.initial_age, 0);
}

// The lifetime is Expires - Date, not Expires - now; the clock skew shows up as age instead.
TEST(DecideStoreDates, ExpiresMinusDateNotNow) {
  Req req("");
  Resp resp("Date: @{-100}\r\nExpires: @{+200}\r\n");
  StoreDecision d = decide_store(req.head, resp.head, T, T, -1, Settings{});
  ASSERT_TRUE(d.store) << d.why;
  EXPECT_EQ(d.ttl, 300);
  EXPECT_EQ(d.initial_age, 100);
  EXPECT_TRUE(freshness(T + 199, T, d.initial_age, d.ttl, d.grace, d.stale_if_error).fresh);
  EXPECT_FALSE(freshness(T + 200, T, d.initial_age, d.ttl, d.grace, d.stale_if_error).fresh);
}

INSTANTIATE_TEST_SUITE_P(Cases, DecideStore, ::testing::ValuesIn(kStoreCases),
                         [](const auto& info) { return std::string(info.param.name); });

// initial_age = max(apparent_age, Age + response_delay) (§4.2.3).
struct AgeCase {
  const char* name;
  const char* resp_headers;
  int64_t request_time;
  int64_t response_time;
  int64_t want;
};
void PrintTo(const AgeCase& c, std::ostream* os) { *os << c.name; }

const AgeCase kAgeCases[] = {
    {"Zero", "Date: @{+0}\r\n", T, T, 0},
    {"AgeHeader", "Date: @{+0}\r\nAge: 100\r\n", T, T, 100},
    {"AgePlusDelay", "Date: @{+0}\r\nAge: 100\r\n", T - 5, T, 105},
    {"ApparentAgeWins", "Date: @{-300}\r\nAge: 10\r\n", T - 1, T, 300},
    {"CorrectedAgeWins", "Date: @{-10}\r\nAge: 50\r\n", T - 2, T, 52},
    {"DelayAloneWhenDateInFuture", "Date: @{+60}\r\n", T - 3, T, 3},
    {"NoDateUsesAge", "Age: 20\r\n", T, T, 20},
    {"BadAgeIgnored", "Date: @{+0}\r\nAge: soon\r\n", T, T, 0},
    {"BadDateIgnored", "Date: yesterday\r\nAge: 7\r\n", T, T, 7},
    {"ResponseBeforeRequestClamped", "Age: 7\r\n", T + 5, T, 7},
    // RFC 9111 §5.1: a list-based Age uses its first member; an invalid first member ignores the field.
    {"AgeListFirstMember", "Date: @{+0}\r\nAge: 7200, 0\r\n", T, T, 7200},
    {"AgeListZeroFirst", "Date: @{+0}\r\nAge: 0, 7200\r\n", T, T, 0},
    {"AgeTwoLinesFirstLine", "Date: @{+0}\r\nAge: 7200\r\nAge: 0\r\n", T, T, 7200},
    {"AgeListInvalidFirstIgnored", "Date: @{-50}\r\nAge: old, 0\r\n", T, T, 50},
    {"AgeWithParameterIgnored", "Date: @{+0}\r\nAge: 7200;src=x\r\n", T, T, 0},
    {"AgeFloatIgnored", "Date: @{+0}\r\nAge: 7200.0\r\n", T, T, 0},
    {"AgeNegativeIgnored", "Date: @{-5}\r\nAge: -7200\r\n", T, T, 5},
    {"AgeEmptyFirstLineNextLine", "Date: @{+0}\r\nAge: ,\r\nAge: 30\r\n", T, T, 30},
};

class InitialAge : public ::testing::TestWithParam<AgeCase> {};

TEST_P(InitialAge, IsCorrected) {
  const AgeCase& c = GetParam();
  Req req("");
  Resp resp(std::string(c.resp_headers) + "Cache-Control: max-age=600\r\n");
  StoreDecision d = decide_store(req.head, resp.head, c.request_time, c.response_time, -1, Settings{});
  ASSERT_TRUE(d.store) << d.why;
  EXPECT_EQ(d.initial_age, c.want);
}

INSTANTIATE_TEST_SUITE_P(Cases, InitialAge, ::testing::ValuesIn(kAgeCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// Vary and keys

TEST(Vary, JoinVary) {
  Resp none("Content-Length: 0\r\n");
  EXPECT_EQ(join_vary(none.head), "");
  Resp two("Vary: Accept-Encoding\r\nContent-Length: 0\r\nvary: Accept-Language, Origin\r\n");
  EXPECT_EQ(join_vary(two.head), "Accept-Encoding,Accept-Language, Origin");
}

TEST(Vary, NoVaryGivesEmptyKey) {
  Req r("Accept-Encoding: gzip\r\n");
  EXPECT_EQ(vary_key("", r.head), "");
  EXPECT_EQ(vary_key(" , ", r.head), "");
  EXPECT_TRUE(vary_matches("", "", r.head));
}

TEST(Vary, AcceptEncodingOrderAndSpacingDoNotMatter) {
  Req a("Accept-Encoding: gzip, deflate\r\n");
  Req b("Accept-Encoding: deflate,gzip\r\n");
  Req c("Accept-Encoding: DEFLATE\r\naccept-encoding:  GZip \r\n");  // split over two lines
  EXPECT_EQ(vary_key("Accept-Encoding", a.head), "accept-encoding:deflate,gzip\n");
  EXPECT_EQ(vary_key("Accept-Encoding", b.head), vary_key("Accept-Encoding", a.head));
  EXPECT_EQ(vary_key("accept-encoding", c.head), vary_key("Accept-Encoding", a.head));
}

TEST(Vary, AcceptEncodingParametersNormalised) {
  Req a("Accept-Encoding: gzip;q=1.0, br\r\n");
  Req b("Accept-Encoding: br , gzip ; Q=1.0,\r\n");
  EXPECT_EQ(vary_key("Accept-Encoding", a.head), "accept-encoding:br,gzip;q=1.0\n");
  EXPECT_EQ(vary_key("Accept-Encoding", b.head), vary_key("Accept-Encoding", a.head));
  Req gzip("Accept-Encoding: gzip\r\n");
  EXPECT_NE(vary_key("Accept-Encoding", gzip.head), vary_key("Accept-Encoding", a.head));
}

TEST(Vary, AbsentDiffersFromEmpty) {
  Req absent("");
  Req empty("Accept-Encoding:\r\n");
  EXPECT_EQ(vary_key("Accept-Encoding", absent.head), "accept-encoding\n");
  EXPECT_EQ(vary_key("Accept-Encoding", empty.head), "accept-encoding:\n");
}

TEST(Vary, OtherFieldsKeepCaseButCollapseWhitespace) {
  Req spaced("X-Thing: a \t  b\r\n");
  Req single("X-Thing: a b\r\n");
  Req upper("X-Thing: A b\r\n");
  Req reordered("X-Thing: b, a\r\n");
  Req ordered("X-Thing: a,b\r\n");
  EXPECT_EQ(vary_key("X-Thing", spaced.head), "x-thing:a b\n");
  EXPECT_EQ(vary_key("X-Thing", spaced.head), vary_key("X-Thing", single.head));
  // Nothing says an unknown field is case-insensitive or unordered.
  EXPECT_NE(vary_key("X-Thing", upper.head), vary_key("X-Thing", single.head));
  EXPECT_NE(vary_key("X-Thing", reordered.head), vary_key("X-Thing", ordered.head));
}

// RFC 9111 §4.1: values match after removing whitespace where the syntax
// allows it, combining field lines, and normalising in ways the field's
// definition makes meaningless: language tags are case-insensitive (RFC 5646
// §2.1.1) and Accept-Language ranks by q-value, not by order (RFC 9110 §12.5.4).
TEST(Vary, AcceptLanguageCaseOrderAndWhitespace) {
  Req a("Accept-Language: en-US ,  en;q=0.5\r\n");
  Req b("Accept-Language: en;q=0.5,EN-us\r\n");
  Req c("Accept-Language: en ; q=0.5\r\nAccept-Language: en-US,\r\n");  // two lines, OWS around ';', empty member
  Req other("Accept-Language: en-GB, en;q=0.5\r\n");
  EXPECT_EQ(vary_key("Accept-Language", a.head), "accept-language:en-us,en;q=0.5\n");
  EXPECT_EQ(vary_key("Accept-Language", b.head), vary_key("Accept-Language", a.head));
  EXPECT_EQ(vary_key("Accept-Language", c.head), vary_key("Accept-Language", a.head));
  EXPECT_NE(vary_key("Accept-Language", other.head), vary_key("Accept-Language", a.head));
}

TEST(Vary, AcceptMediaRangesFoldedButParameterValuesKept) {
  Req a("Accept: text/HTML;Level=1, */* ; q=0.1\r\n");
  Req b("Accept: */*;q=0.1,text/html;level=1\r\n");
  EXPECT_EQ(vary_key("Accept", a.head), "accept:*/*;q=0.1,text/html;level=1\n");
  EXPECT_EQ(vary_key("Accept", a.head), vary_key("Accept", b.head));
  // A media-type parameter value may be case-sensitive (RFC 9110 §8.3.1): kept as sent.
  Req upper_value("Accept: text/plain;format=Flowed\r\n");
  Req lower_value("Accept: text/plain;format=flowed\r\n");
  EXPECT_NE(vary_key("Accept", upper_value.head), vary_key("Accept", lower_value.head));
  // A comma inside a quoted parameter value does not split the member.
  Req quoted("Accept: text/x;p=\"b, A\", text/a\r\n");
  EXPECT_EQ(vary_key("Accept", quoted.head), "accept:text/a,text/x;p=\"b, A\"\n");
}

TEST(Vary, AcceptEncodingEmptyMembersIgnored) {
  Req a("Accept-Encoding: gzip,, br,\r\n");
  Req b("Accept-Encoding: br, gzip\r\n");
  EXPECT_EQ(vary_key("Accept-Encoding", a.head), vary_key("Accept-Encoding", b.head));
}

TEST(Vary, SeveralNamesInVaryOrder) {
  Req r("User-Agent: ua/1\r\nAccept-Encoding: br\r\n");
  EXPECT_EQ(vary_key("Accept-Encoding, USER-AGENT,, Origin", r.head),
            "accept-encoding:br\nuser-agent:ua/1\norigin\n");
}

TEST(Vary, Matches) {
  Resp resp("Vary: Accept-Encoding\r\nVary: Accept-Language\r\nContent-Length: 0\r\n");
  std::string names = join_vary(resp.head);
  Req stored("Accept-Encoding: gzip, br\r\nAccept-Language: de\r\n");
  std::string key = vary_key(names, stored.head);

  Req same("Accept-Language: de\r\nAccept-Encoding: br,gzip\r\nCookie: x=1\r\n");
  Req other_lang("Accept-Encoding: gzip, br\r\nAccept-Language: fr\r\n");
  Req no_lang("Accept-Encoding: gzip, br\r\n");
  EXPECT_TRUE(vary_matches(names, key, same.head));
  EXPECT_FALSE(vary_matches(names, key, other_lang.head));
  EXPECT_FALSE(vary_matches(names, key, no_lang.head));
}

TEST(Keys, PrimaryKeyLowersHostOnly) {
  EXPECT_EQ(primary_key("Example.COM", "/A/b?Q=1"), "example.com\n/A/b?Q=1");
  EXPECT_EQ(primary_key("", "/"), "\n/");
  Req r("", "GET", "/x?y");
  EXPECT_EQ(primary_key(r.head.authority, r.head.target), "example.com\n/x?y");
}

// ---------------------------------------------------------------------------
// What a stored head keeps (RFC 9111 §3.1)

std::string lines_of(const Resp& r) {
  std::string out;
  for (const auto& f : r.head.headers) out.append(f.name).append(": ").append(f.value).append("\r\n");
  return out;
}

TEST(StoredHead, KeepsWhatTheOriginSentExceptHopByHopAndOwnFraming) {
  Resp r("Cache-Control: max-age=60\r\nSet-Cookie2: a=b; Version=1\r\nX-Custom: 1\r\n"
         "Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nAge: 3\r\nContent-Length: 0\r\n"
         "Trailer: X-T\r\nSet-Cookie: s=1\r\nContent-Type: text/plain\r\n");
  EXPECT_EQ(pillar::cache::stored_head(lines_of(r), r.head),
            "Cache-Control: max-age=60\r\nSet-Cookie2: a=b; Version=1\r\nX-Custom: 1\r\nContent-Type: text/plain\r\n");
}

TEST(StoredHead, DropsFieldsNamedByConnection) {
  Resp r("Connection: x-hop, close\r\nX-Hop: 1\r\nX-Kept: 2\r\nContent-Length: 0\r\n");
  EXPECT_EQ(pillar::cache::stored_head(lines_of(r), r.head), "X-Kept: 2\r\n");
}

// §5.2.2.7: a shared cache MUST NOT store the fields private="..." names;
// §5.2.2.4: no-cache="..." fields are not reused without revalidation.
TEST(StoredHead, DropsFieldsNamedByQualifiedPrivateAndNoCache) {
  Resp r("Cache-Control: max-age=60, private=\"X-User, x-session\"\r\n"
         "Cache-Control: no-cache=\"X-Token\", no-cache=X-Single\r\n"
         "X-User: bob\r\nX-Session: 9\r\nX-Token: t\r\nX-Single: s\r\nX-Other: o\r\nContent-Length: 0\r\n");
  EXPECT_EQ(pillar::cache::stored_head(lines_of(r), r.head),
            "Cache-Control: max-age=60, private=\"X-User, x-session\"\r\n"
            "Cache-Control: no-cache=\"X-Token\", no-cache=X-Single\r\nX-Other: o\r\n");
}

// §5.1 seen end to end: `Age: 7200, 0` is an old response, not a fresh one.
TEST(DecideStoreDates, ListAgeMakesTheResponseStale) {
  Req req("");
  Resp resp("Date: @{+0}\r\nCache-Control: max-age=3600\r\nAge: 7200, 0\r\nETag: \"x\"\r\n");
  StoreDecision d = decide_store(req.head, resp.head, T, T, -1, Settings{});
  ASSERT_TRUE(d.store) << d.why;
  EXPECT_FALSE(freshness(T, T, d.initial_age, d.ttl, d.grace, d.stale_if_error).fresh);
}

// ---------------------------------------------------------------------------
// Freshness at lookup

struct FreshCase {
  const char* name;
  int64_t now, stored_at, initial_age, ttl, grace, sie;
  bool fresh, within_grace, within_sie;
  int64_t age;
};
void PrintTo(const FreshCase& c, std::ostream* os) { *os << c.name; }

const FreshCase kFreshCases[] = {
    {"JustStored", T, T, 0, 60, 10, 0, true, false, false, 0},
    {"LastFreshSecond", T + 59, T, 0, 60, 10, 0, true, false, false, 59},
    {"StaleAtTtl", T + 60, T, 0, 60, 10, 0, false, true, false, 60},
    {"LastGraceSecond", T + 69, T, 0, 60, 10, 0, false, true, false, 69},
    {"PastGrace", T + 70, T, 0, 60, 10, 0, false, false, false, 70},
    {"StaleIfErrorOutlastsGrace", T + 359, T, 0, 60, 10, 300, false, false, true, 359},
    {"PastStaleIfError", T + 360, T, 0, 60, 10, 300, false, false, false, 360},
    {"InitialAgeCounts", T + 30, T, 30, 60, 0, 0, false, false, false, 60},
    {"ClockBackwards", T - 100, T, 5, 60, 0, 0, true, false, false, 5},
    {"Ttl0AlwaysStale", T, T, 0, 0, 0, 0, false, false, false, 0},
    {"Ttl0WithGrace", T, T, 0, 0, 10, 0, false, true, false, 0},
};

class FreshnessAt : public ::testing::TestWithParam<FreshCase> {};

TEST_P(FreshnessAt, Computes) {
  const FreshCase& c = GetParam();
  auto f = freshness(c.now, c.stored_at, c.initial_age, c.ttl, c.grace, c.sie);
  EXPECT_EQ(f.fresh, c.fresh);
  EXPECT_EQ(f.within_grace, c.within_grace);
  EXPECT_EQ(f.within_stale_if_error, c.within_sie);
  EXPECT_EQ(f.age, c.age);
}

INSTANTIATE_TEST_SUITE_P(Cases, FreshnessAt, ::testing::ValuesIn(kFreshCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// Client-forced revalidation

struct RevalCase {
  const char* name;
  const char* cache_control;
  int64_t age, ttl;
  bool ignore;
  bool want;
};
void PrintTo(const RevalCase& c, std::ostream* os) { *os << c.name; }

const RevalCase kRevalCases[] = {
    {"Nothing", "", 30, 60, false, false},
    {"NoCache", "no-cache", 0, 60, false, true},
    {"NoCacheIgnored", "no-cache", 0, 60, true, false},
    {"MaxAge0AtAge0", "max-age=0", 0, 60, false, true},
    {"MaxAge0Ignored", "max-age=0", 0, 60, true, false},
    {"MaxAgeEqualAge", "max-age=30", 30, 60, false, false},
    {"MaxAgeBelowAge", "max-age=30", 31, 60, false, true},
    {"MinFreshSatisfied", "min-fresh=10", 50, 60, false, false},
    {"MinFreshNotSatisfied", "min-fresh=10", 51, 60, false, true},
    {"MaxStaleNeverForces", "max-stale", 500, 60, false, false},
    {"OnlyIfCachedNeverForces", "only-if-cached", 500, 60, false, false},
};

class RequestRevalidation : public ::testing::TestWithParam<RevalCase> {};

TEST_P(RequestRevalidation, Decides) {
  const RevalCase& c = GetParam();
  Settings s;
  s.ignore_no_cache = c.ignore;
  EXPECT_EQ(request_needs_revalidation(parse_cc(c.cache_control), c.age, c.ttl, s), c.want);
}

INSTANTIATE_TEST_SUITE_P(Cases, RequestRevalidation, ::testing::ValuesIn(kRevalCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RequestRevalidation, PragmaFromRequestHead) {
  Req r("Pragma: no-cache\r\n");
  EXPECT_TRUE(request_needs_revalidation(request_cache_control(r.head), 0, 60, Settings{}));
}

}  // namespace

// Conditional requests against RFC 9110 §13: evaluate_preconditions (the
// §13.2.2 order), if_range_allows (§13.1.5) and etag_list_matches (§8.8.3.2).
#include "handlers/conditional.h"

#include <gtest/gtest.h>

#include <ctime>
#include <deque>
#include <string>
#include <string_view>

#include "http/http_date.h"
#include "http/request.h"

using pillar::handlers::etag_list_matches;
using pillar::handlers::evaluate_preconditions;
using pillar::handlers::if_range_allows;
using pillar::handlers::Validators;
using pillar::http::Method;
using pillar::http::RequestHead;

namespace {

constexpr time_t kLastModified = 1700000000;  // Tue, 14 Nov 2023 22:13:20 GMT
constexpr time_t kNow = kLastModified + 86400;
constexpr std::string_view kEtag = "\"abc123\"";

std::string http_date(time_t t) {
  char buf[30];
  size_t n = pillar::http::format_http_date(t, buf);
  return std::string(buf, n);
}

// A hand-built request head whose header views point into storage owned by
// the fixture (a deque, so earlier strings never move).
class Conditional : public ::testing::Test {
 protected:
  Conditional() { req_.method = Method::Get; }

  void method(Method m) { req_.method = m; }
  void header(std::string name, std::string value) {
    store_.push_back(std::move(name));
    std::string_view n = store_.back();
    store_.push_back(std::move(value));
    std::string_view v = store_.back();
    req_.headers.push_back({n, v});
  }
  int eval(time_t now = kNow) const { return evaluate_preconditions(req_, v_, now); }
  bool if_range() const { return if_range_allows(req_, v_); }

  RequestHead req_;
  Validators v_{kEtag, kLastModified};
  std::deque<std::string> store_;
};

}  // namespace

// ---------------------------------------------------------------------------
// etag_list_matches (§8.8.3.2 comparison, §13.1.1/§13.1.2 lists)
// ---------------------------------------------------------------------------

TEST(EtagListMatches, SingleStrongTag) {
  EXPECT_TRUE(etag_list_matches("\"xyzzy\"", "\"xyzzy\"", false));
  EXPECT_TRUE(etag_list_matches("\"xyzzy\"", "\"xyzzy\"", true));
  EXPECT_FALSE(etag_list_matches("\"xyzzy\"", "\"other\"", false));
  EXPECT_FALSE(etag_list_matches("\"xyzzy\"", "\"other\"", true));
}

// The §8.8.3.2 table: W/"1" vs W/"1": strong no, weak yes; W/"1" vs W/"2":
// no, no; W/"1" vs "1": no, yes; "1" vs "1": yes, yes.
TEST(EtagListMatches, Rfc9110ComparisonTable) {
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "W/\"1\"", false));
  EXPECT_TRUE(etag_list_matches("W/\"1\"", "W/\"1\"", true));
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "W/\"2\"", false));
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "W/\"2\"", true));
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "\"1\"", false));
  EXPECT_TRUE(etag_list_matches("W/\"1\"", "\"1\"", true));
  EXPECT_FALSE(etag_list_matches("\"1\"", "W/\"1\"", false));
  EXPECT_TRUE(etag_list_matches("\"1\"", "W/\"1\"", true));
  EXPECT_TRUE(etag_list_matches("\"1\"", "\"1\"", false));
  EXPECT_TRUE(etag_list_matches("\"1\"", "\"1\"", true));
}

TEST(EtagListMatches, Star) {
  EXPECT_TRUE(etag_list_matches("*", "\"abc\"", false));
  EXPECT_TRUE(etag_list_matches("*", "\"abc\"", true));
  EXPECT_TRUE(etag_list_matches(" * ", "\"abc\"", true));
  EXPECT_TRUE(etag_list_matches("*", "W/\"abc\"", true));
}

TEST(EtagListMatches, ListWithSpaces) {
  std::string_view list = "\"xyzzy\", \"r2d2xxxx\", \"c3piozzzz\"";
  EXPECT_TRUE(etag_list_matches(list, "\"xyzzy\"", false));
  EXPECT_TRUE(etag_list_matches(list, "\"r2d2xxxx\"", false));
  EXPECT_TRUE(etag_list_matches(list, "\"c3piozzzz\"", false));
  EXPECT_FALSE(etag_list_matches(list, "\"r2d2\"", false));
  EXPECT_FALSE(etag_list_matches(list, "\"other\"", true));
}

TEST(EtagListMatches, ListWithIrregularWhitespace) {
  EXPECT_TRUE(etag_list_matches("  \"a\"  ,\t\"b\" ,\"c\"  ", "\"c\"", false));
  EXPECT_TRUE(etag_list_matches("\"a\",\"b\"", "\"b\"", false));
  EXPECT_TRUE(etag_list_matches("\"a\" , \"b\"", "\"b\"", false));
}

TEST(EtagListMatches, MixedWeakAndStrongList) {
  std::string_view list = "W/\"a\", \"b\", W/\"c\"";
  EXPECT_TRUE(etag_list_matches(list, "\"a\"", true));
  EXPECT_FALSE(etag_list_matches(list, "\"a\"", false));
  EXPECT_TRUE(etag_list_matches(list, "\"b\"", false));
  EXPECT_TRUE(etag_list_matches(list, "\"c\"", true));
  EXPECT_FALSE(etag_list_matches(list, "\"c\"", false));
}

TEST(EtagListMatches, CommaInsideQuotedTag) {
  EXPECT_TRUE(etag_list_matches("\"a,b\", \"c\"", "\"a,b\"", false));
  EXPECT_TRUE(etag_list_matches("\"a,b\", \"c\"", "\"c\"", false));
  EXPECT_FALSE(etag_list_matches("\"a,b\"", "\"a\"", true));
  EXPECT_FALSE(etag_list_matches("\"a,b\"", "\"b\"", true));
}

TEST(EtagListMatches, OpaqueTagComparedExactly) {
  EXPECT_FALSE(etag_list_matches("\"ABC\"", "\"abc\"", true));    // case-sensitive
  EXPECT_FALSE(etag_list_matches("\"abc\"", "\"abcd\"", true));   // no prefix match
  EXPECT_FALSE(etag_list_matches("\"abcd\"", "\"abc\"", true));
  EXPECT_FALSE(etag_list_matches("\"\"", "\"abc\"", true));
  EXPECT_TRUE(etag_list_matches("\"\"", "\"\"", false));          // empty opaque-tag is valid
}

TEST(EtagListMatches, EmptyOrMalformedListMatchesNothing) {
  EXPECT_FALSE(etag_list_matches("", "\"abc\"", true));
  EXPECT_FALSE(etag_list_matches("abc", "\"abc\"", true));  // unquoted
  EXPECT_FALSE(etag_list_matches("\"abc", "\"abc\"", true));  // unterminated
  EXPECT_FALSE(etag_list_matches("w/\"abc\"", "\"abc\"", false));  // "W/" is case-sensitive
}

TEST(EtagListMatches, EmptyListElementsAreIgnored) {
  // §5.6.1.2: "a recipient MUST parse and ignore a reasonable number of
  // empty list elements".
  EXPECT_TRUE(etag_list_matches("\"a\", , \"b\"", "\"b\"", false));
  EXPECT_TRUE(etag_list_matches("\"a\",,\"b\"", "\"b\"", false));
  EXPECT_TRUE(etag_list_matches(", \"b\"", "\"b\"", false));
  EXPECT_TRUE(etag_list_matches("\"b\",", "\"b\"", false));
}

// ---------------------------------------------------------------------------
// evaluate_preconditions: no conditionals
// ---------------------------------------------------------------------------

TEST_F(Conditional, NoHeadersProceeds) {
  EXPECT_EQ(eval(), 0);
  method(Method::Put);
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, UnrelatedHeadersProceed) {
  header("Host", "example.com");
  header("Range", "bytes=0-1");
  header("If-Range", "\"other\"");
  EXPECT_EQ(eval(), 0);
}

// ---------------------------------------------------------------------------
// Step 1: If-Match (strong comparison) -> 412
// ---------------------------------------------------------------------------

TEST_F(Conditional, IfMatchMatchingProceeds) {
  header("If-Match", std::string(kEtag));
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfMatchNotMatchingFails) {
  header("If-Match", "\"nope\"");
  EXPECT_EQ(eval(), 412);
}

TEST_F(Conditional, IfMatchNotMatchingFailsForEveryMethod) {
  header("If-Match", "\"nope\"");
  for (Method m : {Method::Get, Method::Head, Method::Post, Method::Put, Method::Delete, Method::Patch}) {
    method(m);
    EXPECT_EQ(eval(), 412) << static_cast<int>(m);
  }
}

TEST_F(Conditional, IfMatchListMatchingProceeds) {
  header("If-Match", "\"x\", " + std::string(kEtag) + ", \"y\"");
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfMatchUsesStrongComparison) {
  header("If-Match", "W/" + std::string(kEtag));
  EXPECT_EQ(eval(), 412);
}

TEST_F(Conditional, IfMatchStarProceeds) {
  header("If-Match", "*");
  EXPECT_EQ(eval(), 0);
  method(Method::Put);
  EXPECT_EQ(eval(), 0);
}

// "*" is true "if the origin server has a current representation for the
// target resource" (§13.1.1), whether or not it has an entity-tag.
TEST_F(Conditional, IfMatchStarProceedsForRepresentationWithoutEtag) {
  v_.etag = {};
  header("If-Match", "*");
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfMatchFieldNameIsCaseInsensitive) {
  header("if-match", "\"nope\"");
  EXPECT_EQ(eval(), 412);
}

// ---------------------------------------------------------------------------
// Step 2: If-Unmodified-Since (only without If-Match) -> 412
// ---------------------------------------------------------------------------

TEST_F(Conditional, IfUnmodifiedSinceEarlierThanLastModifiedFails) {
  header("If-Unmodified-Since", http_date(kLastModified - 1));
  EXPECT_EQ(eval(), 412);
  method(Method::Put);
  EXPECT_EQ(eval(), 412);
}

TEST_F(Conditional, IfUnmodifiedSinceEqualProceeds) {
  header("If-Unmodified-Since", http_date(kLastModified));
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfUnmodifiedSinceLaterProceeds) {
  header("If-Unmodified-Since", http_date(kLastModified + 3600));
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfUnmodifiedSinceInvalidDateIsIgnored) {
  header("If-Unmodified-Since", "yesterday");
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfUnmodifiedSinceObsoleteDateFormatsAreParsed) {
  // Recipients MUST accept all three HTTP-date formats (§5.6.7).
  header("If-Unmodified-Since", "Sunday, 06-Nov-94 08:49:37 GMT");
  EXPECT_EQ(eval(), 412);
  req_.headers.clear();
  header("If-Unmodified-Since", "Sun Nov  6 08:49:37 1994");
  EXPECT_EQ(eval(), 412);
}

TEST_F(Conditional, IfUnmodifiedSinceIgnoredWhenIfMatchPresent) {
  // §13.1.4: "A recipient MUST ignore If-Unmodified-Since if the request
  // contains an If-Match header field".
  header("If-Match", std::string(kEtag));
  header("If-Unmodified-Since", http_date(kLastModified - 3600));
  EXPECT_EQ(eval(), 0);
}

// ---------------------------------------------------------------------------
// Step 3: If-None-Match (weak comparison) -> 304 for GET/HEAD, 412 otherwise
// ---------------------------------------------------------------------------

TEST_F(Conditional, IfNoneMatchMatchingGetIs304) {
  header("If-None-Match", std::string(kEtag));
  EXPECT_EQ(eval(), 304);
}

TEST_F(Conditional, IfNoneMatchMatchingHeadIs304) {
  method(Method::Head);
  header("If-None-Match", std::string(kEtag));
  EXPECT_EQ(eval(), 304);
}

TEST_F(Conditional, IfNoneMatchMatchingOtherMethodsIs412) {
  header("If-None-Match", std::string(kEtag));
  for (Method m : {Method::Post, Method::Put, Method::Delete, Method::Patch, Method::Options}) {
    method(m);
    EXPECT_EQ(eval(), 412) << static_cast<int>(m);
  }
}

TEST_F(Conditional, IfNoneMatchUsesWeakComparison) {
  header("If-None-Match", "W/" + std::string(kEtag));
  EXPECT_EQ(eval(), 304);
}

TEST_F(Conditional, IfNoneMatchNotMatchingProceeds) {
  header("If-None-Match", "\"other\", W/\"another\"");
  EXPECT_EQ(eval(), 0);
  method(Method::Put);
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfNoneMatchListMatching) {
  header("If-None-Match", "\"a\", \"b\",  " + std::string(kEtag));
  EXPECT_EQ(eval(), 304);
}

TEST_F(Conditional, IfNoneMatchStar) {
  header("If-None-Match", "*");
  EXPECT_EQ(eval(), 304);
  method(Method::Put);  // "create only if absent" on an existing resource
  EXPECT_EQ(eval(), 412);
}

// §5.3: several field lines of a list-based field are one comma-separated list.
TEST_F(Conditional, IfNoneMatchSplitOverSeveralFieldLines) {
  header("If-None-Match", "\"other\"");
  header("If-None-Match", std::string(kEtag));
  EXPECT_EQ(eval(), 304);
}

// ---------------------------------------------------------------------------
// Step 4: If-Modified-Since (GET/HEAD, only without If-None-Match) -> 304
// ---------------------------------------------------------------------------

TEST_F(Conditional, IfModifiedSinceNotModifiedIs304) {
  header("If-Modified-Since", http_date(kLastModified));
  EXPECT_EQ(eval(), 304);
  method(Method::Head);
  EXPECT_EQ(eval(), 304);
}

TEST_F(Conditional, IfModifiedSinceLaterDateIs304) {
  header("If-Modified-Since", http_date(kLastModified + 60));
  EXPECT_EQ(eval(), 304);
}

TEST_F(Conditional, IfModifiedSinceModifiedProceeds) {
  header("If-Modified-Since", http_date(kLastModified - 1));
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfModifiedSinceIgnoredForOtherMethods) {
  header("If-Modified-Since", http_date(kLastModified));
  for (Method m : {Method::Post, Method::Put, Method::Delete, Method::Patch}) {
    method(m);
    EXPECT_EQ(eval(), 0) << static_cast<int>(m);
  }
}

TEST_F(Conditional, IfModifiedSinceInvalidDateIsIgnored) {
  header("If-Modified-Since", "not a date");
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfModifiedSinceInTheFutureIsIgnored) {
  header("If-Modified-Since", http_date(kNow + 3600));
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfModifiedSinceEqualToNowIsHonoured) {
  header("If-Modified-Since", http_date(kNow));
  EXPECT_EQ(eval(), 304);
}

TEST_F(Conditional, IfModifiedSinceIgnoredWhenIfNoneMatchPresent) {
  // §13.1.3: "A recipient MUST ignore If-Modified-Since if the request
  // contains an If-None-Match header field".
  header("If-None-Match", "\"other\"");
  header("If-Modified-Since", http_date(kLastModified));
  EXPECT_EQ(eval(), 0);
}

TEST_F(Conditional, IfNoneMatchMatchingWinsOverModifiedSince) {
  header("If-None-Match", std::string(kEtag));
  header("If-Modified-Since", http_date(kLastModified - 3600));
  EXPECT_EQ(eval(), 304);
}

// ---------------------------------------------------------------------------
// §13.2.2 ordering
// ---------------------------------------------------------------------------

TEST_F(Conditional, IfMatchFailureBeatsIfNoneMatch) {
  header("If-None-Match", std::string(kEtag));
  header("If-Match", "\"nope\"");
  EXPECT_EQ(eval(), 412);
}

TEST_F(Conditional, IfUnmodifiedSinceFailureBeatsIfNoneMatch) {
  header("If-None-Match", std::string(kEtag));
  header("If-Unmodified-Since", http_date(kLastModified - 1));
  EXPECT_EQ(eval(), 412);
}

TEST_F(Conditional, IfUnmodifiedSinceFailureBeatsIfModifiedSince) {
  header("If-Modified-Since", http_date(kLastModified));
  header("If-Unmodified-Since", http_date(kLastModified - 1));
  EXPECT_EQ(eval(), 412);
}

TEST_F(Conditional, IfMatchPassThenIfNoneMatchDecides) {
  header("If-Match", std::string(kEtag));
  header("If-None-Match", std::string(kEtag));
  EXPECT_EQ(eval(), 304);
  method(Method::Delete);
  EXPECT_EQ(eval(), 412);
}

TEST_F(Conditional, IfMatchPassThenIfModifiedSinceDecides) {
  header("If-Match", "*");
  header("If-Modified-Since", http_date(kLastModified));
  EXPECT_EQ(eval(), 304);
}

TEST_F(Conditional, AllConditionsPassProceeds) {
  header("If-Match", std::string(kEtag));
  header("If-None-Match", "\"other\"");
  header("If-Modified-Since", http_date(kLastModified - 10));
  header("If-Unmodified-Since", http_date(kLastModified + 10));
  EXPECT_EQ(eval(), 0);
}

// ---------------------------------------------------------------------------
// if_range_allows (§13.1.5)
// ---------------------------------------------------------------------------

TEST_F(Conditional, IfRangeAbsentAllows) { EXPECT_TRUE(if_range()); }

TEST_F(Conditional, IfRangeStrongEtagMatchAllows) {
  header("If-Range", std::string(kEtag));
  EXPECT_TRUE(if_range());
}

TEST_F(Conditional, IfRangeEtagMismatchRefuses) {
  header("If-Range", "\"different\"");
  EXPECT_FALSE(if_range());
}

TEST_F(Conditional, IfRangeWeakEtagNeverAllows) {
  header("If-Range", "W/" + std::string(kEtag));
  EXPECT_FALSE(if_range());
}

TEST_F(Conditional, IfRangeWeakEtagNeverAllowsEvenAgainstWeakValidator) {
  v_.etag = "W/\"abc123\"";
  header("If-Range", "W/\"abc123\"");
  EXPECT_FALSE(if_range());
}

TEST_F(Conditional, IfRangeEtagWhenRepresentationHasNone) {
  v_.etag = {};
  header("If-Range", "\"abc123\"");
  EXPECT_FALSE(if_range());
}

TEST_F(Conditional, IfRangeDateExactMatchAllows) {
  header("If-Range", http_date(kLastModified));
  EXPECT_TRUE(if_range());
}

TEST_F(Conditional, IfRangeDateMustMatchExactly) {
  header("If-Range", http_date(kLastModified + 1));
  EXPECT_FALSE(if_range());
  req_.headers.clear();
  header("If-Range", http_date(kLastModified - 1));
  EXPECT_FALSE(if_range());
}

TEST_F(Conditional, IfRangeGarbageRefuses) {
  header("If-Range", "garbage");
  EXPECT_FALSE(if_range());
}

TEST_F(Conditional, IfRangeFieldNameIsCaseInsensitive) {
  header("if-range", "\"different\"");
  EXPECT_FALSE(if_range());
}

// ---------------------------------------------------------------------------
// Unusual entity-tag forms (RFC 9110 §8.8.3: entity-tag = [ %s"W/" ] DQUOTE
// *etagc DQUOTE; the weak prefix is case-sensitive and a backslash is an
// ordinary etagc, not an escape). Anything else is not an entity-tag and
// matches nothing; "*" still matches any current representation.
// ---------------------------------------------------------------------------

TEST(EtagForms, UnquotedIfNoneMatchMatchesNothing) {
  EXPECT_FALSE(etag_list_matches("abcdef", "\"abcdef\"", true));
  EXPECT_FALSE(etag_list_matches("abcdef", "abcdef", true));  // stored unquoted: not an entity-tag either
  EXPECT_FALSE(etag_list_matches("\"abcdef\"", "abcdef", true));
  EXPECT_TRUE(etag_list_matches("*", "abcdef", true));
}

TEST(EtagForms, LowercaseWeakPrefixIsNotWeak) {
  EXPECT_FALSE(etag_list_matches("w/\"abcdef\"", "w/\"abcdef\"", true));
  EXPECT_FALSE(etag_list_matches("w/\"abcdef\"", "W/\"abcdef\"", true));
  EXPECT_FALSE(etag_list_matches("\"abcdef\"", "w/\"abcdef\"", true));
  EXPECT_TRUE(etag_list_matches("W/\"abcdef\"", "W/\"abcdef\"", true));
}

TEST(EtagForms, MalformedWeakPrefixesMatchNothing) {
  EXPECT_FALSE(etag_list_matches("W\\\"abcdef\"", "W\\\"abcdef\"", true));  // W\"abcdef"
  EXPECT_FALSE(etag_list_matches("W\"abcdef\"", "W\"abcdef\"", true));          // W"abcdef"
  EXPECT_FALSE(etag_list_matches("W\"abcdef\"", "W/\"abcdef\"", true));
}

TEST(EtagForms, BackslashIsAnOrdinaryCharacter) {
  // "ab\" is a complete entity-tag whose opaque part ends in a backslash.
  EXPECT_TRUE(etag_list_matches("\"ab\\\"", "\"ab\\\"", false));
  EXPECT_TRUE(etag_list_matches("\"x\", \"ab\\\"", "\"ab\\\"", true));
  EXPECT_FALSE(etag_list_matches("\"ab\\\"", "\"ab\"", true));
}

TEST(EtagForms, StrongAndWeakComparison) {
  // §8.8.3.2: strong comparison needs both strong and identical; weak ignores W/.
  EXPECT_TRUE(etag_list_matches("W/\"1\"", "\"1\"", true));
  EXPECT_TRUE(etag_list_matches("\"1\"", "W/\"1\"", true));
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "\"1\"", false));
  EXPECT_FALSE(etag_list_matches("\"1\"", "W/\"1\"", false));
  EXPECT_FALSE(etag_list_matches("W/\"1\"", "W/\"1\"", false));
  EXPECT_TRUE(etag_list_matches("\"1\"", "\"1\"", false));
  EXPECT_FALSE(etag_list_matches("\"1\"", "\"01\"", true));
  EXPECT_TRUE(etag_list_matches("\"abc\u00fc\"", "\"abc\u00fc\"", false));  // obs-text
}

// Unit tests for 304 freshening (src/cache/revalidate.cpp), written from
// RFC 9111 §3.1, §3.2 (which fields a 304 updates) and §4.3.4 (which stored
// responses it updates), with RFC 9110 §8.8.2.2 / §8.8.3 for validators.
#include "cache/revalidate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "heads.h"

using pillar::cache::freshen_head;
using pillar::cache::FreshenMatch;
using pillar::cache::freshens;
using pillar::cache::head_fields;
using pillar::cache::select_for_freshening;
using pillar::cache::StoredCandidate;
using namespace cache_test;

namespace {

// ---------------------------------------------------------------------------
// Which fields (§3.2)

TEST(FreshenHead, EveryFieldThe304CarriesReplacesTheStoredOne) {
  const std::string stored =
      "Date: @{-100}\r\nCache-Control: max-age=10\r\nETag: \"v1\"\r\nExpires: @{-90}\r\n"
      "Content-Type: text/plain\r\nX-Custom: old\r\nX-Keep: yes\r\n";
  Resp r("Date: @{+0}\r\nCache-Control: max-age=600\r\nETag: \"v2\"\r\nExpires: @{+600}\r\n"
         "Content-Type: text/html\r\nX-Custom: new\r\nX-New: added\r\n", 304);
  EXPECT_EQ(freshen_head(expand(stored), r.head),
            expand("Date: @{+0}\r\nCache-Control: max-age=600\r\nETag: \"v2\"\r\nExpires: @{+600}\r\n"
                   "Content-Type: text/html\r\nX-Custom: new\r\nX-Keep: yes\r\nX-New: added\r\n"));
}

TEST(FreshenHead, FieldNamesCompareCaseInsensitively) {
  Resp r("ETag: \"v2\"\r\n", 304);
  EXPECT_EQ(freshen_head("etag: \"v1\"\r\nX-A: 1\r\n", r.head), "ETag: \"v2\"\r\nX-A: 1\r\n");
}

TEST(FreshenHead, AFieldOnSeveralLinesReplacesAllStoredLinesOfIt) {
  Resp r("Link: <c>\r\nX-B: 2\r\nLink: <d>\r\n", 304);
  EXPECT_EQ(freshen_head("X-A: 1\r\nLink: <a>\r\nX-Mid: m\r\nLink: <b>\r\n", r.head),
            "X-A: 1\r\nLink: <c>\r\nLink: <d>\r\nX-Mid: m\r\nX-B: 2\r\n");
}

// §3.2: not the fields §3.1 keeps out of storage, not Content-Length; and
// Content-Range (§3.2: automatically processed, MAY be omitted).
TEST(FreshenHead, FramingHopByHopAndUnstorableFieldsAreNotUpdated) {
  Resp r("Content-Length: 0\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n"
         "Age: 50\r\nSet-Cookie: a=b\r\nProxy-Authenticate: Basic\r\nContent-Range: bytes 0-0/1\r\n"
         "Trailer: X-T\r\nUpgrade: h2c\r\nX-Cache: HIT\r\nX-Fine: yes\r\n", 304);
  EXPECT_EQ(freshen_head("Content-Type: text/plain\r\nX-Hop: stored\r\n", r.head),
            "Content-Type: text/plain\r\nX-Hop: stored\r\nX-Fine: yes\r\n");
}

// RFC 9111 §3.2 lists only Content-Length among the framing fields; Pillar
// stores the bytes as received, so Content-Encoding is metadata like any other.
TEST(FreshenHead, ContentEncodingAndTargetedFieldsAreUpdated) {
  Resp r("Content-Encoding: gzip\r\nCDN-Cache-Control: max-age=900\r\n", 304);
  EXPECT_EQ(freshen_head("Content-Encoding: x-gzip\r\nCDN-Cache-Control: max-age=9\r\n", r.head),
            "Content-Encoding: gzip\r\nCDN-Cache-Control: max-age=900\r\n");
}

// §3.1: a 304's qualified no-cache="…" / private="…" name fields the cache
// must not keep: they are neither taken from the 304 nor kept from before.
TEST(FreshenHead, The304sQualifiedDirectivesDropTheFieldsTheyName) {
  Resp r("Cache-Control: max-age=60, private=\"X-User\", no-cache=\"X-Token\"\r\nX-User: bob\r\n", 304);
  EXPECT_EQ(freshen_head("X-User: alice\r\nX-Token: t1\r\nX-Other: o\r\n", r.head),
            "X-Other: o\r\nCache-Control: max-age=60, private=\"X-User\", no-cache=\"X-Token\"\r\n");
}

TEST(FreshenHead, AnEmpty304KeepsTheStoredHead) {
  Resp r("", 304);
  EXPECT_EQ(freshen_head("A: 1\r\nB: 2\r\n", r.head), "A: 1\r\nB: 2\r\n");
}

TEST(FreshenHead, HeadFieldsViewsTheLines) {
  std::vector<pillar::http::HeaderField> f;
  head_fields("A: 1\r\nB:  two \r\n", f);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].name, "B");
  EXPECT_EQ(f[1].value, "two");
}

// ---------------------------------------------------------------------------
// Which stored responses (§4.3.4)

std::vector<size_t> pick(const Resp& r, const std::vector<StoredCandidate>& set, FreshenMatch want,
                         bool from_candidate = false) {
  auto s = select_for_freshening(r.head, set, from_candidate);
  EXPECT_EQ(s.match, want);
  return s.update;
}

StoredCandidate cand(std::string_view etag, std::string_view lm = "", std::string_view date = "",
                     int64_t stored_at = 0) {
  StoredCandidate c;
  c.etag = etag;
  c.last_modified = lm;
  c.date = date;
  c.stored_at = stored_at;
  return c;
}

TEST(SelectForFreshening, StrongETagUpdatesEveryStoredResponseWithIt) {
  Resp r("ETag: \"b\"\r\n", 304);
  EXPECT_EQ(pick(r, {cand("\"a\""), cand("\"b\""), cand("\"b\"")}, FreshenMatch::Strong), (std::vector<size_t>{1, 2}));
}

TEST(SelectForFreshening, StrongETagMatchingNoneUpdatesNothing) {
  Resp r("ETag: \"c\"\r\n", 304);
  EXPECT_TRUE(pick(r, {cand("\"a\""), cand("\"b\"")}, FreshenMatch::None).empty());
  // A weak stored tag does not match a strong one strongly (RFC 9110 §8.8.3.2).
  EXPECT_TRUE(pick(r, {cand("W/\"c\"")}, FreshenMatch::None).empty());
}

TEST(SelectForFreshening, WeakETagUpdatesTheMostRecentMatch) {
  Resp r("ETag: W/\"a\"\r\n", 304);
  EXPECT_EQ(pick(r, {cand("W/\"a\"", "", "", 10), cand("\"a\"", "", "", 20), cand("W/\"a\"", "", "", 15)},
                 FreshenMatch::Weak),
            (std::vector<size_t>{1}));
  EXPECT_TRUE(pick(r, {cand("W/\"b\"")}, FreshenMatch::None).empty());
}

// RFC 9110 §8.8.2.2: a Last-Modified is strong when Date is at least a second later.
TEST(SelectForFreshening, LastModifiedIsStrongWithALaterDate) {
  const std::string lm = expand("@{-100}"), other = expand("@{-50}");
  Resp strong(expand("Last-Modified: @{-100}\r\nDate: @{+0}\r\n"), 304);
  EXPECT_EQ(pick(strong, {cand("", lm), cand("", other), cand("\"x\"", lm)}, FreshenMatch::Strong),
            (std::vector<size_t>{0, 2}));
  Resp weak(expand("Last-Modified: @{-100}\r\nDate: @{-100}\r\n"), 304);  // same second: weak
  EXPECT_EQ(pick(weak, {cand("", lm, "", 5), cand("", lm, "", 9)}, FreshenMatch::Weak), (std::vector<size_t>{1}));
}

TEST(SelectForFreshening, AContradictingValidatorIsNeverUpdated) {
  const std::string lm = expand("@{-100}");
  Resp r(expand("ETag: W/\"a\"\r\nLast-Modified: @{-50}\r\n"), 304);
  EXPECT_TRUE(pick(r, {cand("W/\"a\"", lm)}, FreshenMatch::None).empty());
}

TEST(SelectForFreshening, NoValidatorUpdatesTheOnlyCandidateWithoutValidators) {
  Resp r("Cache-Control: max-age=60\r\n", 304);
  EXPECT_EQ(pick(r, {cand("")}, FreshenMatch::NoValidator), (std::vector<size_t>{0}));
  EXPECT_TRUE(pick(r, {cand(""), cand("")}, FreshenMatch::None).empty());
  EXPECT_TRUE(pick(r, {cand("\"a\"")}, FreshenMatch::None).empty());
  // Pillar's own revalidation used that candidate's validators: the 304 is about it.
  EXPECT_EQ(pick(r, {cand("\"a\"")}, FreshenMatch::NoValidator, true), (std::vector<size_t>{0}));
}

// RFC 9110 §8.8.3: "W/" is case-sensitive and the opaque-tag is quoted;
// anything else is no validator.
TEST(SelectForFreshening, MalformedETagsAreNoValidator) {
  Resp lower("ETag: w/\"a\"\r\n", 304);
  EXPECT_EQ(select_for_freshening(lower.head, std::vector<StoredCandidate>{cand("")}, false).match,
            FreshenMatch::NoValidator);
  Resp unquoted("ETag: abc\r\n", 304);
  EXPECT_EQ(select_for_freshening(unquoted.head, std::vector<StoredCandidate>{cand("abc")}, false).match,
            FreshenMatch::NoValidator);
  Resp backslash("ETag: \"a\\b\"\r\n", 304);  // a backslash is an ordinary etagc
  EXPECT_EQ(select_for_freshening(backslash.head, std::vector<StoredCandidate>{cand("\"a\\b\"")}, false).match,
            FreshenMatch::Strong);
}

TEST(Freshens, PillarsOwnRevalidationOfOneObject) {
  const std::string stored = expand("ETag: \"v1\"\r\nLast-Modified: @{-100}\r\nDate: @{-10}\r\n");
  Resp same("ETag: \"v1\"\r\nCache-Control: max-age=60\r\n", 304);
  Resp other("ETag: \"v2\"\r\n", 304);
  Resp bare("Cache-Control: max-age=60\r\n", 304);
  EXPECT_TRUE(freshens(same.head, stored));
  EXPECT_FALSE(freshens(other.head, stored));
  EXPECT_TRUE(freshens(bare.head, stored));
}

}  // namespace

// Unit tests for targeted cache control (RFC 9213; src/cache/targeted.cpp and
// its use in decide_store() / stored_head()). Cases follow RFC 9213 §2.1
// (Dictionary syntax, invalid = ignored), §2.2 (target list order, Cache-Control
// and Expires ignored, other targets passed through) and the examples of §3.1.
#include "cache/targeted.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cache/policy.h"
#include "heads.h"

using pillar::cache::append_without_targeted;
using pillar::cache::cache_control_from_dictionary;
using pillar::cache::decide_store;
using pillar::cache::default_cache_targets;
using pillar::cache::effective_cache_control;
using pillar::cache::is_target_field;
using pillar::cache::Settings;
using pillar::cache::StoreDecision;
using pillar::cache::stored_head;
using pillar::cache::strip_targeted;
using namespace cache_test;

namespace {

StoreDecision decide(const Resp& r, std::span<const std::string> targets = default_cache_targets()) {
  Req req("");
  return decide_store(req.head, r.head, T, T, -1, Settings{}, targets);
}

TEST(TargetedCacheControl, DefaultTargetListIsPillarThenCdn) {
  auto t = default_cache_targets();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0], "Pillar-Cache-Control");
  EXPECT_EQ(t[1], "CDN-Cache-Control");
}

// RFC 9213 §3.1, first example: the CDN cache keeps it 600 s although
// Cache-Control says 60 (and s-maxage 120 for other shared caches).
TEST(TargetedCacheControl, TargetedMaxAgeBeatsCacheControl) {
  Resp r("Date: @{+0}\r\nCache-Control: max-age=60, s-maxage=120\r\nCDN-Cache-Control: max-age=600\r\n");
  StoreDecision d = decide(r);
  ASSERT_TRUE(d.store) << d.why;
  EXPECT_EQ(d.ttl, 600);
  // Without a target list Cache-Control rules: s-maxage 120.
  StoreDecision plain = decide(r, {});
  ASSERT_TRUE(plain.store);
  EXPECT_EQ(plain.ttl, 120);
}

TEST(TargetedCacheControl, TargetedNoStoreRefusesWhatCacheControlAllows) {
  Resp r("Date: @{+0}\r\nCache-Control: max-age=60\r\nCDN-Cache-Control: no-store\r\n");
  StoreDecision d = decide(r);
  EXPECT_FALSE(d.store);
  EXPECT_STREQ(d.why, "no-store");
}

// RFC 9213 §3.1, last example: Cache-Control: no-store stops every cache but
// the targeted one, whose field holds an unregistered directive only.
TEST(TargetedCacheControl, TargetedFieldHidesCacheControlNoStore) {
  Resp r("Date: @{+0}\r\nLast-Modified: @{-1000}\r\nCache-Control: no-store\r\nCDN-Cache-Control: none\r\n");
  StoreDecision d = decide(r);
  ASSERT_TRUE(d.store) << d.why;
  EXPECT_EQ(d.ttl, 100);  // heuristic: 10% of the Last-Modified age
}

TEST(TargetedCacheControl, TargetedFieldHidesExpires) {
  Resp r("Date: @{+0}\r\nExpires: @{+300}\r\nCDN-Cache-Control: public\r\n");
  StoreDecision d = decide(r);
  EXPECT_FALSE(d.store);  // Expires not read, no Last-Modified to estimate from
  EXPECT_STREQ(d.why, "no freshness");
  StoreDecision plain = decide(r, {});
  ASSERT_TRUE(plain.store);
  EXPECT_EQ(plain.ttl, 300);
}

struct IgnoredCase {
  const char* name;
  const char* field;
};
void PrintTo(const IgnoredCase& c, std::ostream* os) { *os << c.name; }

class TargetedInvalid : public ::testing::TestWithParam<IgnoredCase> {};

// §2.1: an empty field or a parse error: the field is ignored, Cache-Control applies.
TEST_P(TargetedInvalid, FallsBackToCacheControl) {
  Resp r(std::string("Date: @{+0}\r\nCache-Control: max-age=60\r\nCDN-Cache-Control:") + GetParam().field + "\r\n");
  bool targeted = true;
  effective_cache_control(r.head, default_cache_targets(), &targeted);
  EXPECT_FALSE(targeted);
  StoreDecision d = decide(r);
  ASSERT_TRUE(d.store) << d.why;
  EXPECT_EQ(d.ttl, 60);
}

INSTANTIATE_TEST_SUITE_P(Rfc9213, TargetedInvalid,
                         ::testing::Values(IgnoredCase{"Empty", ""}, IgnoredCase{"SpacesAroundEquals", " max-age = 5"},
                                           IgnoredCase{"UppercaseKey", " Max-Age=5"},
                                           IgnoredCase{"TrailingComma", " max-age=5,"},
                                           IgnoredCase{"UnclosedString", " no-cache=\"a"},
                                           IgnoredCase{"NoStoreAfterJunk", " max-age=5 no-store"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TargetedCacheControl, TargetNotOnTheListChangesNothing) {
  Resp r("Date: @{+0}\r\nCache-Control: max-age=60\r\nCDN-Cache-Control: no-store\r\n"
         "Other-Cache-Control: max-age=5\r\n");
  const std::vector<std::string> only_pillar{"Pillar-Cache-Control"};
  StoreDecision d = decide(r, only_pillar);
  ASSERT_TRUE(d.store) << d.why;
  EXPECT_EQ(d.ttl, 60);
}

TEST(TargetedCacheControl, FirstUsableTargetInListOrderWins) {
  // Pillar-Cache-Control is first in the list whatever the field order.
  Resp both("Date: @{+0}\r\nCDN-Cache-Control: max-age=600\r\nPillar-Cache-Control: max-age=30\r\n");
  EXPECT_EQ(decide(both).ttl, 30);
  // An invalid first target is skipped for the next one.
  Resp bad_first("Date: @{+0}\r\nPillar-Cache-Control: max-age=3.\r\nCDN-Cache-Control: max-age=600\r\n");
  EXPECT_EQ(decide(bad_first).ttl, 600);
  // The configured names, in the configured order.
  const std::vector<std::string> cdn_first{"CDN-Cache-Control", "Pillar-Cache-Control"};
  EXPECT_EQ(decide(both, cdn_first).ttl, 600);
}

TEST(TargetedCacheControl, FieldNamesAreCaseInsensitive) {
  Resp r("Date: @{+0}\r\ncdn-cache-control: max-age=600\r\nCache-Control: max-age=60\r\n");
  EXPECT_EQ(decide(r).ttl, 600);
}

TEST(TargetedCacheControl, LinesOfOneFieldAreJoined) {
  Resp r("Date: @{+0}\r\nCDN-Cache-Control: max-age=600\r\nCDN-Cache-Control: no-store\r\n");
  EXPECT_FALSE(decide(r).store);
}

TEST(TargetedCacheControl, SharedCacheDirectivesApply) {
  Resp smax("Date: @{+0}\r\nCDN-Cache-Control: max-age=600, s-maxage=20\r\n");
  EXPECT_EQ(decide(smax).ttl, 20);
  Resp priv("Date: @{+0}\r\nCache-Control: public, max-age=60\r\nCDN-Cache-Control: private\r\n");
  StoreDecision d = decide(priv);
  EXPECT_FALSE(d.store);
  EXPECT_STREQ(d.why, "private");
}

// §2.1: values are typed; one that violates the type a directive implies is
// not consumed as that type.
TEST(TargetedCacheControl, DirectiveValuesMustHaveTheirType) {
  auto cc = [](const char* v) {
    auto d = pillar::http::sf::parse_dictionary(v);
    EXPECT_TRUE(d.has_value()) << v;
    return cache_control_from_dictionary(d.value_or(pillar::http::sf::Dictionary{}));
  };
  EXPECT_EQ(cc("max-age=60").max_age, 60);
  EXPECT_EQ(cc("max-age=60;foo=bar").max_age, 60);  // parameters ignored
  EXPECT_EQ(cc("max-age=1.5").max_age, 0);          // a Decimal: invalid lifetime, stale
  EXPECT_EQ(cc("max-age=\"60\"").max_age, 0);       // a String, not an Integer
  EXPECT_EQ(cc("max-age=-5").max_age, 0);
  EXPECT_EQ(cc("max-age").max_age, 0);              // Boolean true: no value
  EXPECT_TRUE(cc("public").public_);
  EXPECT_FALSE(cc("public=?0").public_);            // only the bare directive widens
  EXPECT_TRUE(cc("no-store=?0").no_store);          // restrictive flags count whatever their value
  EXPECT_FALSE(cc("no-cache=\"Set-Cookie\"").no_cache);  // qualified: a field list String
  EXPECT_TRUE(cc("no-cache=set-cookie").no_cache);       // a Token is no field list: unqualified
  EXPECT_TRUE(cc("private=5").private_);
  EXPECT_EQ(cc("max-age=60, max-age=5").max_age, 5);     // a repeated key: the last value (RFC 8941)
}

TEST(TargetedCacheControl, QualifiedPrivateInTargetedFieldLeavesFieldOut) {
  Resp r("Date: @{+0}\r\nCDN-Cache-Control: max-age=60, private=\"X-User\"\r\nX-User: bob\r\nX-Other: 1\r\n");
  StoreDecision d = decide(r);
  ASSERT_TRUE(d.store) << d.why;
  std::string head = stored_head("CDN-Cache-Control: max-age=60, private=\"X-User\"\r\nX-User: bob\r\nX-Other: 1\r\n",
                                 r.head);
  EXPECT_EQ(head, "CDN-Cache-Control: max-age=60, private=\"X-User\"\r\nX-Other: 1\r\n");
}

TEST(TargetedCacheControl, StripRemovesTheConfiguredTargetsOnly) {
  const std::string lines =
      "Cache-Control: max-age=60\r\nCDN-Cache-Control: max-age=600\r\npillar-cache-control: max-age=6\r\n"
      "Other-Cache-Control: x\r\n";
  EXPECT_EQ(strip_targeted(lines, default_cache_targets()), "Cache-Control: max-age=60\r\nOther-Cache-Control: x\r\n");
  const std::vector<std::string> only_pillar{"Pillar-Cache-Control"};
  EXPECT_EQ(strip_targeted(lines, only_pillar),
            "Cache-Control: max-age=60\r\nCDN-Cache-Control: max-age=600\r\nOther-Cache-Control: x\r\n");
  std::string out = "HTTP/1.1 200 OK\r\n";
  EXPECT_TRUE(append_without_targeted(out, lines, default_cache_targets()));
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nOther-Cache-Control: x\r\n");
  EXPECT_FALSE(append_without_targeted(out, "A: 1\r\n", default_cache_targets()));
  EXPECT_TRUE(is_target_field("cdn-CACHE-control", default_cache_targets()));
  EXPECT_FALSE(is_target_field("Cache-Control", default_cache_targets()));
}

}  // namespace

// Unit tests for the RFC 8941 Dictionary parser (src/http/structured_fields.cpp),
// cases taken from the grammar and the parsing algorithms of RFC 8941 §3.2,
// §3.3 and §4.2.
#include "http/structured_fields.h"

#include <gtest/gtest.h>

#include <string>

using pillar::http::sf::Dictionary;
using pillar::http::sf::parse_dictionary;
using pillar::http::sf::Type;

namespace {

Dictionary ok(const std::string& v) {
  auto d = parse_dictionary(v);
  EXPECT_TRUE(d.has_value()) << v;
  return d.value_or(Dictionary{});
}

TEST(StructuredFieldsDictionary, MembersKeepOrderTypesAndValues) {
  Dictionary d = ok("max-age=60, no-store, a=?0, s=\"x \\\"y\\\" \\\\z\", t=foo/bar:1, d=-1.25, b=:aGk=:, l=(1 \"2\")");
  ASSERT_EQ(d.size(), 8u);
  EXPECT_EQ(d[0].key, "max-age");
  EXPECT_EQ(d[0].type, Type::Integer);
  EXPECT_EQ(d[0].integer, 60);
  EXPECT_EQ(d[1].key, "no-store");
  EXPECT_EQ(d[1].type, Type::Boolean);
  EXPECT_TRUE(d[1].boolean);
  EXPECT_EQ(d[2].type, Type::Boolean);
  EXPECT_FALSE(d[2].boolean);
  EXPECT_EQ(d[3].type, Type::String);
  EXPECT_EQ(d[3].text, "x \"y\" \\z");
  EXPECT_EQ(d[4].type, Type::Token);
  EXPECT_EQ(d[4].text, "foo/bar:1");
  EXPECT_EQ(d[5].type, Type::Decimal);
  EXPECT_EQ(d[5].text, "-1.25");
  EXPECT_EQ(d[6].type, Type::ByteSequence);
  EXPECT_EQ(d[6].text, "aGk=");
  EXPECT_EQ(d[7].type, Type::InnerList);
}

TEST(StructuredFieldsDictionary, ParametersAreCheckedAndDropped) {
  Dictionary d = ok("max-age=60;foo=bar;baz, private;x=\"y\"");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].integer, 60);
  EXPECT_EQ(d[1].key, "private");
  EXPECT_TRUE(d[1].boolean);
}

TEST(StructuredFieldsDictionary, RepeatedKeyKeepsFirstPlaceAndLastValue) {
  Dictionary d = ok("a=1, b=2, a=3");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].key, "a");
  EXPECT_EQ(d[0].integer, 3);
}

TEST(StructuredFieldsDictionary, WhitespaceRules) {
  EXPECT_EQ(ok("  a=1 ,\tb=2  ").size(), 2u);  // SP before, OWS around commas, SP after
  EXPECT_TRUE(ok("").empty());
}

TEST(StructuredFieldsDictionary, NumberLimits) {
  EXPECT_EQ(ok("a=999999999999999")[0].integer, 999999999999999);  // 15 digits
  EXPECT_EQ(ok("a=-999999999999999")[0].integer, -999999999999999);
  EXPECT_EQ(ok("a=123456789012.123")[0].type, Type::Decimal);  // 12 + 3 digits
}

struct Bad {
  const char* name;
  const char* value;
};
void PrintTo(const Bad& b, std::ostream* os) { *os << b.name; }

class StructuredFieldsInvalid : public ::testing::TestWithParam<Bad> {};

TEST_P(StructuredFieldsInvalid, FailsTheWholeField) {
  EXPECT_FALSE(parse_dictionary(GetParam().value).has_value()) << GetParam().value;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc8941, StructuredFieldsInvalid,
    ::testing::Values(Bad{"UppercaseKey", "Max-Age=60"}, Bad{"DigitFirstKey", "1a=1"},
                      Bad{"SpaceAroundEquals", "max-age = 60"}, Bad{"SpaceAfterEquals", "max-age= 60"},
                      Bad{"TrailingComma", "a=1,"}, Bad{"EmptyMember", "a=1,,b=2"},
                      Bad{"NoCommaBetween", "a=1 b=2"}, Bad{"SixteenDigits", "a=1234567890123456"},
                      Bad{"ThirteenIntegerDigitsInDecimal", "a=1234567890123.1"},
                      Bad{"FourFractionDigits", "a=1.2345"}, Bad{"TrailingDot", "a=1."},
                      Bad{"LoneMinus", "a=-"}, Bad{"UnclosedString", "a=\"abc"},
                      Bad{"BadEscape", "a=\"a\\n\""}, Bad{"ControlInString", "a=\"a\tb\""},
                      Bad{"NonAsciiInString", "a=\"\xc3\xa9\""}, Bad{"UnclosedBytes", "a=:aGk="},
                      Bad{"BadBase64", "a=:a*k=:"}, Bad{"BadBoolean", "a=?2"},
                      Bad{"UnclosedInnerList", "a=(1 2"}, Bad{"InnerListNoSpace", "a=(1\"x\")"},
                      Bad{"BadParameterKey", "a=1;B=2"}, Bad{"ValueMissing", "a="},
                      Bad{"QuoteInToken", "a=b\"c\""}, Bad{"LeadingTab", "\ta=1"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace

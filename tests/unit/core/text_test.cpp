// core/text.h: ASCII case, optional whitespace, hex and decimal digits.
#include "core/text.h"

#include <gtest/gtest.h>

namespace pillar::core {
namespace {

TEST(Text, CaseIsAsciiOnly) {
  EXPECT_EQ(lowercase("Content-TYPE: X/Y"), "content-type: x/y");
  std::string up = "get";
  uppercase_in_place(up);
  EXPECT_EQ(up, "GET");
  // Bytes outside A-Z / a-z are left alone (no locale, no UTF-8 folding).
  EXPECT_EQ(lowercase("\xC3\x89[@]_`{"), "\xC3\x89[@]_`{");
  EXPECT_EQ(ascii_lower('@'), '@');
  EXPECT_EQ(ascii_upper('`'), '`');
}

TEST(Text, CaseInsensitiveComparison) {
  EXPECT_TRUE(iequals("Keep-Alive", "keep-alive"));
  EXPECT_FALSE(iequals("keep-alive", "keep-alive "));
  EXPECT_FALSE(iequals("[", "{"));  // 0x5B and 0x7B differ only in the 0x20 bit, and are not letters
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(istarts_with("HTTP://example.test/", "http://"));
  EXPECT_TRUE(istarts_with("bytes=0-1", "BYTES="));
  EXPECT_FALSE(istarts_with("byte", "bytes"));
  EXPECT_FALSE(istarts_with("bytes:0-1", "bytes="));
}

TEST(Text, TrimsOnlySpaceAndTab) {
  EXPECT_EQ(trim_ows(" \t gzip \t"), "gzip");
  EXPECT_EQ(trim_ows("\r\ngzip\r\n"), "\r\ngzip\r\n");  // CR and LF are not OWS
  EXPECT_EQ(trim_ows("   "), "");
  EXPECT_EQ(trim_ows_front("  a b  "), "a b  ");
  EXPECT_TRUE(is_ows('\t'));
  EXPECT_FALSE(is_ows('\v'));
}

TEST(Text, HexDigits) {
  EXPECT_EQ(hex_digit('0'), 0);
  EXPECT_EQ(hex_digit('9'), 9);
  EXPECT_EQ(hex_digit('a'), 10);
  EXPECT_EQ(hex_digit('F'), 15);
  EXPECT_EQ(hex_digit('g'), -1);
  EXPECT_EQ(hex_digit('/'), -1);
  EXPECT_EQ(hex_digit(':'), -1);
}

TEST(Text, DecimalIsDigitsOnlyAndAlwaysFits) {
  EXPECT_EQ(parse_decimal("0"), 0u);
  EXPECT_EQ(parse_decimal("007"), 7u);
  EXPECT_EQ(parse_decimal("1234567890"), 1234567890u);
  EXPECT_EQ(parse_decimal("9999999999999999999"), 9999999999999999999u);  // 19 digits
  EXPECT_FALSE(parse_decimal("10000000000000000000"));                     // 20 digits: refused, not wrapped
  EXPECT_FALSE(parse_decimal(""));
  EXPECT_FALSE(parse_decimal("+1"));
  EXPECT_FALSE(parse_decimal("-1"));
  EXPECT_FALSE(parse_decimal(" 1"));
  EXPECT_FALSE(parse_decimal("1 "));
  EXPECT_FALSE(parse_decimal("1e3"));
  EXPECT_FALSE(parse_decimal("12:"));
}

}  // namespace
}  // namespace pillar::core

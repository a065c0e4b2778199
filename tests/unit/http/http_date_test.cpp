// Unit tests for src/http/http_date.cpp: format_http_date (written by hand,
// so every field's width and padding is checked) and its round trip.
#include "http/http_date.h"

#include <gtest/gtest.h>

#include <string>

using pillar::http::format_http_date;
using pillar::http::parse_http_date;

namespace {
std::string fmt(time_t t) {
  char out[30];
  size_t n = format_http_date(t, out);
  EXPECT_EQ(out[n], '\0');
  return std::string(out, n);
}
}  // namespace

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(fmt(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110 §5.6.7's example
  EXPECT_EQ(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(fmt(1798761599), "Thu, 31 Dec 2026 23:59:59 GMT");
  EXPECT_EQ(fmt(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST(HttpDate, RoundTrips) {
  for (time_t t : {time_t{0}, time_t{784111777}, time_t{1700000000}, time_t{4102444799}}) {
    auto back = parse_http_date(fmt(t));
    ASSERT_TRUE(back.has_value()) << fmt(t);
    EXPECT_EQ(*back, t);
  }
}

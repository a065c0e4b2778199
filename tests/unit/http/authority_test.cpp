// Unit tests for src/http/authority.cpp: split_authority and authority_host,
// the one parser behind vhost routing, cache keys, PURGE and pillarctl.
#include "http/authority.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

using pillar::http::authority_host;
using pillar::http::split_authority;

namespace {

std::string host_of(std::string_view text) {
  std::string h = "stale";  // the buffer is reused: it must be cleared whatever happens
  EXPECT_TRUE(authority_host(text, h)) << text;
  return h;
}

TEST(AuthorityHost, LowerCasesAndSplitsThePort) {
  EXPECT_EQ(host_of("Example.COM"), "example.com");
  EXPECT_EQ(host_of("Example.COM:8080"), "example.com");
  EXPECT_EQ(host_of("127.0.0.1:80"), "127.0.0.1");
  EXPECT_EQ(host_of("localhost:"), "localhost");  // an empty port is allowed (RFC 3986 §3.2.3)
}

TEST(AuthorityHost, KeepsIpv6BracketsAndDropsThePortAfterThem) {
  EXPECT_EQ(host_of("[::1]"), "[::1]");
  EXPECT_EQ(host_of("[::1]:8080"), "[::1]");
  EXPECT_EQ(host_of("[2001:DB8::A]:443"), "[2001:db8::a]");
  EXPECT_EQ(host_of("[::ffff:127.0.0.1]"), "[::ffff:127.0.0.1]");
}

TEST(AuthorityHost, DropsOneTrailingDot) {
  EXPECT_EQ(host_of("example.com."), "example.com");
  EXPECT_EQ(host_of("Example.com.:8080"), "example.com");
  EXPECT_EQ(host_of("example.com..") , "example.com.");  // only one: a name has one root
}

TEST(AuthorityHost, RefusesInvalidFormsAndClearsTheHost) {
  for (std::string_view bad : {"", ":80", "[", "[]", "[::1", "[::1]x", "[::1]:8a", "[::g]", "a:b:c",
                               "host:123456", "host:8o", "us@host", "ho st", "host/", "a\tb", "[::1]]"}) {
    std::string h = "stale";
    EXPECT_FALSE(authority_host(bad, h)) << "accepted '" << bad << "'";
    EXPECT_TRUE(h.empty()) << bad;
    EXPECT_FALSE(split_authority(bad).has_value()) << bad;
  }
}

TEST(SplitAuthority, GivesHostAndPortAsWritten) {
  auto p = split_authority("WWW.Example.com:08080");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "WWW.Example.com");
  EXPECT_EQ(p->port, "08080");
  p = split_authority("[::1]:1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "[::1]");
  EXPECT_EQ(p->port, "1");
  p = split_authority("h");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->host, "h");
  EXPECT_TRUE(p->port.empty());
}

}  // namespace

// Unit tests for src/config/values.cpp: the argument parsers behind the
// directive table (durations, sizes, counts, Listen addresses, networks for
// Require ip / Allow from, filesystem paths).
#include "config/values.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

using pillar::config::IpNetwork;
using pillar::config::ListenAddress;
using pillar::config::Millis;
using pillar::config::normalize_fs_path;
using pillar::config::parse_duration;
using pillar::config::parse_listen;
using pillar::config::parse_network;
using pillar::config::parse_on_off;
using pillar::config::parse_size;
using pillar::config::parse_uint;

namespace {

sockaddr_storage v4(const char* ip) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  EXPECT_EQ(inet_pton(AF_INET, ip, &a->sin_addr), 1) << ip;
  return ss;
}

sockaddr_storage v6(const char* ip) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  EXPECT_EQ(inet_pton(AF_INET6, ip, &a->sin6_addr), 1) << ip;
  return ss;
}

std::string bytes_v4(const IpNetwork& n) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, n.bytes, buf, sizeof buf) ? buf : "?";
}

std::string bytes_v6(const IpNetwork& n) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, n.bytes, buf, sizeof buf) ? buf : "?";
}

// ---- parse_on_off ------------------------------------------------------------

TEST(ParseOnOff, AcceptsOnAndOffCaseInsensitively) {
  bool v = false;
  std::string why;
  EXPECT_TRUE(parse_on_off("On", v, why));
  EXPECT_TRUE(v);
  EXPECT_TRUE(parse_on_off("OFF", v, why));
  EXPECT_FALSE(v);
  EXPECT_TRUE(parse_on_off("on", v, why));
  EXPECT_TRUE(v);
}

TEST(ParseOnOff, RejectsOtherWords) {
  bool v = true;
  std::string why;
  EXPECT_FALSE(parse_on_off("yes", v, why));
  EXPECT_NE(why.find("not On or Off"), std::string::npos) << why;
  EXPECT_FALSE(parse_on_off("", v, why));
  EXPECT_FALSE(parse_on_off("1", v, why));
  EXPECT_TRUE(v);  // untouched on failure
}

// ---- parse_uint --------------------------------------------------------------

TEST(ParseUint, AcceptsValuesInsideTheRange) {
  uint64_t v = 0;
  std::string why;
  EXPECT_TRUE(parse_uint("1", 1, 10, v, why));
  EXPECT_EQ(v, 1u);
  EXPECT_TRUE(parse_uint("10", 1, 10, v, why));
  EXPECT_EQ(v, 10u);
  EXPECT_TRUE(parse_uint("0", 0, 0, v, why));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_uint("18446744073709551615", 0, UINT64_MAX, v, why));
  EXPECT_EQ(v, UINT64_MAX);
}

TEST(ParseUint, RejectsOutOfRangeWithTheRangeInTheMessage) {
  uint64_t v = 7;
  std::string why;
  EXPECT_FALSE(parse_uint("0", 1, 10, v, why));
  EXPECT_NE(why.find("out of range; use 1 to 10"), std::string::npos) << why;
  EXPECT_FALSE(parse_uint("11", 1, 10, v, why));
  EXPECT_NE(why.find("11 is out of range"), std::string::npos) << why;
  EXPECT_EQ(v, 7u);
}

TEST(ParseUint, RejectsNonNumbers) {
  uint64_t v = 7;
  for (std::string_view bad : {"", "abc", "5x", " 5", "5 ", "-1", "+5", "1.5", "0x10", "18446744073709551616"}) {
    std::string why;
    EXPECT_FALSE(parse_uint(bad, 0, UINT64_MAX, v, why)) << "'" << bad << "'";
    EXPECT_FALSE(why.empty()) << bad;
  }
  std::string why;
  parse_uint("abc", 0, 10, v, why);
  EXPECT_NE(why.find("not a whole number"), std::string::npos) << why;
  EXPECT_EQ(v, 7u);
}

// ---- parse_duration ----------------------------------------------------------

TEST(ParseDuration, PlainNumberIsSeconds) {
  Millis v{};
  std::string why;
  ASSERT_TRUE(parse_duration("30", v, why)) << why;
  EXPECT_EQ(v, Millis(30000));
  ASSERT_TRUE(parse_duration("0", v, why)) << why;
  EXPECT_EQ(v, Millis(0));
}

TEST(ParseDuration, Units) {
  struct Case {
    std::string_view in;
    int64_t ms;
  } cases[] = {
      {"10s", 10000}, {"500ms", 500},   {"5m", 300000}, {"1h", 3600000},  {"2min", 120000},
      {"10S", 10000}, {"250MS", 250},   {"0ms", 0},     {"24h", 86400000}, {"1s", 1000},
  };
  for (const auto& c : cases) {
    Millis v{};
    std::string why;
    ASSERT_TRUE(parse_duration(c.in, v, why)) << c.in << ": " << why;
    EXPECT_EQ(v.count(), c.ms) << c.in;
  }
}

TEST(ParseDuration, BadUnitsAndShapes) {
  for (std::string_view bad : {"", "s", "ms", "10x", "10sec", "10 s", "1.5s", "-5", "+5", "5d", "ten", "10ss", "h1"}) {
    Millis v{42};
    std::string why;
    EXPECT_FALSE(parse_duration(bad, v, why)) << "'" << bad << "'";
    EXPECT_EQ(v, Millis(42)) << bad;
    EXPECT_NE(why.find("not a duration"), std::string::npos) << bad << ": " << why;
    EXPECT_NE(why.find("500ms"), std::string::npos) << "hint with an example: " << why;
  }
}

TEST(ParseDuration, TooLongIsRefused) {
  Millis v{};
  std::string why;
  EXPECT_FALSE(parse_duration("99999999999h", v, why));
  EXPECT_NE(why.find("too long"), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("18446744073709551615", v, why));
  EXPECT_FALSE(parse_duration("99999999999999999999999", v, why));  // not even a uint64
}

// ---- parse_size --------------------------------------------------------------

TEST(ParseSize, BytesAndUnits) {
  struct Case {
    std::string_view in;
    uint64_t bytes;
  } cases[] = {
      {"0", 0},
      {"1024", 1024},
      {"1K", 1024},
      {"1k", 1024},
      {"1KB", 1024},
      {"1kb", 1024},
      {"512K", 512 * 1024},
      {"2M", 2ull << 20},
      {"64MB", 64ull << 20},
      {"1G", 1ull << 30},
      {"2GB", 2ull << 30},
      {"7B", 7},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& c : cases) {
    uint64_t v = 0;
    std::string why;
    ASSERT_TRUE(parse_size(c.in, v, why)) << c.in << ": " << why;
    EXPECT_EQ(v, c.bytes) << c.in;
  }
}

TEST(ParseSize, BadUnits) {
  for (std::string_view bad : {"", "K", "1X", "1.5M", "-1", "1 K", "1KiB", "10MBB", "1Q", "M1"}) {
    uint64_t v = 99;
    std::string why;
    EXPECT_FALSE(parse_size(bad, v, why)) << "'" << bad << "'";
    EXPECT_EQ(v, 99u) << bad;
    EXPECT_NE(why.find("512K"), std::string::npos) << "hint with an example: " << why;
  }
}

// "optional trailing B" means one B after a unit: "5BB" is not a size.
TEST(ParseSize, DoubledByteSuffixIsRefused) {
  uint64_t v = 99;
  std::string why;
  EXPECT_FALSE(parse_size("5BB", v, why)) << "parsed as " << v;
  EXPECT_FALSE(parse_size("5bb", v, why)) << "parsed as " << v;
}

TEST(ParseSize, Overflow) {
  uint64_t v = 99;
  std::string why;
  EXPECT_FALSE(parse_size("17179869184G", v, why));  // 2^34 * 2^30 = 2^64
  EXPECT_NE(why.find("too large"), std::string::npos) << why;
  EXPECT_FALSE(parse_size("18014398509481984K", v, why));  // 2^54 * 2^10
  EXPECT_NE(why.find("too large"), std::string::npos) << why;
  EXPECT_FALSE(parse_size("18446744073709551616", v, why));  // 2^64, no unit
  EXPECT_EQ(v, 99u);
  // The largest that fits.
  EXPECT_TRUE(parse_size("17179869183G", v, why)) << why;
  EXPECT_EQ(v, 17179869183ull << 30);
}

// ---- parse_listen ------------------------------------------------------------

TEST(ParseListen, PortOnlyIsEveryAddress) {
  ListenAddress la;
  std::string why;
  ASSERT_TRUE(parse_listen("80", la, why)) << why;
  EXPECT_EQ(la.port, 80);
  EXPECT_TRUE(la.any_address);
  EXPECT_EQ(la.text, "80");
  EXPECT_EQ(la.addr.ss_family, AF_INET);
  EXPECT_EQ(la.addr_len, sizeof(sockaddr_in));
  const auto* a = reinterpret_cast<const sockaddr_in*>(&la.addr);
  EXPECT_EQ(ntohs(a->sin_port), 80);
  EXPECT_EQ(a->sin_addr.s_addr, htonl(INADDR_ANY));
}

TEST(ParseListen, StarAndZeroAddressAreEveryAddress) {
  for (std::string_view s : {"*:80", "0.0.0.0:80"}) {
    ListenAddress la;
    std::string why;
    ASSERT_TRUE(parse_listen(s, la, why)) << s << ": " << why;
    EXPECT_TRUE(la.any_address) << s;
    EXPECT_EQ(la.port, 80) << s;
    EXPECT_EQ(la.text, s);
  }
}

TEST(ParseListen, Ipv4AddressAndPort) {
  ListenAddress la;
  std::string why;
  ASSERT_TRUE(parse_listen("1.2.3.4:80", la, why)) << why;
  EXPECT_FALSE(la.any_address);
  EXPECT_EQ(la.port, 80);
  EXPECT_EQ(la.addr.ss_family, AF_INET);
  EXPECT_EQ(la.addr_len, sizeof(sockaddr_in));
  const auto* a = reinterpret_cast<const sockaddr_in*>(&la.addr);
  EXPECT_EQ(ntohl(a->sin_addr.s_addr), 0x01020304u);
  EXPECT_EQ(ntohs(a->sin_port), 80);
}

TEST(ParseListen, BracketedIpv6AddressAndPort) {
  ListenAddress la;
  std::string why;
  ASSERT_TRUE(parse_listen("[::1]:8080", la, why)) << why;
  EXPECT_FALSE(la.any_address);
  EXPECT_EQ(la.port, 8080);
  EXPECT_EQ(la.addr.ss_family, AF_INET6);
  EXPECT_EQ(la.addr_len, sizeof(sockaddr_in6));
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&la.addr);
  EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&a->sin6_addr));
  EXPECT_EQ(ntohs(a->sin6_port), 8080);

  ASSERT_TRUE(parse_listen("[::]:443", la, why)) << why;
  EXPECT_TRUE(la.any_address);
  EXPECT_EQ(la.port, 443);
  EXPECT_EQ(la.addr.ss_family, AF_INET6);
}

TEST(ParseListen, PortZeroAndMaxPort) {
  ListenAddress la;
  std::string why;
  ASSERT_TRUE(parse_listen("127.0.0.1:0", la, why)) << why;  // ephemeral, for tests
  EXPECT_EQ(la.port, 0);
  ASSERT_TRUE(parse_listen("65535", la, why)) << why;
  EXPECT_EQ(la.port, 65535);
}

TEST(ParseListen, HostNamesAreRefused) {
  for (std::string_view s : {"localhost:80", "www.example.com:8080", "example:80", "[localhost]:80", "1.2.3:80",
                             "256.1.1.1:80"}) {
    ListenAddress la;
    std::string why;
    EXPECT_FALSE(parse_listen(s, la, why)) << s;
    EXPECT_NE(why.find("not an IP address"), std::string::npos) << s << ": " << why;
  }
  ListenAddress la;
  std::string why;
  ASSERT_FALSE(parse_listen("localhost:80", la, why));
  EXPECT_NE(why.find("not host names"), std::string::npos) << why;
}

TEST(ParseListen, BadPorts) {
  for (std::string_view s : {"65536", "99999", "-1", "http", "", "1.2.3.4:", "1.2.3.4:80x", "*:", "[::1]:70000",
                             "[::1]:", "1.2.3.4: 80"}) {
    ListenAddress la;
    std::string why;
    EXPECT_FALSE(parse_listen(s, la, why)) << "'" << s << "'";
    EXPECT_FALSE(why.empty()) << s;
  }
  ListenAddress la;
  std::string why;
  ASSERT_FALSE(parse_listen("65536", la, why));
  EXPECT_NE(why.find("0 to 65535"), std::string::npos) << why;
}

TEST(ParseListen, BadIpv6Shapes) {
  for (std::string_view s : {"::1:80", "[::1]", "[::1]80", "[::1", "2001:db8::1:80", "[]:80"}) {
    ListenAddress la;
    std::string why;
    EXPECT_FALSE(parse_listen(s, la, why)) << s;
    EXPECT_FALSE(why.empty()) << s;
  }
}

// ---- parse_network -----------------------------------------------------------

TEST(ParseNetwork, SingleIpv4Address) {
  IpNetwork n;
  std::string why;
  ASSERT_TRUE(parse_network("192.168.1.5", n, why)) << why;
  EXPECT_EQ(n.family, AF_INET);
  EXPECT_EQ(n.prefix, 32);
  EXPECT_EQ(bytes_v4(n), "192.168.1.5");
  EXPECT_TRUE(n.contains(v4("192.168.1.5")));
  EXPECT_FALSE(n.contains(v4("192.168.1.6")));
}

TEST(ParseNetwork, Ipv4Cidr) {
  IpNetwork n;
  std::string why;
  ASSERT_TRUE(parse_network("10.0.0.0/8", n, why)) << why;
  EXPECT_EQ(n.family, AF_INET);
  EXPECT_EQ(n.prefix, 8);
  EXPECT_TRUE(n.contains(v4("10.255.1.2")));
  EXPECT_FALSE(n.contains(v4("11.0.0.1")));

  ASSERT_TRUE(parse_network("172.16.0.0/12", n, why)) << why;
  EXPECT_TRUE(n.contains(v4("172.31.255.255")));
  EXPECT_FALSE(n.contains(v4("172.32.0.0")));
  EXPECT_FALSE(n.contains(v4("172.15.255.255")));

  ASSERT_TRUE(parse_network("0.0.0.0/0", n, why)) << why;
  EXPECT_EQ(n.prefix, 0);
  EXPECT_TRUE(n.contains(v4("1.2.3.4")));
  EXPECT_TRUE(n.contains(v4("255.255.255.255")));
}

TEST(ParseNetwork, Ipv6Cidr) {
  IpNetwork n;
  std::string why;
  ASSERT_TRUE(parse_network("2001:db8::/32", n, why)) << why;
  EXPECT_EQ(n.family, AF_INET6);
  EXPECT_EQ(n.prefix, 32);
  EXPECT_TRUE(n.contains(v6("2001:db8:1234::1")));
  EXPECT_FALSE(n.contains(v6("2001:db9::1")));
  EXPECT_FALSE(n.contains(v4("32.1.13.184")));  // IPv4 clients never match IPv6 networks

  ASSERT_TRUE(parse_network("::1", n, why)) << why;
  EXPECT_EQ(n.prefix, 128);
  EXPECT_TRUE(n.contains(v6("::1")));
  EXPECT_FALSE(n.contains(v6("::2")));

  ASSERT_TRUE(parse_network("fe80::/10", n, why)) << why;
  EXPECT_TRUE(n.contains(v6("febf::1")));
  EXPECT_FALSE(n.contains(v6("fec0::1")));
}

TEST(ParseNetwork, Ipv4MappedClientsMatchIpv4Networks) {
  IpNetwork n;
  std::string why;
  ASSERT_TRUE(parse_network("10.0.0.0/8", n, why)) << why;
  EXPECT_TRUE(n.contains(v6("::ffff:10.1.2.3")));
  EXPECT_FALSE(n.contains(v6("::ffff:11.1.2.3")));
  EXPECT_FALSE(n.contains(v6("::10.1.2.3")));  // IPv4-compatible, not mapped
  EXPECT_FALSE(n.contains(v6("2001:db8::a01:203")));
}

TEST(ParseNetwork, ApachePartialAddresses) {
  struct Case {
    std::string_view in;
    const char* net;
    int prefix;
  } cases[] = {
      {"10", "10.0.0.0", 8},
      {"10.1", "10.1.0.0", 16},
      {"192.168.2", "192.168.2.0", 24},
  };
  for (const auto& c : cases) {
    IpNetwork n;
    std::string why;
    ASSERT_TRUE(parse_network(c.in, n, why)) << c.in << ": " << why;
    EXPECT_EQ(n.family, AF_INET) << c.in;
    EXPECT_EQ(n.prefix, c.prefix) << c.in;
    EXPECT_EQ(bytes_v4(n), c.net) << c.in;
  }
  IpNetwork n;
  std::string why;
  ASSERT_TRUE(parse_network("10.1", n, why));
  EXPECT_TRUE(n.contains(v4("10.1.200.3")));
  EXPECT_FALSE(n.contains(v4("10.2.0.1")));
  EXPECT_FALSE(n.contains(v4("110.1.0.1")));
}

TEST(ParseNetwork, NetmaskForm) {
  IpNetwork n;
  std::string why;
  ASSERT_TRUE(parse_network("10.1.0.0/255.255.0.0", n, why)) << why;
  EXPECT_EQ(n.prefix, 16);
  EXPECT_EQ(bytes_v4(n), "10.1.0.0");
  EXPECT_TRUE(n.contains(v4("10.1.9.9")));
  EXPECT_FALSE(n.contains(v4("10.2.0.0")));

  ASSERT_TRUE(parse_network("10.0.0.0/255.0.0.0", n, why)) << why;
  EXPECT_EQ(n.prefix, 8);
  ASSERT_TRUE(parse_network("192.168.1.0/255.255.255.128", n, why)) << why;
  EXPECT_EQ(n.prefix, 25);
  ASSERT_TRUE(parse_network("1.2.3.4/255.255.255.255", n, why)) << why;
  EXPECT_EQ(n.prefix, 32);
  ASSERT_TRUE(parse_network("1.2.3.4/0.0.0.0", n, why)) << why;
  EXPECT_EQ(n.prefix, 0);
}

TEST(ParseNetwork, NonContiguousNetmaskIsAnError) {
  for (std::string_view s : {"10.0.0.0/255.0.255.0", "10.0.0.0/0.255.255.255", "10.0.0.0/255.255.255.1"}) {
    IpNetwork n;
    std::string why;
    EXPECT_FALSE(parse_network(s, n, why)) << s;
    EXPECT_NE(why.find("not contiguous"), std::string::npos) << s << ": " << why;
    EXPECT_NE(why.find("/24"), std::string::npos) << "suggests a prefix length: " << why;
  }
}

TEST(ParseNetwork, HostBitsAreCleared) {
  IpNetwork n;
  std::string why;
  ASSERT_TRUE(parse_network("10.1.2.3/8", n, why)) << why;
  EXPECT_EQ(bytes_v4(n), "10.0.0.0");
  ASSERT_TRUE(parse_network("192.168.1.200/25", n, why)) << why;
  EXPECT_EQ(bytes_v4(n), "192.168.1.128");
  EXPECT_TRUE(n.contains(v4("192.168.1.129")));
  EXPECT_FALSE(n.contains(v4("192.168.1.127")));
  ASSERT_TRUE(parse_network("10.9.8.7/255.255.0.0", n, why)) << why;
  EXPECT_EQ(bytes_v4(n), "10.9.0.0");
  ASSERT_TRUE(parse_network("2001:db8:ffff:1::5/32", n, why)) << why;
  EXPECT_EQ(bytes_v6(n), "2001:db8::");
  ASSERT_TRUE(parse_network("2001:db8:ffff::/33", n, why)) << why;
  EXPECT_EQ(bytes_v6(n), "2001:db8:8000::");
  ASSERT_TRUE(parse_network("1.2.3.4/0", n, why)) << why;
  EXPECT_EQ(bytes_v4(n), "0.0.0.0");
}

TEST(ParseNetwork, BadInput) {
  for (std::string_view s :
       {"", "host.example.com", "localhost", "1.2.3.4.5", "256.1", "10..1", "10.1.", "10.0.0.0/33", "10.0.0.0/",
        "10.0.0.0/-1", "10.0.0.0/abc", "2001:db8::/129", "2001:db8::/ffff::", "10.1/8", "10.0.0.0/8/8", "all",
        "::ffff:1.2.3.4.5", "1.2.3.4/255.255.255.256"}) {
    IpNetwork n;
    std::string why;
    EXPECT_FALSE(parse_network(s, n, why)) << "'" << s << "'";
    EXPECT_FALSE(why.empty()) << s;
  }
  IpNetwork n;
  std::string why;
  ASSERT_FALSE(parse_network("host.example.com", n, why));
  EXPECT_NE(why.find("10.0.0.0/8"), std::string::npos) << "gives an example: " << why;
}

// ---- normalize_fs_path -------------------------------------------------------

TEST(NormalizeFsPath, AbsolutePaths) {
  struct Case {
    std::string_view in;
    std::string_view out;
  } cases[] = {
      {"/", "/"},
      {"/srv/www", "/srv/www"},
      {"/srv/www/", "/srv/www"},
      {"//srv//www//", "/srv/www"},
      {"/srv/./www/.", "/srv/www"},
      {"/srv/a/../www", "/srv/www"},
      {"/srv/www/..", "/srv"},
      {"/..", "/"},
      {"/../../etc", "/etc"},
      {"/a/b/c/../../d", "/a/d"},
      {"/a/..b/c", "/a/..b/c"},  // "..b" is a name, not ".."
      {"/a/.hidden", "/a/.hidden"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(normalize_fs_path(c.in, "/ignored/root"), c.out) << c.in;
  }
}

TEST(NormalizeFsPath, RelativePathsJoinTheRoot) {
  EXPECT_EQ(normalize_fs_path("htdocs", "/srv/pillar"), "/srv/pillar/htdocs");
  EXPECT_EQ(normalize_fs_path("logs/access.log", "/srv/pillar/"), "/srv/pillar/logs/access.log");
  EXPECT_EQ(normalize_fs_path("./htdocs/", "/srv/pillar"), "/srv/pillar/htdocs");
  EXPECT_EQ(normalize_fs_path("../other", "/srv/pillar"), "/srv/other");
  EXPECT_EQ(normalize_fs_path("", "/srv/pillar"), "/srv/pillar");
  EXPECT_EQ(normalize_fs_path("x", ""), "/x");
  EXPECT_EQ(normalize_fs_path("", ""), "/");
}

}  // namespace

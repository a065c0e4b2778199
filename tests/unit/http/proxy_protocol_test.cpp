#include <gtest/gtest.h>
#include <arpa/inet.h>

#include <string>

#include "http/proxy_protocol.h"

namespace pillar::http {
namespace {

std::string ip_of(const sockaddr_storage& a) {
  char b[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, b, sizeof b);
  if (a.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, b, sizeof b);
  return b;
}

TEST(ProxyProtocol, V1Tcp4) {
  std::string s = "PROXY TCP4 203.0.113.7 10.0.0.1 5555 80\r\nGET / HTTP/1.1\r\n";
  auto h = parse_proxy_header(s);
  ASSERT_EQ(h.kind, ProxyHeader::Kind::Proxied);
  EXPECT_EQ(h.consumed, s.find("GET"));
  EXPECT_EQ(ip_of(h.source), "203.0.113.7");
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in&>(h.source).sin_port), 5555);
  EXPECT_EQ(ip_of(h.dest), "10.0.0.1");
}

TEST(ProxyProtocol, V1Tcp6AndUnknown) {
  auto h = parse_proxy_header("PROXY TCP6 2001:db8::1 2001:db8::2 1 443\r\n");
  ASSERT_EQ(h.kind, ProxyHeader::Kind::Proxied);
  EXPECT_EQ(ip_of(h.source), "2001:db8::1");
  EXPECT_EQ(parse_proxy_header("PROXY UNKNOWN\r\n").kind, ProxyHeader::Kind::Local);
}

TEST(ProxyProtocol, IncompleteAtEveryPrefix) {
  std::string s = "PROXY TCP4 203.0.113.7 10.0.0.1 5555 80\r\n";
  for (size_t n = 1; n < s.size(); ++n) EXPECT_EQ(parse_proxy_header(s.substr(0, n)).kind, ProxyHeader::Kind::Incomplete) << n;
}

TEST(ProxyProtocol, Errors) {
  for (const char* bad : {"GET / HTTP/1.1\r\n", "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
                          "PROXY TCP4 1.2.3.4 1.2.3.4 1 99999\r\n", "PROXY TCP4 1.2.3.400 1.2.3.4 1 2\r\n",
                          "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n"}) {
    EXPECT_EQ(parse_proxy_header(bad).kind, ProxyHeader::Kind::Error) << bad;
  }
  EXPECT_EQ(parse_proxy_header("PROXY " + std::string(200, 'x')).kind, ProxyHeader::Kind::Error);
}

TEST(ProxyProtocol, WriteThenParseRoundTrips) {
  sockaddr_storage src{}, dst{};
  auto& s4 = reinterpret_cast<sockaddr_in&>(src);
  auto& d4 = reinterpret_cast<sockaddr_in&>(dst);
  s4.sin_family = d4.sin_family = AF_INET;
  inet_pton(AF_INET, "198.51.100.4", &s4.sin_addr);
  inet_pton(AF_INET, "192.0.2.1", &d4.sin_addr);
  s4.sin_port = htons(40000);
  d4.sin_port = htons(8080);
  for (int v : {1, 2}) {
    std::string out;
    if (v == 1) write_proxy_v1(src, dst, out);
    else write_proxy_v2(src, dst, out);
    out += "GET";
    auto h = parse_proxy_header(out);
    ASSERT_EQ(h.kind, ProxyHeader::Kind::Proxied) << v;
    EXPECT_EQ(h.consumed, out.size() - 3);
    EXPECT_EQ(ip_of(h.source), "198.51.100.4");
    EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in&>(h.dest).sin_port), 8080);
  }
}

}  // namespace
}  // namespace pillar::http

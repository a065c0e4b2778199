#include "server/vhost_router.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

using pillar::config::ListenAddress;
using pillar::config::VirtualHost;
using pillar::server::VhostRouter;

namespace {

sockaddr_storage v4(const char* ip, uint16_t port) {
  sockaddr_storage ss{};
  auto& in = reinterpret_cast<sockaddr_in&>(ss);
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  inet_pton(AF_INET, ip, &in.sin_addr);
  return ss;
}

ListenAddress any_port(uint16_t port) {
  ListenAddress a;
  a.any_address = true;
  a.port = port;
  return a;
}

ListenAddress exact(const char* ip, uint16_t port) {
  ListenAddress a;
  a.addr = v4(ip, port);
  a.addr_len = sizeof(sockaddr_in);
  a.port = port;
  return a;
}

VirtualHost vhost(std::string name, std::vector<ListenAddress> addrs, std::vector<std::string> aliases = {}) {
  VirtualHost v;
  v.server_name = std::move(name);
  v.addresses = std::move(addrs);
  v.aliases = std::move(aliases);
  return v;
}

}  // namespace

TEST(VhostRouter, NameBasedWithFirstAsDefault) {
  std::vector<VirtualHost> vs{vhost("a.example", {any_port(80)}), vhost("b.example", {any_port(80)}, {"*.b.example"})};
  VhostRouter r(vs);
  auto local = v4("127.0.0.1", 80);
  EXPECT_EQ(r.select(local, "a.example"), 0);
  EXPECT_EQ(r.select(local, "b.example"), 1);
  EXPECT_EQ(r.select(local, "www.b.example"), 1);
  EXPECT_EQ(r.select(local, "unknown.example"), 0);
  EXPECT_EQ(r.select(local, ""), 0);
}

TEST(VhostRouter, PortMustMatchElseMainServer) {
  std::vector<VirtualHost> vs{vhost("a.example", {any_port(80)})};
  VhostRouter r(vs);
  EXPECT_EQ(r.select(v4("127.0.0.1", 8080), "a.example"), VhostRouter::kMainServer);
}

TEST(VhostRouter, ExactAddressBeatsWildcard) {
  std::vector<VirtualHost> vs{vhost("wild.example", {any_port(80)}), vhost("exact.example", {exact("127.0.0.2", 80)}),
                              vhost("exact2.example", {exact("127.0.0.2", 80)})};
  VhostRouter r(vs);
  // On 127.0.0.2 only the exact vhosts are candidates, even for the wildcard's name.
  EXPECT_EQ(r.select(v4("127.0.0.2", 80), "wild.example"), 1);
  EXPECT_EQ(r.select(v4("127.0.0.2", 80), "exact2.example"), 2);
  // Elsewhere the wildcard serves.
  EXPECT_EQ(r.select(v4("127.0.0.1", 80), "exact.example"), 0);
}

TEST(VhostRouter, AnyPortAddress) {
  std::vector<VirtualHost> vs{vhost("a.example", {any_port(0)})};
  VhostRouter r(vs);
  EXPECT_EQ(r.select(v4("127.0.0.1", 4242), "x"), 0);
}

TEST(VhostRouter, FirstVhostInConfigurationOrderWinsAcrossNameKinds) {
  std::vector<VirtualHost> vs{vhost("default.example", {any_port(80)}),
                              vhost("wild.example", {any_port(80)}, {"*.shop.example"}),
                              vhost("www.shop.example", {any_port(80)}),
                              vhost("pattern.example", {any_port(80)}, {"w?w.*"}),
                              vhost("late.example", {any_port(80)}, {"*.example"})};
  VhostRouter r(vs);
  auto local = v4("127.0.0.1", 80);
  EXPECT_EQ(r.select(local, "www.shop.example"), 1);  // the earlier wildcard beats the later exact name
  EXPECT_EQ(r.select(local, "a.b.shop.example"), 1);  // '*' spans dots, as fnmatch without FNM_PATHNAME
  EXPECT_EQ(r.select(local, "shop.example"), 4);      // "*.shop.example" needs the dot; "*.example" has it
  EXPECT_EQ(r.select(local, "wxw.other"), 3);         // a general pattern
  EXPECT_EQ(r.select(local, "www.shop.example"), 1);
  EXPECT_EQ(r.select(local, "nothing"), 0);
}

TEST(VhostRouter, AVhostOnTwoAddressesIsFoundOnBoth) {
  std::vector<VirtualHost> vs{vhost("a.example", {exact("127.0.0.2", 80)}),
                              vhost("b.example", {exact("127.0.0.2", 80), exact("127.0.0.3", 80)})};
  VhostRouter r(vs);
  EXPECT_EQ(r.select(v4("127.0.0.2", 80), "b.example"), 1);
  EXPECT_EQ(r.select(v4("127.0.0.3", 80), "b.example"), 1);
  EXPECT_EQ(r.select(v4("127.0.0.3", 80), "a.example"), 1);  // the only candidate there
}

// The hashed router against the definition (first matching vhost by
// matches_name, exact addresses first) over many vhosts and names.
TEST(VhostRouter, AgreesWithALinearScanOverThousandsOfVhosts) {
  std::vector<VirtualHost> vs;
  for (int i = 0; i < 3000; ++i) {
    std::string n = "site" + std::to_string(i % 1000) + ".example";  // repeated names: the first must win
    std::vector<std::string> aliases;
    if (i % 7 == 0) aliases.push_back("*.d" + std::to_string(i % 50) + ".example");
    if (i % 97 == 0) aliases.push_back("x" + std::to_string(i % 3) + "?.example");
    std::vector<ListenAddress> addrs{any_port(80)};
    if (i % 11 == 0) addrs = {exact("127.0.0.2", 80)};
    vs.push_back(vhost(n, addrs, aliases));
  }
  VhostRouter r(vs);
  auto reference = [&](const sockaddr_storage& local, const std::string& host) {
    int first[2] = {-1, -1}, named[2] = {-1, -1};
    for (size_t i = 0; i < vs.size(); ++i) {
      bool any_match = false, exact_match = false;
      for (const auto& a : vs[i].addresses) {
        bool e = false;
        if (pillar::server::address_matches(a, local, e)) any_match = true, exact_match = exact_match || e;
      }
      if (!any_match) continue;
      int k = exact_match ? 0 : 1;
      if (first[k] < 0) first[k] = static_cast<int>(i);
      if (named[k] < 0 && !host.empty() && vs[i].matches_name(host)) named[k] = static_cast<int>(i);
    }
    for (int k = 0; k < 2; ++k)
      if (first[k] >= 0) return named[k] >= 0 ? named[k] : first[k];
    return VhostRouter::kMainServer;
  };
  std::vector<std::string> hosts{"", "nothing.example", "x1z.example", "x2.example"};
  for (int i = 0; i < 1000; i += 37) hosts.push_back("site" + std::to_string(i) + ".example");
  for (int i = 0; i < 50; i += 3) hosts.push_back("www.d" + std::to_string(i) + ".example");
  for (const char* ip : {"127.0.0.1", "127.0.0.2"}) {
    for (const auto& h : hosts) EXPECT_EQ(r.select(v4(ip, 80), h), reference(v4(ip, 80), h)) << ip << " " << h;
  }
}

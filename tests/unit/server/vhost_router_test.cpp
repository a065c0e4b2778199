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

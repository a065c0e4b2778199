// Unit tests for src/server/process/vrrp_child.cpp: a reload restarts the
// VRRP process only when what it runs with changed (vrrp_signature).
#include "server/process/vrrp_child.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace pillar::server {
namespace {

config::ServerConfig one_instance() {
  config::ServerConfig c;
  config::VrrpInstance v;
  v.name = "web";
  v.interface = "eth0";
  v.vrid = 51;
  v.priority = 100;
  c.vrrp.push_back(v);
  return c;
}

TEST(VrrpSignature, ChangesWithWhatTheProcessRunsWith) {
  const auto base = one_instance();
  EXPECT_EQ(vrrp_signature(base), vrrp_signature(one_instance()));
  EXPECT_EQ(vrrp_signature(config::ServerConfig{}), "");
  auto prio = base;
  prio.vrrp[0].priority = 150;
  EXPECT_NE(vrrp_signature(prio), vrrp_signature(base));
  auto peer = base;
  in_addr a{};
  inet_pton(AF_INET, "192.0.2.9", &a);
  peer.vrrp[0].unicast_peers.push_back(a);
  EXPECT_NE(vrrp_signature(peer), vrrp_signature(base));
  auto other = base;  // a change elsewhere in the configuration does not restart it
  other.keep_alive = !other.keep_alive;
  EXPECT_EQ(vrrp_signature(other), vrrp_signature(base));
}

}  // namespace
}  // namespace pillar::server

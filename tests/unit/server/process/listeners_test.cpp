// Unit tests for src/server/process/listeners.cpp: a reload keeps the
// sockets whose Listen did not change (same descriptor, same ephemeral
// port), closes the ones no Listen names, and a failed bind changes nothing.
#include "server/process/listeners.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>

namespace pillar::server {
namespace {

config::ListenAddress listen_on(const char* ip, const std::string& text, uint16_t port = 0) {
  config::ListenAddress la;
  la.text = text;
  auto& sin = reinterpret_cast<sockaddr_in&>(la.addr);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sin.sin_addr);
  la.addr_len = sizeof(sockaddr_in);
  return la;
}

bool is_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

uint16_t port_of(const ListenerSocket& l) { return ntohs(reinterpret_cast<const sockaddr_in&>(l.bound).sin_port); }

TEST(Listeners, ReloadKeepsUnchangedSocketsAndClosesDroppedOnes) {
  config::ServerConfig cfg;
  cfg.listens = {listen_on("127.0.0.1", "127.0.0.1:0"), listen_on("127.0.0.1", "127.0.0.1:0 b")};
  Listeners ls;
  std::string error;
  ASSERT_TRUE(ls.reconcile(cfg, error)) << error;
  ASSERT_EQ(ls.sockets().size(), 2u);
  const int a = ls.sockets()[0].fd, b = ls.sockets()[1].fd;
  const uint16_t port_a = port_of(ls.sockets()[0]);
  EXPECT_NE(port_a, 0) << "the ephemeral port the kernel chose";

  cfg.listens = {cfg.listens[0], listen_on("127.0.0.1", "127.0.0.1:0 c")};  // b goes, c comes
  ASSERT_TRUE(ls.reconcile(cfg, error)) << error;
  ASSERT_EQ(ls.sockets().size(), 2u);
  EXPECT_EQ(ls.sockets()[0].fd, a);
  EXPECT_EQ(port_of(ls.sockets()[0]), port_a);
  EXPECT_TRUE(is_open(a));
  EXPECT_TRUE(is_open(ls.sockets()[1].fd));
  EXPECT_FALSE(is_open(b) && b != ls.sockets()[1].fd) << "the dropped socket is closed";

  const int c = ls.sockets()[1].fd;
  ls.close_all();
  EXPECT_TRUE(ls.sockets().empty());
  EXPECT_FALSE(is_open(a));
  EXPECT_FALSE(is_open(c));
}

TEST(Listeners, AFailedBindChangesNothing) {
  config::ServerConfig cfg;
  cfg.listens = {listen_on("127.0.0.1", "127.0.0.1:0")};
  Listeners ls;
  std::string error;
  ASSERT_TRUE(ls.reconcile(cfg, error)) << error;
  const ListenerSocket before = ls.sockets()[0];
  // A port another socket listens on: that bind fails after a fresh one succeeded.
  core::Fd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin), 0);
  ASSERT_EQ(::listen(taken.get(), 1), 0);
  ::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&sin), &len);
  const std::string busy = "127.0.0.1:" + std::to_string(ntohs(sin.sin_port));
  cfg.listens = {listen_on("127.0.0.1", "127.0.0.1:0 new"), listen_on("127.0.0.1", busy, ntohs(sin.sin_port))};
  const int lowest_free = core::Fd(::dup(0)).get();  // (closed again at once)
  EXPECT_FALSE(ls.reconcile(cfg, error));
  EXPECT_NE(error.find(busy), std::string::npos) << error;
  EXPECT_EQ(core::Fd(::dup(0)).get(), lowest_free) << "the socket bound before the failure was closed";
  ASSERT_EQ(ls.sockets().size(), 1u);
  EXPECT_EQ(ls.sockets()[0].fd, before.fd);
  EXPECT_TRUE(is_open(before.fd));
}

}  // namespace
}  // namespace pillar::server

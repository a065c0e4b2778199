#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

#include "core/fd.h"
#include "proxy/health_check.h"

namespace pillar::proxy {
namespace {

TEST(HealthCheckVerdict, StatusAndBody) {
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhealthy";
  EXPECT_TRUE(HealthChecker::response_ok(ok, 0, ""));
  EXPECT_TRUE(HealthChecker::response_ok(ok, 200, "healthy"));
  EXPECT_FALSE(HealthChecker::response_ok(ok, 204, ""));
  EXPECT_FALSE(HealthChecker::response_ok(ok, 0, "sick"));
  EXPECT_TRUE(HealthChecker::response_ok("HTTP/1.0 302 Found\r\n\r\n", 0, ""));
  EXPECT_FALSE(HealthChecker::response_ok("HTTP/1.1 503 Unavailable\r\n\r\n", 0, ""));
  EXPECT_FALSE(HealthChecker::response_ok("SSH-2.0-OpenSSH\r\n", 0, ""));
  EXPECT_FALSE(HealthChecker::response_ok("", 0, ""));
  // The body match looks only after the head.
  EXPECT_FALSE(HealthChecker::response_ok("HTTP/1.1 200 OK\r\nX-Status: healthy\r\n\r\n", 0, "healthy"));
}

bool is_open(int fd) { return fd >= 0 && ::fcntl(fd, F_GETFD) != -1; }

// The descriptor of the one check in flight, or -1.
int probe_fd(const HealthChecker& hc) {
  std::vector<pollfd> fds;
  hc.fds(fds);
  return fds.size() == 1 ? fds[0].fd : -1;
}

// A check in flight owns its socket: new targets, or the checker going
// away, close it (the master swaps targets at every reload).
TEST(HealthCheckSockets, ChecksInFlightAreClosedWithTheirTargets) {
  core::Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  socklen_t len = sizeof sa;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&sa), &len), 0);

  MemberState member;
  auto target = [&] {
    HealthTarget t;
    t.member = &member;
    t.name = "http://127.0.0.1";
    std::memcpy(&t.addr, &sa, sizeof sa);
    t.addr_len = sizeof sa;
    std::vector<HealthTarget> v;
    v.push_back(std::move(t));
    return v;
  };
  int first;
  {
    HealthChecker hc;
    hc.set_targets(target(), 0);
    hc.step(0, {});  // due at once: the check starts
    first = probe_fd(hc);
    ASSERT_TRUE(is_open(first));
    hc.set_targets(target(), 0);
    EXPECT_FALSE(is_open(first)) << "the replaced target's check is closed";
    hc.step(0, {});
    int second = probe_fd(hc);
    ASSERT_TRUE(is_open(second));
    first = second;
  }
  EXPECT_FALSE(is_open(first)) << "the checker closes its checks when it goes";
}

}  // namespace
}  // namespace pillar::proxy

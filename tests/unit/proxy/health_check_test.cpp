#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <ostream>

#include "core/fd.h"
#include "proxy/health_check.h"

namespace pillar::proxy {

void PrintTo(HealthChange c, std::ostream* os) {
  *os << (c == HealthChange::Up ? "Up" : c == HealthChange::Down ? "Down" : "None");
}

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

// ---- rise/fall ---------------------------------------------------------------------

// A member followed through health_result the way the checker keeps it: the
// Error flag changes only on Down and Up.
struct Member {
  uint32_t rise, fall;
  bool in_error = false;
  HealthRuns runs;
  HealthChange check(bool ok) {
    HealthChange c = health_result(runs, in_error, ok, rise, fall);
    if (c == HealthChange::Down) in_error = true;
    if (c == HealthChange::Up) in_error = false;
    return c;
  }
};
constexpr bool kPass = true, kFail = false;

TEST(HealthRiseFall, DownOnlyAfterFallFailuresInARow) {
  Member m{2, 3};
  EXPECT_EQ(m.check(kFail), HealthChange::None);
  EXPECT_EQ(m.check(kFail), HealthChange::None);
  EXPECT_FALSE(m.in_error) << "two failures of fall=3";
  EXPECT_EQ(m.check(kFail), HealthChange::Down);
  EXPECT_TRUE(m.in_error);
  // Further failures change nothing.
  EXPECT_EQ(m.check(kFail), HealthChange::None);
  EXPECT_TRUE(m.in_error);
}

TEST(HealthRiseFall, UpOnlyAfterRiseSuccessesInARow) {
  Member m{2, 3};
  m.in_error = true;
  EXPECT_EQ(m.check(kPass), HealthChange::None);
  EXPECT_TRUE(m.in_error) << "one success of rise=2";
  EXPECT_EQ(m.check(kPass), HealthChange::Up);
  EXPECT_FALSE(m.in_error);
  EXPECT_EQ(m.check(kPass), HealthChange::None);
  EXPECT_FALSE(m.in_error);
}

TEST(HealthRiseFall, APassRestartsTheFailureRun) {
  Member m{2, 3};
  m.check(kFail);
  m.check(kFail);
  EXPECT_EQ(m.check(kPass), HealthChange::None);
  EXPECT_EQ(m.check(kFail), HealthChange::None);
  EXPECT_EQ(m.check(kFail), HealthChange::None);
  EXPECT_FALSE(m.in_error) << "the failures before the pass must not count";
  EXPECT_EQ(m.check(kFail), HealthChange::Down);
}

TEST(HealthRiseFall, AFailureRestartsThePassRun) {
  Member m{3, 2};
  m.in_error = true;
  m.check(kPass);
  m.check(kPass);
  EXPECT_EQ(m.check(kFail), HealthChange::None);
  EXPECT_EQ(m.check(kPass), HealthChange::None);
  EXPECT_EQ(m.check(kPass), HealthChange::None);
  EXPECT_TRUE(m.in_error) << "the passes before the failure must not count";
  EXPECT_EQ(m.check(kPass), HealthChange::Up);
}

TEST(HealthRiseFall, FallAndRiseOfOne) {
  Member m{1, 1};
  EXPECT_EQ(m.check(kFail), HealthChange::Down);
  EXPECT_EQ(m.check(kPass), HealthChange::Up);
}

// The Error flag also changes outside the checker (balancer-manager and
// `pillarctl enable` clear it): the run that led to the last change must not
// count again, in either direction.
TEST(HealthRiseFall, AMemberEnabledByHandNeedsFallFailuresAgain) {
  Member m{2, 3};
  for (int i = 0; i < 3; ++i) m.check(kFail);
  ASSERT_TRUE(m.in_error);
  m.check(kFail);         // still failing while down
  m.in_error = false;     // enabled by hand
  EXPECT_EQ(m.check(kFail), HealthChange::None) << "taken out by one failure";
  EXPECT_EQ(m.check(kFail), HealthChange::None);
  EXPECT_EQ(m.check(kFail), HealthChange::Down);
}

TEST(HealthRiseFall, AMemberMarkedInErrorAgainNeedsRiseSuccesses) {
  Member m{2, 3};
  m.in_error = true;
  m.check(kPass);
  m.check(kPass);
  ASSERT_FALSE(m.in_error);
  m.in_error = true;  // in error again without a failed check (the symmetric case)
  EXPECT_EQ(m.check(kPass), HealthChange::None) << "put back by one success";
  EXPECT_EQ(m.check(kPass), HealthChange::Up);
}

}  // namespace
}  // namespace pillar::proxy

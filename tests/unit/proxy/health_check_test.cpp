#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pillar::proxy

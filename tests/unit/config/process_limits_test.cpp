#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/process_limits.h"

namespace pillar::config {
namespace {

ProcessConfig settle(const std::string& directives, std::vector<std::string>* notices = nullptr) {
  auto r = load_config_text("Listen 127.0.0.1:0\n" + directives, "t.conf");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  if (!r.ok()) return {};
  if (notices) *notices = r.config->notices;
  return r.config->process;
}

bool any_contains(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& s : v)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

TEST(ProcessLimits, DefaultsAcceptTenThousandConnectionsAtStart) {
  ProcessConfig p = settle("");
  EXPECT_GE(uint64_t{p.start_servers} * p.threads_per_child, 10000u);
  EXPECT_EQ(p.max_request_workers, p.server_limit * p.threads_per_child);
  EXPECT_GE(p.max_spare_threads, p.min_spare_threads + p.threads_per_child);
  EXPECT_GE(p.max_spare_threads, p.start_servers * p.threads_per_child);  // no retiring right after start
}

TEST(ProcessLimits, ExplicitMaxRequestWorkersIsHonouredExactly) {
  ProcessConfig p = settle("MaxRequestWorkers 150\n");
  EXPECT_EQ(p.max_request_workers, 150u);
  EXPECT_EQ(p.threads_per_child, 150u);  // one worker holds them all
  EXPECT_EQ(max_workers(p), 1u);
  EXPECT_EQ(p.start_servers, 1u);
  ProcessConfig q = settle("ThreadsPerChild 64\nMaxClients 1000\n");
  EXPECT_EQ(q.max_request_workers, 1000u);  // not rounded to a multiple of 64
  EXPECT_EQ(max_workers(q), 16u);
}

TEST(ProcessLimits, ThreadsPerChildAboveThreadLimitIsLoweredWithApachesWarning) {
  std::vector<std::string> n;
  ProcessConfig p = settle("ThreadLimit 100\nThreadsPerChild 200\n", &n);
  EXPECT_EQ(p.threads_per_child, 100u);
  EXPECT_TRUE(any_contains(n, "WARNING: ThreadsPerChild of 200 exceeds ThreadLimit of 100, decreasing to 100"));
}

TEST(ProcessLimits, MaxRequestWorkersAboveServerLimitIsLoweredWithApachesWarning) {
  std::vector<std::string> n;
  ProcessConfig p = settle("ServerLimit 2\nThreadsPerChild 25\nMaxRequestWorkers 400\n", &n);
  EXPECT_EQ(p.max_request_workers, 50u);
  EXPECT_TRUE(any_contains(n, "WARNING: MaxRequestWorkers of 400 would require 16 servers and would exceed "
                              "ServerLimit of 2, decreasing to 50"));
}

TEST(ProcessLimits, StartServersCappedAndSparesConsistent) {
  std::vector<std::string> n;
  ProcessConfig p = settle("ServerLimit 3\nThreadsPerChild 10\nStartServers 8\nMinSpareThreads 20\nMaxSpareThreads 5\n", &n);
  EXPECT_EQ(p.start_servers, 3u);
  EXPECT_TRUE(any_contains(n, "StartServers of 8"));
  EXPECT_EQ(p.max_spare_threads, 30u);  // raised to MinSpareThreads + ThreadsPerChild, as Apache
}

TEST(ProcessLimits, DirectiveErrorsNameTheLine) {
  auto r = load_config_text("Listen 80\nThreadsPerChild 0\nMaxMemoryPerChild 1M\nMaxRequestWorkers lots\n", "t.conf");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[1].line, 3);
  EXPECT_NE(r.errors[1].message.find("at least 8M"), std::string::npos);
  EXPECT_EQ(r.errors[2].line, 4);
}

TEST(ProcessLimits, MemoryAndRecycleDirectives) {
  ProcessConfig p = settle("MaxMemoryPerChild 512M\nMaxRequestsPerChild 1000\nGracefulShutdownTimeout 30s\n");
  EXPECT_EQ(p.max_memory_per_child, 512ull << 20);
  EXPECT_EQ(p.max_connections_per_child, 1000u);
  EXPECT_EQ(p.graceful_shutdown_timeout, Millis(30000));
}

}  // namespace
}  // namespace pillar::config

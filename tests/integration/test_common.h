// Shared helpers for the integration tests (configuration text builders).
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "harness.h"

namespace itest {

// A minimal configuration on an ephemeral port: one server with `docroot`,
// errors to stderr, then `extra` lines appended.
inline std::string basic_config(const std::string& docroot, const std::string& extra = "") {
  return "Listen 127.0.0.1:0\n"
         "ServerName localhost\n"
         "DocumentRoot \"" + docroot + "\"\n" + extra + "\n";
}

// Sends a GET through a raw socket with Connection: close.
inline RawExchange raw_get(uint16_t port, const std::string& target, const std::string& host = "localhost",
                           const std::string& extra_headers = "") {
  return raw_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra_headers +
                                "Connection: close\r\n\r\n");
}

// Runs the pillarctl built beside the pillar binary (`args` as one shell
// word list), bounded by coreutils' timeout; its stdout and stderr.
inline std::string pillarctl(const std::string& socket, const std::string& args) {
  std::string b = PILLAR_BINARY;
  std::string cmd = "timeout 10 " + b.substr(0, b.rfind('/') + 1) + "pillarctl -s " + socket + " " + args + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

}  // namespace itest

// Starts a server from `config` into `var`, failing the test when it does not come up.
#define START_SERVER(var, ...)                          \
  ::itest::ServerProcess var(__VA_ARGS__);              \
  ASSERT_TRUE(var.ok()) << var.error()

// Shared helpers for the integration tests (configuration text builders).
#pragma once
#include <gtest/gtest.h>

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

}  // namespace itest

// Starts a server from `config` into `var`, failing the test when it does not come up.
#define START_SERVER(var, ...)                          \
  ::itest::ServerProcess var(__VA_ARGS__);              \
  ASSERT_TRUE(var.ok()) << var.error()

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

// Runs a shell command; true when it exits 0 (its stdout and stderr go to *out).
inline bool sh(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen(("(" + cmd + ") 2>&1").c_str(), "r");
  if (!p) return false;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int rc = pclose(p);
  if (out) *out = text;
  return rc == 0;
}

// Runs the pillarctl built beside the pillar binary (`args` as one shell
// word list), bounded by coreutils' timeout; its stdout and stderr.
inline std::string pillarctl(const std::string& socket, const std::string& args) {
  std::string b = PILLAR_BINARY;
  std::string out;
  sh("timeout 10 " + b.substr(0, b.rfind('/') + 1) + "pillarctl -s " + socket + " " + args, &out);
  return out;
}

// A test certificate authority in `dir` (ca.pem, ca.key) and leaves it
// signs, made with the openssl CLI; ASSERTs in the caller on failure.
inline std::string make_test_ca(const std::string& dir) {
  std::string out;
  if (!sh("cd " + dir + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
          "-out ca.pem -days 30 -subj '/CN=Pillar Test CA' -addext basicConstraints=critical,CA:TRUE "
          "-addext keyUsage=critical,keyCertSign,cRLSign", &out))
    return out;
  return {};
}
// NAME.key and NAME.crt for subject CN=`cn`, O=`org`, with `san`
// ("DNS:a.test" or "IP:127.0.0.1,DNS:x"); empty on success, else the error.
inline std::string make_test_leaf(const std::string& dir, const std::string& name, const std::string& cn,
                                  const std::string& san, const std::string& org, bool rsa, bool client,
                                  int days = 30) {
  std::string out;
  std::string newkey = rsa ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
  std::string ext = "subjectAltName=" + san + "\nbasicConstraints=CA:FALSE\n" +
                    (client ? "extendedKeyUsage=clientAuth\n" : "extendedKeyUsage=serverAuth\n");
  if (!sh("cd " + dir + " && printf '" + ext + "' > " + name + ".ext && openssl req -new " + newkey + " -nodes -keyout " +
              name + ".key -out " + name + ".csr -subj '/O=" + org + "/CN=" + cn + "' && openssl x509 -req -in " + name +
              ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days " + std::to_string(days) + " -out " + name +
              ".crt -extfile " + name + ".ext",
          &out))
    return out;
  return {};
}

}  // namespace itest

// Starts a server from `config` into `var`, failing the test when it does not come up.
#define START_SERVER(var, ...)                          \
  ::itest::ServerProcess var(__VA_ARGS__);              \
  ASSERT_TRUE(var.ok()) << var.error()

// What the tests' FastCGI stand-ins share (ParamEcho in htaccess_fixture.h,
// FakeFcgi in fastcgi_test.cpp): reading a request's records off a
// connection and writing records back, in the FastCGI spec's framing.
// Written for the tests, not taken from src/fastcgi, so a codec bug cannot
// hide on both sides.
#pragma once
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace itest {

// `n` bytes from `c`, polling in 100 ms slices; false when the peer closes,
// `stop` is set, or `timeout_ms` (-1: none) passes first.
inline bool fcgi_read_exact(int c, char* p, size_t n, const std::atomic<bool>& stop, int timeout_ms = -1) {
  int waited = 0;
  while (n > 0) {
    pollfd pf{c, POLLIN, 0};
    int rc = ::poll(&pf, 1, 100);
    if (rc < 0 || stop) return false;
    if (rc == 0) {
      waited += 100;
      if (timeout_ms >= 0 && waited >= timeout_ms) return false;
      continue;
    }
    ssize_t r = ::recv(c, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// One record of `type` for request id 1, unpadded.
inline std::string fcgi_record(uint8_t type, std::string_view content) {
  std::string r = {1, static_cast<char>(type), 0, 1, static_cast<char>(content.size() >> 8),
                   static_cast<char>(content.size() & 0xff), 0, 0};
  r.append(content);
  return r;
}

// The records of one request, until its PARAMS and STDIN streams ended:
// `params` gets the PARAMS bytes (name-value pairs). False: the connection ended first.
inline bool fcgi_read_request(int c, std::string& params, const std::atomic<bool>& stop, int timeout_ms = -1) {
  bool params_done = false, stdin_done = false;
  while (!params_done || !stdin_done) {
    char h[8];
    if (!fcgi_read_exact(c, h, 8, stop, timeout_ms)) return false;
    size_t len = static_cast<uint8_t>(h[4]) << 8 | static_cast<uint8_t>(h[5]);
    std::string content(len + static_cast<uint8_t>(h[6]), '\0');
    if (!fcgi_read_exact(c, content.data(), content.size(), stop, timeout_ms)) return false;
    if (h[1] == 4) {
      params.append(content, 0, len);
      params_done = len == 0;
    } else if (h[1] == 5) {
      stdin_done = len == 0;
    }
  }
  return true;
}

}  // namespace itest

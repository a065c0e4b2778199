// Request and response heads for the cache unit tests, built by parsing real
// bytes: each helper owns its buffer so the head's views stay valid.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "http/http_date.h"
#include "http/request_parser.h"
#include "http/response_parser.h"

namespace cache_test {

using pillar::http::ParseOutcome;
using pillar::http::RequestHead;
using pillar::http::ResponseHead;

constexpr int64_t T = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT: the Date of most responses here

// Replaces every "@{+N}" / "@{-N}" with the HTTP date T+N, so tables can say
// "Expires: @{+300}".
inline std::string expand(std::string s) {
  for (size_t at; (at = s.find("@{")) != std::string::npos;) {
    size_t end = s.find('}', at);
    int64_t off = std::stoll(s.substr(at + 2, end - at - 2));
    char buf[30];
    size_t n = pillar::http::format_http_date(static_cast<time_t>(T + off), buf);
    s.replace(at, end - at + 1, buf, n);
  }
  return s;
}

// Owns the bytes so the RequestHead views stay valid.
class Req {
 public:
  explicit Req(std::string_view headers, std::string_view method = "GET", std::string_view target = "/")
      : buf_(expand(std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: example.com\r\n" +
                    std::string(headers) + "\r\n")) {
    ParseOutcome o = pillar::http::parse_request_head(buf_, {}, head);
    EXPECT_EQ(o.kind, ParseOutcome::Complete) << buf_ << o.reason;
  }
  Req(const Req&) = delete;
  Req& operator=(const Req&) = delete;
  RequestHead head;

 private:
  std::string buf_;
};

class Resp {
 public:
  explicit Resp(std::string_view headers, int status = 200)
      : buf_(expand("HTTP/1.1 " + std::to_string(status) + " X\r\n" + std::string(headers) + "\r\n")) {
    ParseOutcome o = pillar::http::parse_response_head(buf_, {}, false, head);
    EXPECT_EQ(o.kind, ParseOutcome::Complete) << buf_ << o.reason;
  }
  Resp(const Resp&) = delete;
  Resp& operator=(const Resp&) = delete;
  ResponseHead head;

 private:
  std::string buf_;
};

}  // namespace cache_test

#include "server/access_log.h"

#include <gtest/gtest.h>

using pillar::server::AccessLogFormat;
using pillar::server::LogRecord;

namespace {

std::string render(std::string_view fmt, const LogRecord& r) {
  std::string err;
  auto f = AccessLogFormat::compile(fmt, err);
  EXPECT_TRUE(f) << err;
  std::string out;
  if (f) f->render(r, out);
  return out;
}

}  // namespace

TEST(AccessLogFormat, CommonFields) {
  pillar::http::RequestHead head;
  head.method_name = "GET";
  head.version_major = 1;
  head.version_minor = 1;
  head.headers.push_back({"User-Agent", "curl/8 \"quoted\""});
  LogRecord r;
  r.head = &head;
  r.request_line = "GET /a?b HTTP/1.1";
  r.client_ip = "127.0.0.1";
  r.status = 404;
  r.body_bytes = 0;
  r.server_name = "www.example.com";
  r.path = "/a";
  r.query = "b";
  r.duration_us = 1234;
  std::string line = render("%h %l %u \"%r\" %>s %b %B %D %v %U%q %m %H \"%{User-Agent}i\"", r);
  EXPECT_EQ(line, "127.0.0.1 - - \"GET /a?b HTTP/1.1\" 404 - 0 1234 www.example.com /a?b GET HTTP/1.1 "
                  "\"curl/8 \\\"quoted\\\"\"\n");
}

TEST(AccessLogFormat, RemoteUserOnceAuthenticated) {
  LogRecord r;
  r.client_ip = "127.0.0.1";
  EXPECT_EQ(render("%h %l %u", r), "127.0.0.1 - -\n");
  r.user = "alice";
  EXPECT_EQ(render("%h %l %u", r), "127.0.0.1 - alice\n");
}

TEST(AccessLogFormat, ResponseHeaderAndMissingHeader) {
  std::string block = "Content-Type: text/html\r\nETag: \"x\"\r\n";
  LogRecord r;
  r.response_headers = &block;
  r.status = 200;
  r.body_bytes = 42;
  EXPECT_EQ(render("%{content-type}o %{X-None}o %{Referer}i %b", r), "text/html - - 42\n");
}

TEST(AccessLogFormat, ControlCharactersAreEscaped) {
  LogRecord r;
  r.request_line = "GET /\x1b[31m HTTP/1.1";
  EXPECT_EQ(render("%r", r), "GET /\\x1b[31m HTTP/1.1\n");
}

TEST(AccessLogFormat, RejectsUnknownDirectiveWithAList) {
  std::string err;
  EXPECT_FALSE(AccessLogFormat::compile("%h %Z", err));
  EXPECT_NE(err.find("'%Z'"), std::string::npos);
  EXPECT_NE(err.find("supported"), std::string::npos);
  EXPECT_FALSE(AccessLogFormat::compile("%{User-Agent", err));
  EXPECT_FALSE(AccessLogFormat::compile("%i", err));
}

TEST(AccessLogFormat, TimeIsClfShaped) {
  LogRecord r;
  r.start_time = 400 * 86400;  // Feb 1971 in any time zone
  std::string line = render("%t", r);
  ASSERT_GE(line.size(), 28u);
  EXPECT_EQ(line.front(), '[');
  EXPECT_NE(line.find("/1971:"), std::string::npos);
}

// The response head's frame: status line, framing, Connection.
#include "server/http1/response_head.h"

#include <gtest/gtest.h>

namespace pillar::server::http1 {
namespace {

TEST(ResponseHead, StatusLineWithStandardOrGivenReason) {
  std::string o;
  begin_head(o, 404);
  EXPECT_EQ(o, "HTTP/1.1 404 Not Found\r\n");
  o.clear();
  begin_head(o, 299, "Custom");
  EXPECT_EQ(o, "HTTP/1.1 299 Custom\r\n");
}

TEST(ResponseHead, KnownLengthKeepAliveForHttp11) {
  std::string o;
  auto e = end_head(o, BodyLength::Known, 12, 1, true);
  EXPECT_EQ(o, "Content-Length: 12\r\n\r\n");
  EXPECT_TRUE(e.keep_alive);
  EXPECT_FALSE(e.chunked);
}

TEST(ResponseHead, UnknownLengthIsChunkedFor11AndClosesFor10) {
  std::string o;
  auto e = end_head(o, BodyLength::Unknown, 0, 1, true);
  EXPECT_EQ(o, "Transfer-Encoding: chunked\r\n\r\n");
  EXPECT_TRUE(e.chunked);
  EXPECT_TRUE(e.keep_alive);
  o.clear();
  e = end_head(o, BodyLength::Unknown, 0, 0, true);
  EXPECT_EQ(o, "Connection: close\r\n\r\n");
  EXPECT_FALSE(e.chunked);
  EXPECT_FALSE(e.keep_alive);
}

TEST(ResponseHead, Http10KeepAliveIsSaidAndCloseIsSaid) {
  std::string o;
  end_head(o, BodyLength::Known, 0, 0, true);
  EXPECT_EQ(o, "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");
  o.clear();
  end_head(o, BodyLength::None, 0, 1, false);
  EXPECT_EQ(o, "Connection: close\r\n\r\n");
}

}  // namespace
}  // namespace pillar::server::http1

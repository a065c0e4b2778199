// HandlerExchange and write_response without a socket: a scripted host
// (sink and request body) stands in for the connection, so the content
// phase's rules are checked one by one: the method and target checks, the
// form body read through RequestBody (pieces, limits, malformed, gone,
// timed out), the framing of what the handler answered, and which answers
// end the connection.
#include "server/request/handler_exchange.h"

#include "core/open_file.h"
#include "scripted_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>

namespace pillar::server {
namespace {

using test_support::ScriptedBody;
using test_support::ScriptedHost;
using test_support::ScriptedSink;


class RecordingHandler final : public http::Handler {
 public:
  size_t limit = 0;
  int calls = 0;
  std::string seen_body, seen_path;
  void handle(const http::RequestContext& ctx, http::Response& resp) override {
    ++calls;
    seen_body = std::string(ctx.body);
    seen_path = std::string(ctx.path);
    resp.add_header("Content-Type", "text/plain");
    resp.add_text("hello");
  }
  size_t body_limit() const override { return limit; }
};

struct Fixture : ::testing::Test {
  ScriptedHost host;
  Request req;
  RecordingHandler handler;
  HandlerExchange x{host};
  const HeadDefaults defaults{"Mon, 07 Dec 2026 07:00:00 GMT", "Pillar"};

  void request(http::Method m, std::string_view method_name, std::string_view path) {
    req.head.reset();
    req.head.method = m;
    req.head.method_name = method_name;
    req.head.path = path;
    req.head.target = path;
    req.path = std::string(path);
    req.resp.clear();
  }
  void with_body(uint64_t length) {
    req.head.has_content_length = true;
    req.head.content_length = length;
    req.body_left = length;
  }
  http::Exchange::Step run(http::Handler* h) {
    x.reset(req, h, 80, defaults);
    return x.proceed();
  }
};

using Fx = Fixture;

TEST_F(Fx, AGetIsAnsweredWithTheHandlersHeadAndBody) {
  request(http::Method::Get, "GET", "/a");
  ASSERT_EQ(run(&handler), http::Exchange::Step::Done);
  EXPECT_EQ(handler.calls, 1);
  EXPECT_EQ(handler.seen_path, "/a");
  const std::string& o = host.sink_.out;
  EXPECT_EQ(o.rfind("HTTP/1.1 200\r\n", 0), 0u) << o;
  EXPECT_NE(o.find("Date: Mon, 07 Dec 2026 07:00:00 GMT\r\nServer: Pillar\r\n"), std::string::npos) << o;
  EXPECT_NE(o.find("Content-Type: text/plain\r\n"), std::string::npos) << o;
  EXPECT_NE(o.find("Content-Length: 5\r\n\r\nhello"), std::string::npos) << o;
  auto out = x.outcome();
  EXPECT_EQ(out.kind, http::Exchange::Outcome::Kind::Answered);
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body_bytes, 5u);
  EXPECT_FALSE(host.closing);
}

TEST_F(Fx, AHeadAnswerHasTheLengthButNoBody) {
  request(http::Method::Head, "HEAD", "/a");
  run(&handler);
  const std::string& o = host.sink_.out;
  EXPECT_NE(o.find("Content-Length: 5\r\n\r\n"), std::string::npos) << o;
  EXPECT_EQ(o.find("hello"), std::string::npos) << o;
  EXPECT_EQ(x.outcome().body_bytes, 0u);
}

TEST_F(Fx, MethodAndTargetChecksComeBeforeTheHandler) {
  struct Case {
    http::Method m;
    const char* name;
    const char* path;
    int path_error;
    int status;
    bool closes;
  };
  const Case cases[] = {
      {http::Method::Other, "BREW", "/a", 0, 501, true},
      {http::Method::Trace, "TRACE", "/a", 0, 405, false},
      {http::Method::Connect, "CONNECT", "/a", 0, 405, false},
      {http::Method::Options, "OPTIONS", "*", 0, 200, false},
      {http::Method::Get, "GET", "*", 0, 400, true},
      {http::Method::Get, "GET", "/%2e%2e/x", 404, 404, false},
  };
  for (const auto& c : cases) {
    host = ScriptedHost{};
    handler.calls = 0;
    request(c.m, c.name, c.path);
    req.path_error = c.path_error;
    ASSERT_EQ(run(&handler), http::Exchange::Step::Done) << c.name;
    EXPECT_EQ(handler.calls, 0) << c.name << " " << c.path;
    EXPECT_EQ(x.outcome().status, c.status) << c.name << " " << c.path;
    EXPECT_EQ(host.closing, c.closes) << c.name << " " << c.path;
  }
  req.path_error = 0;
}

TEST_F(Fx, TraceNamesTheAllowedMethods) {
  request(http::Method::Trace, "TRACE", "/a");
  run(&handler);
  EXPECT_NE(host.sink_.out.find("Allow: GET, HEAD, OPTIONS\r\n"), std::string::npos) << host.sink_.out;
}

TEST_F(Fx, ARefusedClientGets403WithoutTheHandler) {
  request(http::Method::Get, "GET", "/a");
  run(nullptr);
  EXPECT_EQ(x.outcome().status, 403);
  EXPECT_EQ(handler.calls, 0);
  EXPECT_FALSE(host.closing);  // a 403 keeps the connection
}

TEST_F(Fx, AFormBodyIsReadInPiecesThenTheHandlerRuns) {
  handler.limit = 16;
  request(http::Method::Post, "POST", "/form");
  with_body(9);
  host.body_.script = {{http::RequestBody::Status::Data, "a=1&"}, {http::RequestBody::Status::Again, ""},
                       {http::RequestBody::Status::Data, "b=22"}, {http::RequestBody::Status::End, ""}};
  x.reset(req, &handler, 80, defaults);
  EXPECT_TRUE(x.reading_body());
  EXPECT_EQ(x.proceed(), http::Exchange::Step::Again);  // the client has sent only the first piece
  EXPECT_EQ(handler.calls, 0);
  EXPECT_TRUE(host.sink_.out.empty());
  EXPECT_EQ(x.proceed(), http::Exchange::Step::Done);
  EXPECT_FALSE(x.reading_body());
  EXPECT_EQ(handler.seen_body, "a=1&b=22");
  EXPECT_EQ(x.outcome().status, 200);
}

TEST_F(Fx, AnAnnouncedBodyOverTheHandlersLimitIs413WithoutReading) {
  handler.limit = 4;
  request(http::Method::Post, "POST", "/form");
  with_body(5);
  host.body_.script = {{http::RequestBody::Status::Data, "12345"}};
  EXPECT_EQ(run(&handler), http::Exchange::Step::Done);
  EXPECT_EQ(x.outcome().status, 413);
  EXPECT_TRUE(host.closing);
  EXPECT_EQ(host.body_.script.size(), 1u);  // nothing was read
  EXPECT_EQ(handler.calls, 0);
}

TEST_F(Fx, AChunkedBodyThatGrowsOverTheLimitIs413) {
  handler.limit = 4;
  request(http::Method::Post, "POST", "/form");
  req.head.chunked = req.body_chunked = true;
  host.body_.script = {{http::RequestBody::Status::Data, "123"}, {http::RequestBody::Status::Data, "45"}};
  EXPECT_EQ(run(&handler), http::Exchange::Step::Done);
  EXPECT_EQ(x.outcome().status, 413);
  EXPECT_TRUE(host.closing);
  EXPECT_EQ(handler.calls, 0);
}

TEST_F(Fx, AMalformedBodyIs400AndAClientThatLeftIsNeverAnswered) {
  handler.limit = 16;
  request(http::Method::Post, "POST", "/form");
  req.head.chunked = req.body_chunked = true;
  host.body_.script = {{http::RequestBody::Status::Bad, ""}};
  run(&handler);
  EXPECT_EQ(x.outcome().status, 400);
  EXPECT_TRUE(host.closing);

  host = ScriptedHost{};
  request(http::Method::Post, "POST", "/form");
  with_body(8);
  host.body_.script = {{http::RequestBody::Status::Data, "ab"}, {http::RequestBody::Status::Gone, ""}};
  run(&handler);
  EXPECT_EQ(x.outcome().kind, http::Exchange::Outcome::Kind::Cut);
  EXPECT_EQ(x.outcome().status, 0);
  EXPECT_TRUE(host.sink_.out.empty());
  EXPECT_EQ(handler.calls, 0);
}

TEST_F(Fx, ABodyThatStopsComingIsAnswered408WhenTheHostTimesItOut) {
  handler.limit = 16;
  request(http::Method::Post, "POST", "/form");
  with_body(8);
  host.body_.script = {{http::RequestBody::Status::Data, "ab"}};
  EXPECT_EQ(run(&handler), http::Exchange::Step::Again);
  x.body_timeout();
  EXPECT_FALSE(x.reading_body());
  EXPECT_EQ(x.proceed(), http::Exchange::Step::Done);
  EXPECT_EQ(x.outcome().status, 408);
  EXPECT_TRUE(host.closing);
  EXPECT_EQ(handler.calls, 0);
}

TEST_F(Fx, NoBodyFor304AndAFileThatShrankEndsTheConnection) {
  class NotModified final : public http::Handler {
    void handle(const http::RequestContext&, http::Response& resp) override {
      resp.status = 304;
      resp.add_text("never sent");
    }
  } nm;
  request(http::Method::Get, "GET", "/a");
  run(&nm);
  EXPECT_EQ(host.sink_.out.find("never sent"), std::string::npos) << host.sink_.out;
  EXPECT_EQ(host.sink_.out.find("Content-Length"), std::string::npos) << host.sink_.out;

  class FileAnswer final : public http::Handler {
    void handle(const http::RequestContext&, http::Response& resp) override {
      resp.add_file(std::make_shared<core::OpenFile>(), 0, 4);
    }
  } fa;
  host = ScriptedHost{};
  host.sink_.file_ok = false;
  request(http::Method::Get, "GET", "/f");
  run(&fa);
  EXPECT_TRUE(host.closing);
  host = ScriptedHost{};
  request(http::Method::Get, "GET", "/f");
  run(&fa);
  EXPECT_FALSE(host.closing);
  EXPECT_NE(host.sink_.out.find("Content-Length: 4\r\n\r\nFFFF"), std::string::npos) << host.sink_.out;
}

}  // namespace
}  // namespace pillar::server

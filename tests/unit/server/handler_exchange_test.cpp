// HandlerExchange and write_response without a socket: a scripted host
// (sink and request body) stands in for the connection, so the content
// phase's rules are checked one by one: the method and target checks, the
// form body read through RequestBody (pieces, limits, malformed, gone,
// timed out), the framing of what the handler answered, and which answers
// end the connection.
#include "server/request/handler_exchange.h"

#include "core/open_file.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>

namespace pillar::server {
namespace {

class ScriptedSink final : public http::ResponseSink {
 public:
  std::string out;
  int heads = 0;
  bool file_ok = true;
  std::string& begin_head(int status, std::string_view) override {
    ++heads;
    out += "HTTP/1.1 " + std::to_string(status) + "\r\n";
    return out;
  }
  void end_head(http::BodyLength body, uint64_t length) override {
    if (body == http::BodyLength::Known) out += "Content-Length: " + std::to_string(length) + "\r\n";
    out += "\r\n";
  }
  void raw(std::string_view bytes) override { out.append(bytes); }
  void body(std::string_view data) override { out.append(data); }
  bool file(std::shared_ptr<const core::OpenFile>, uint64_t, uint64_t length) override {
    if (file_ok) out.append(length, 'F');
    return file_ok;
  }
  bool can_pass_through() const override { return true; }
  Result pass_through(std::span<const iovec>, size_t& taken) override {
    taken = 0;
    return Result::Done;
  }
  bool can_splice() const override { return false; }
  Result splice(int, size_t, size_t& moved) override {
    moved = 0;
    return Result::Error;
  }
  void end_body() override {}
  Result flush() override { return Result::Done; }
  uint64_t pending() const override { return 0; }
  bool writable() const override { return true; }
  uint64_t written() const override { return out.size(); }
  void drop() override { out.clear(); }
};

// Answers each read with the next scripted step.
class ScriptedBody final : public http::RequestBody {
 public:
  struct Piece {
    Status status;
    std::string data;
  };
  std::deque<Piece> script;
  std::string held;
  Status read(std::string_view& data, size_t max) override {
    if (script.empty()) return Status::Again;
    Piece& p = script.front();
    if (p.status != Status::Data) {
      Status st = p.status;
      if (st != Status::Again && st != Status::End) return st;  // Bad / Gone stay
      script.pop_front();
      return st;
    }
    held = p.data.substr(0, max);
    p.data.erase(0, held.size());
    if (p.data.empty()) script.pop_front();
    data = held;
    return Status::Data;
  }
  Status read_raw(std::string_view& data, size_t max) override { return read(data, max); }
  bool chunked() const override { return false; }
  uint64_t left() const override { return 0; }
  bool done() const override { return script.empty(); }
};

class ScriptedHost final : public http::ExchangeHost {
 public:
  ScriptedSink sink_;
  ScriptedBody body_;
  bool closing = false;
  http::ResponseSink& sink() override { return sink_; }
  http::RequestBody& body() override { return body_; }
  void wake() override {}
  void close_after() override { closing = true; }
  void client_gone() override {}
};

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

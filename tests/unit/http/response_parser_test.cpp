// Unit tests for parse_response_head() (src/http/response_parser.cpp),
// RFC 9112 §4 (status line), §5 (fields) and §6.3 (message body length).
// Every error is a 502: the proxy answers its client Bad Gateway.
#include "http/response_parser.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "http/chunked_decoder.h"

using namespace std::string_view_literals;
using namespace std::string_literals;

using pillar::http::ChunkedDecoder;
using pillar::http::ParseOutcome;
using pillar::http::parse_response_head;
using pillar::http::ResponseHead;
using pillar::http::ResponseLimits;
using Framing = pillar::http::ResponseHead::Framing;

namespace {

const char* kind_name(ParseOutcome::Kind k) {
  switch (k) {
    case ParseOutcome::Complete: return "Complete";
    case ParseOutcome::Incomplete: return "Incomplete";
    case ParseOutcome::Error: return "Error";
  }
  return "?";
}

const char* framing_name(Framing f) {
  switch (f) {
    case Framing::ContentLength: return "ContentLength";
    case Framing::Chunked: return "Chunked";
    case Framing::UntilClose: return "UntilClose";
    case Framing::None: return "None";
  }
  return "?";
}

std::string printable(std::string_view s) {
  std::string r;
  for (unsigned char c : s) {
    if (c == '\r') r += "\\r";
    else if (c == '\n') r += "\\n";
    else if (c < 0x20 || c >= 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      r += "\\x";
      r += kHex[c >> 4];
      r += kHex[c & 15];
    } else r += static_cast<char>(c);
  }
  return r;
}

// Owns the bytes so the ResponseHead views stay valid for the test's lifetime.
class Resp {
 public:
  explicit Resp(std::string bytes, bool request_was_head = false, const ResponseLimits& limits = {})
      : buf_(std::move(bytes)) {
    out = parse_response_head(buf_, limits, request_was_head, head);
  }
  Resp(const Resp&) = delete;
  Resp& operator=(const Resp&) = delete;

  const std::string& buf() const { return buf_; }
  bool complete() const { return out.kind == ParseOutcome::Complete; }
  bool incomplete() const { return out.kind == ParseOutcome::Incomplete; }
  bool error() const { return out.kind == ParseOutcome::Error; }
  // For failure messages.
  std::string describe() const {
    return "\"" + printable(buf_) + "\" -> " + kind_name(out.kind) + " " + std::to_string(out.status) + " (" +
           out.reason + ")";
  }

  ResponseHead head;
  ParseOutcome out;

 private:
  std::string buf_;
};

bool inside(std::string_view view, const std::string& buf) {
  return view.data() >= buf.data() && view.data() + view.size() <= buf.data() + buf.size();
}

// Every proper prefix of a valid head must be Incomplete (never Error, never
// Complete), and the whole must be Complete with `consumed` == size.
void expect_incomplete_at_every_split(const std::string& full, bool request_was_head = false,
                                      const ResponseLimits& limits = {}) {
  for (size_t k = 0; k < full.size(); ++k) {
    std::string prefix = full.substr(0, k);
    ResponseHead head;
    ParseOutcome o = parse_response_head(prefix, limits, request_was_head, head);
    EXPECT_EQ(o.kind, ParseOutcome::Incomplete)
        << "prefix of " << k << " bytes: \"" << printable(prefix) << "\" gave " << kind_name(o.kind) << " "
        << o.status << " (" << o.reason << ")";
  }
  ResponseHead head;
  ParseOutcome o = parse_response_head(full, limits, request_was_head, head);
  EXPECT_EQ(o.kind, ParseOutcome::Complete) << printable(full) << " -> " << o.status << " " << o.reason;
  EXPECT_EQ(o.consumed, full.size());
}

std::string ok(std::string_view headers) { return "HTTP/1.1 200 OK\r\n" + std::string(headers) + "\r\n"; }
std::string ok10(std::string_view headers) { return "HTTP/1.0 200 OK\r\n" + std::string(headers) + "\r\n"; }
std::string status(std::string_view status_line, std::string_view headers = "Content-Length: 0\r\n") {
  return std::string(status_line) + "\r\n" + std::string(headers) + "\r\n";
}

ResponseLimits small_limits() {
  ResponseLimits l;
  l.status_line = 64;
  l.field_count = 8;
  l.field_size = 80;
  return l;
}

// ---------------------------------------------------------------------------
// Valid responses, one per framing.

TEST(ResponseParser, ContentLength) {
  Resp r("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.out.consumed, r.buf().size() - 5);
  EXPECT_EQ(r.head.version_major, 1);
  EXPECT_EQ(r.head.version_minor, 1);
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.head.reason, "OK");
  ASSERT_EQ(r.head.headers.size(), 2u);
  EXPECT_EQ(r.head.headers[0].name, "Server");
  EXPECT_EQ(r.head.headers[0].value, "nginx");
  EXPECT_EQ(r.head.framing, Framing::ContentLength);
  EXPECT_EQ(r.head.content_length, 5u);
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_FALSE(r.head.upgrade);
  EXPECT_FALSE(r.head.interim());
}

TEST(ResponseParser, ContentLengthZero) {
  Resp r(ok("Content-Length: 0\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.framing, Framing::ContentLength);
  EXPECT_EQ(r.head.content_length, 0u);
  EXPECT_TRUE(r.head.keep_alive);
}

TEST(ResponseParser, ContentLengthNineteenDigits) {
  Resp r(ok("Content-Length: 9999999999999999999\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.content_length, 9999999999999999999ull);
}

TEST(ResponseParser, ContentLengthListOfIdenticalValues) {
  Resp list(ok("Content-Length: 42, 42 ,42\r\n"));
  ASSERT_TRUE(list.complete()) << list.describe();
  EXPECT_EQ(list.head.content_length, 42u);
  Resp lines(ok("Content-Length: 7\r\nContent-Length: 7\r\n"));
  ASSERT_TRUE(lines.complete()) << lines.describe();
  EXPECT_EQ(lines.head.content_length, 7u);
  EXPECT_EQ(lines.head.framing, Framing::ContentLength);
}

TEST(ResponseParser, Chunked) {
  Resp r(ok("Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.framing, Framing::Chunked);
  EXPECT_EQ(r.head.content_length, 0u);
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_EQ(r.buf().substr(r.out.consumed), "5\r\nhello\r\n0\r\n\r\n");
}

TEST(ResponseParser, ChunkedCaseInsensitiveAndLastOfSeveralCodings) {
  for (std::string te : {"Transfer-Encoding: CHUNKED\r\n", "Transfer-Encoding: gzip, chunked\r\n",
                         "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                         "Transfer-Encoding: gzip,, chunked ,\r\n"}) {
    Resp r(ok(te));
    ASSERT_TRUE(r.complete()) << r.describe();
    EXPECT_EQ(r.head.framing, Framing::Chunked) << printable(te);
    EXPECT_TRUE(r.head.keep_alive) << printable(te);
  }
}

TEST(ResponseParser, ChunkedBodyDecodesWithChunkedDecoder) {
  Resp r(ok("Transfer-Encoding: chunked\r\n") + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n");
  ASSERT_TRUE(r.complete()) << r.describe();
  ASSERT_EQ(r.head.framing, Framing::Chunked);
  std::string_view rest = std::string_view(r.buf()).substr(r.out.consumed);
  ChunkedDecoder d;
  std::string body;
  while (true) {
    ChunkedDecoder::Step st = d.next(rest);
    rest.remove_prefix(st.consumed);
    if (st.kind == ChunkedDecoder::Step::Data) {
      body.append(st.data);
      continue;
    }
    ASSERT_EQ(st.kind, ChunkedDecoder::Step::Done) << st.reason;
    break;
  }
  EXPECT_EQ(body, "hello world");
  EXPECT_TRUE(rest.empty());
}

TEST(ResponseParser, TransferEncodingWithoutFinalChunkedReadsUntilClose) {
  for (std::string te : {"Transfer-Encoding: gzip\r\n", "Transfer-Encoding: chunked, gzip\r\n",
                         "Transfer-Encoding: chunked\r\nTransfer-Encoding: br\r\n"}) {
    Resp r(ok(te));
    ASSERT_TRUE(r.complete()) << r.describe();
    EXPECT_EQ(r.head.framing, Framing::UntilClose) << printable(te);
    EXPECT_FALSE(r.head.keep_alive) << printable(te);
  }
}

TEST(ResponseParser, TransferEncodingOverridesContentLengthAndClosesAfter) {
  Resp r(ok("Content-Length: 100\r\nTransfer-Encoding: chunked\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.framing, Framing::Chunked);
  EXPECT_EQ(r.head.content_length, 0u);
  EXPECT_FALSE(r.head.keep_alive);
  Resp until(ok("Transfer-Encoding: gzip\r\nContent-Length: 100\r\n"));
  ASSERT_TRUE(until.complete()) << until.describe();
  EXPECT_EQ(until.head.framing, Framing::UntilClose);
  EXPECT_FALSE(until.head.keep_alive);
}

TEST(ResponseParser, NoFramingHeadersReadsUntilClose) {
  Resp r(ok("Content-Type: text/html\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.framing, Framing::UntilClose);
  EXPECT_FALSE(r.head.keep_alive);
  Resp r10(ok10("Connection: keep-alive\r\n"));
  ASSERT_TRUE(r10.complete()) << r10.describe();
  EXPECT_EQ(r10.head.framing, Framing::UntilClose);
  EXPECT_FALSE(r10.head.keep_alive);
}

TEST(ResponseParser, Http10) {
  Resp r(ok10("Content-Length: 3\r\n") + "abc");
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.version_major, 1);
  EXPECT_EQ(r.head.version_minor, 0);
  EXPECT_EQ(r.head.framing, Framing::ContentLength);
  EXPECT_FALSE(r.head.keep_alive);
}

// ---------------------------------------------------------------------------
// Responses without a body (RFC 9112 §6.3 items 1 and 2).

TEST(ResponseParser, HeadResponseHasNoBodyWhateverTheHeadersSay) {
  for (std::string h : {"Content-Length: 1234\r\n", "Transfer-Encoding: chunked\r\n", "",
                        "Transfer-Encoding: gzip\r\n"}) {
    Resp r(ok(h), /*request_was_head=*/true);
    ASSERT_TRUE(r.complete()) << r.describe();
    EXPECT_EQ(r.head.framing, Framing::None) << printable(h);
    EXPECT_EQ(r.head.content_length, 0u);
    EXPECT_TRUE(r.head.keep_alive) << printable(h);
    EXPECT_EQ(r.out.consumed, r.buf().size());
  }
  // The representation's length is still there for the caller to forward.
  Resp r(ok("Content-Length: 1234\r\n"), true);
  EXPECT_EQ(r.head.find("content-length"), "1234");
}

TEST(ResponseParser, NotModifiedAndNoContentHaveNoBody) {
  for (std::string line : {"HTTP/1.1 304 Not Modified", "HTTP/1.1 204 No Content"}) {
    for (std::string h : {"Content-Length: 512\r\n", "Transfer-Encoding: chunked\r\n", "ETag: \"x\"\r\n"}) {
      Resp r(status(line, h) + "HTTP/1.1 200 OK\r\n");  // the next response follows directly
      ASSERT_TRUE(r.complete()) << r.describe();
      EXPECT_EQ(r.head.framing, Framing::None) << r.describe();
      EXPECT_TRUE(r.head.keep_alive) << r.describe();
      EXPECT_EQ(r.out.consumed, r.buf().size() - "HTTP/1.1 200 OK\r\n"sv.size());
    }
  }
}

TEST(ResponseParser, ContinueThenFinalResponseInOneBuffer) {
  const std::string buf = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  ResponseHead head;
  ParseOutcome o = parse_response_head(buf, {}, false, head);
  ASSERT_EQ(o.kind, ParseOutcome::Complete) << o.reason;
  EXPECT_EQ(o.consumed, "HTTP/1.1 100 Continue\r\n\r\n"sv.size());
  EXPECT_EQ(head.status, 100);
  EXPECT_EQ(head.reason, "Continue");
  EXPECT_TRUE(head.interim());
  EXPECT_EQ(head.framing, Framing::None);
  EXPECT_TRUE(head.headers.empty());

  std::string_view rest = std::string_view(buf).substr(o.consumed);
  o = parse_response_head(rest, {}, false, head);
  ASSERT_EQ(o.kind, ParseOutcome::Complete) << o.reason;
  EXPECT_EQ(head.status, 201);
  EXPECT_FALSE(head.interim());
  EXPECT_EQ(head.framing, Framing::ContentLength);
  EXPECT_EQ(head.content_length, 2u);
  EXPECT_EQ(rest.substr(o.consumed), "ok");
}

TEST(ResponseParser, EarlyHintsCarryHeadersAndNoBody) {
  const std::string buf =
      "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  ResponseHead head;
  ParseOutcome o = parse_response_head(buf, {}, false, head);
  ASSERT_EQ(o.kind, ParseOutcome::Complete) << o.reason;
  EXPECT_EQ(head.status, 103);
  EXPECT_TRUE(head.interim());
  EXPECT_EQ(head.framing, Framing::None);
  EXPECT_EQ(head.find("link"), "</s.css>; rel=preload");
  // Even a (bogus) Content-Length on an interim response frames nothing.
  Resp r(status("HTTP/1.1 100 Continue", "Content-Length: 10\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.framing, Framing::None);
}

TEST(ResponseParser, SwitchingProtocolsIsAnUpgrade) {
  Resp r(status("HTTP/1.1 101 Switching Protocols",
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") +
         "\x81\x05hello");
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.status, 101);
  EXPECT_TRUE(r.head.upgrade);
  EXPECT_FALSE(r.head.interim());
  EXPECT_FALSE(r.head.keep_alive);
  EXPECT_EQ(r.head.framing, Framing::None);
  EXPECT_EQ(r.buf().substr(r.out.consumed), "\x81\x05hello");
}

TEST(ResponseParser, UpgradeAdvertisedOnA200IsNotAnUpgrade) {
  // Apache advertises h2c this way on ordinary responses.
  Resp r(ok("Upgrade: h2,h2c\r\nConnection: Upgrade\r\nContent-Length: 1\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_FALSE(r.head.upgrade);
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_EQ(r.head.framing, Framing::ContentLength);
}

// ---------------------------------------------------------------------------
// Status line details.

TEST(ResponseParser, ReasonPhraseMayBeMissingOrEmpty) {
  Resp missing(status("HTTP/1.1 200"));
  ASSERT_TRUE(missing.complete()) << missing.describe();
  EXPECT_EQ(missing.head.status, 200);
  EXPECT_TRUE(missing.head.reason.empty());
  Resp empty(status("HTTP/1.1 404 "));
  ASSERT_TRUE(empty.complete()) << empty.describe();
  EXPECT_EQ(empty.head.status, 404);
  EXPECT_TRUE(empty.head.reason.empty());
}

TEST(ResponseParser, ReasonPhraseKeptAsReceived) {
  Resp r(status("HTTP/1.1 418 I'm a\tteapot \xe9t\xe9 "));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.status, 418);
  EXPECT_EQ(r.head.reason, "I'm a\tteapot \xe9t\xe9 ");
  EXPECT_TRUE(inside(r.head.reason, r.buf()));
}

TEST(ResponseParser, StatusCodeRangeBounds) {
  for (std::string_view line : {"HTTP/1.1 199 X"sv, "HTTP/1.1 599 Custom"sv, "HTTP/1.0 500 Oops"sv}) {
    Resp r(status(line));
    ASSERT_TRUE(r.complete()) << r.describe();
  }
  Resp r(status("HTTP/1.1 599 Custom"));
  EXPECT_EQ(r.head.status, 599);
}

// ---------------------------------------------------------------------------
// Header fields.

TEST(ResponseParser, HeaderValuesAreTrimmed) {
  Resp r(ok("X-A:   spaced  out \t \r\nX-B:\tx\r\nX-Empty:\r\nX-Blank:  \t \r\nContent-Length:0\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  ASSERT_EQ(r.head.headers.size(), 5u);
  EXPECT_EQ(r.head.headers[0].value, "spaced  out");
  EXPECT_EQ(r.head.headers[1].value, "x");
  EXPECT_EQ(r.head.headers[2].value, "");
  EXPECT_EQ(r.head.headers[3].value, "");
  EXPECT_EQ(r.head.headers[4].value, "0");
  EXPECT_EQ(r.head.content_length, 0u);
}

TEST(ResponseParser, FindIsCaseInsensitiveAndReturnsFirst) {
  Resp r(ok("Set-Cookie: a=1\r\nset-cookie: b=2\r\nX-Empty:\r\nContent-Length: 0\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.find("SET-COOKIE"), "a=1");
  EXPECT_TRUE(r.head.has("x-empty"));
  EXPECT_EQ(r.head.find("x-empty"), "");
  EXPECT_FALSE(r.head.has("Location"));
  EXPECT_TRUE(r.head.find("Location").empty());
}

TEST(ResponseParser, ViewsPointIntoTheBuffer) {
  Resp r(ok("Server: Apache/2.4\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_TRUE(inside(r.head.reason, r.buf()));
  for (const auto& h : r.head.headers) {
    EXPECT_TRUE(inside(h.name, r.buf()));
    EXPECT_TRUE(inside(h.value, r.buf()));
  }
}

TEST(ResponseParser, ValuesMayHoldObsTextAndOddButLegalCharacters) {
  Resp r(ok("X-Latin: caf\xe9\r\nX-Quote: \"a:b, c\"\r\nX_Under: 1\r\nContent-Length: 0\r\n"));
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.find("x-latin"), "caf\xe9");
  EXPECT_EQ(r.head.find("x_under"), "1");
}

TEST(ResponseParser, ResetAndReuseClearsEverything) {
  ResponseHead head;
  const std::string big = status("HTTP/1.1 101 Switching Protocols", "Upgrade: ws\r\nConnection: upgrade\r\n");
  ASSERT_EQ(parse_response_head(big, {}, false, head).kind, ParseOutcome::Complete);
  EXPECT_TRUE(head.upgrade);
  const std::string small = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n";
  ASSERT_EQ(parse_response_head(small, {}, false, head).kind, ParseOutcome::Complete);
  EXPECT_FALSE(head.upgrade);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.headers.size(), 1u);
  EXPECT_EQ(head.status, 200);
  head.reset();
  EXPECT_EQ(head.status, 0);
  EXPECT_TRUE(head.headers.empty());
  EXPECT_TRUE(head.reason.empty());
  EXPECT_EQ(head.framing, Framing::None);
  EXPECT_EQ(head.content_length, 0u);
}

TEST(ResponseParser, EmptyInputIsIncomplete) {
  ResponseHead head;
  ParseOutcome o = parse_response_head(std::string_view(), {}, false, head);
  EXPECT_EQ(o.kind, ParseOutcome::Incomplete);
  EXPECT_EQ(o.consumed, 0u);
}

// ---------------------------------------------------------------------------
// Keep-alive matrix.

struct KeepAliveCase {
  std::string name;
  std::string input;
  bool request_was_head;
  bool keep_alive;
  Framing framing;
};

void PrintTo(const KeepAliveCase& c, std::ostream* os) { *os << c.name << ": \"" << printable(c.input) << "\""; }

class ResponseKeepAlive : public ::testing::TestWithParam<KeepAliveCase> {};

TEST_P(ResponseKeepAlive, Matrix) {
  const KeepAliveCase& c = GetParam();
  Resp r(c.input, c.request_was_head);
  ASSERT_TRUE(r.complete()) << r.describe();
  EXPECT_EQ(r.head.keep_alive, c.keep_alive);
  EXPECT_EQ(framing_name(r.head.framing), std::string(framing_name(c.framing)));
}

const std::vector<KeepAliveCase> kKeepAlive = {
    {"H11Default", ok("Content-Length: 1\r\n"), false, true, Framing::ContentLength},
    {"H11Close", ok("Connection: close\r\nContent-Length: 1\r\n"), false, false, Framing::ContentLength},
    {"H11CloseUpperCase", ok("Connection: CLOSE\r\nContent-Length: 1\r\n"), false, false, Framing::ContentLength},
    {"H11KeepAliveToken", ok("Connection: keep-alive\r\nContent-Length: 1\r\n"), false, true, Framing::ContentLength},
    {"H11KeepAliveAndClose", ok("Connection: Keep-Alive, close\r\nContent-Length: 1\r\n"), false, false,
     Framing::ContentLength},
    {"H11CloseOnSecondConnectionLine", ok("Connection: foo\r\nConnection: close\r\nContent-Length: 1\r\n"), false,
     false, Framing::ContentLength},
    {"H11CloseInsideOtherToken", ok("Connection: closed\r\nContent-Length: 1\r\n"), false, true,
     Framing::ContentLength},
    {"H11Chunked", ok("Transfer-Encoding: chunked\r\n"), false, true, Framing::Chunked},
    {"H11ChunkedClose", ok("Transfer-Encoding: chunked\r\nConnection: close\r\n"), false, false, Framing::Chunked},
    {"H11UntilClose", ok(""), false, false, Framing::UntilClose},
    {"H11HeadNoLength", ok(""), true, true, Framing::None},
    {"H11HeadClose", ok("Connection: close\r\n"), true, false, Framing::None},
    {"H11NoContent", status("HTTP/1.1 204 No Content", ""), false, true, Framing::None},
    {"H11NotModifiedClose", status("HTTP/1.1 304 Not Modified", "Connection: close\r\n"), false, false,
     Framing::None},
    {"H10Default", ok10("Content-Length: 1\r\n"), false, false, Framing::ContentLength},
    {"H10KeepAlive", ok10("Connection: keep-alive\r\nContent-Length: 1\r\n"), false, true, Framing::ContentLength},
    {"H10KeepAliveUpperCase", ok10("Connection: KEEP-ALIVE\r\nContent-Length: 1\r\n"), false, true,
     Framing::ContentLength},
    {"H10KeepAliveInList", ok10("Connection: foo, keep-alive\r\nContent-Length: 1\r\n"), false, true,
     Framing::ContentLength},
    {"H10KeepAliveAndClose", ok10("Connection: keep-alive\r\nConnection: close\r\nContent-Length: 1\r\n"), false,
     false, Framing::ContentLength},
    {"H10KeepAliveUntilClose", ok10("Connection: keep-alive\r\n"), false, false, Framing::UntilClose},
    {"H10HeadKeepAlive", ok10("Connection: keep-alive\r\n"), true, true, Framing::None},
    {"H10HeadDefault", ok10(""), true, false, Framing::None},
    {"H11TeAndCl", ok("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"), false, false, Framing::Chunked},
};

INSTANTIATE_TEST_SUITE_P(Response, ResponseKeepAlive, ::testing::ValuesIn(kKeepAlive),
                         [](const ::testing::TestParamInfo<KeepAliveCase>& i) { return i.param.name; });

// ---------------------------------------------------------------------------
// Malformed responses: every one is a 502.

struct BadCase {
  std::string name;
  std::string input;
  bool request_was_head = false;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name << ": \"" << printable(c.input) << "\""; }

std::vector<BadCase> bad_cases() {
  std::string long_reason(64, 'r');
  std::string long_field = "X-Big: " + std::string(74, 'v');  // 81 bytes > 80
  std::string many;
  for (int i = 0; i < 9; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  std::string nine_te;
  for (int i = 0; i < 9; ++i) nine_te += "Transfer-Encoding: gzip\r\n";
  return {
      // --- line endings
      {"BareLfEndsStatusLine", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"},
      {"BareLfEndsHeaderLine", "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n"},
      {"BareLfEndsHead", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"},
      {"AllBareLf", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"},
      {"BareCrInReason", status("HTTP/1.1 200 O\rK")},
      {"CrCrLfEndsStatusLine", "HTTP/1.1 200 OK\r\r\nContent-Length: 0\r\n\r\n"},
      {"BareCrInHeaderValue", ok("X-A: a\rb\r\nContent-Length: 0\r\n")},
      {"CrCrLfEndsHeaderLine", ok("Content-Length: 0\r\r\n")},
      {"LoneCrLineInHead", ok("Content-Length: 0\r\n\r\r\n")},
      {"EmptyLineBeforeStatusLine", "\r\n" + status("HTTP/1.1 200 OK")},
      {"SpaceBeforeStatusLine", " " + status("HTTP/1.1 200 OK")},
      // --- status line
      {"LowerCaseHttp", status("http/1.1 200 OK")},
      {"Http2", status("HTTP/2.0 200 OK")},
      {"Http2NoMinor", status("HTTP/2 200 OK")},
      {"Http12", status("HTTP/1.2 200 OK")},
      {"Http09", status("HTTP/0.9 200 OK")},
      {"VersionNoMinor", status("HTTP/1 200 OK")},
      {"VersionTwoDigitMinor", status("HTTP/1.10 200 OK")},
      {"Icy", status("ICY 200 OK")},
      {"VersionOnly", status("HTTP/1.1")},
      {"VersionAndSpace", status("HTTP/1.1 ")},
      {"TwoDigitStatus", status("HTTP/1.1 20 OK")},
      {"TwoDigitStatusNoReason", status("HTTP/1.1 20")},
      {"FourDigitStatus", status("HTTP/1.1 2000 OK")},
      {"StatusBelow100", status("HTTP/1.1 099 Low")},
      {"StatusZero", status("HTTP/1.1 000 Zero")},
      {"StatusAbove599", status("HTTP/1.1 600 High")},
      {"StatusNotDigits", status("HTTP/1.1 2x0 OK")},
      {"DoubleSpaceBeforeStatus", status("HTTP/1.1  200 OK")},
      {"TabBeforeStatus", status("HTTP/1.1\t200 OK")},
      {"TabAfterStatus", status("HTTP/1.1 200\tOK")},
      {"NulInReason", status("HTTP/1.1 200 O\0K"s)},
      {"DelInReason", status("HTTP/1.1 200 O\x7fK")},
      {"EscInReason", status("HTTP/1.1 200 \x1b[31mOK")},
      {"EmptyStatusLine", "\r\nContent-Length: 0\r\n\r\n"},
      {"StatusLineTooLong", status("HTTP/1.1 200 " + long_reason)},
      // --- header fields
      {"ObsFold", ok("X-A: a\r\n b\r\nContent-Length: 0\r\n")},
      {"ObsFoldTab", ok("X-A: a\r\n\tb\r\nContent-Length: 0\r\n")},
      {"FirstHeaderStartsWithSpace", ok(" Content-Length: 0\r\n")},
      {"SpaceBeforeColon", ok("Content-Length : 0\r\n")},
      {"TabBeforeColon", ok("Transfer-Encoding\t: chunked\r\n")},
      {"EmptyFieldName", ok(": x\r\nContent-Length: 0\r\n")},
      {"InvalidCharInName", ok("X@A: b\r\nContent-Length: 0\r\n")},
      {"SpaceInsideName", ok("X A: b\r\nContent-Length: 0\r\n")},
      {"NoColon", ok("Content-Length 0\r\n")},
      {"NulInValue", ok("X-A: a\0b\r\nContent-Length: 0\r\n"s)},
      {"DelInValue", ok("X-A: a\x7f\r\nContent-Length: 0\r\n")},
      {"HeaderFieldTooLarge", ok(long_field + "\r\nContent-Length: 0\r\n")},
      {"TooManyHeaderFields", ok(many)},
      // --- Content-Length
      {"ContentLengthNotDigits", ok("Content-Length: abc\r\n")},
      {"ContentLengthNegative", ok("Content-Length: -1\r\n")},
      {"ContentLengthPlus", ok("Content-Length: +1\r\n")},
      {"ContentLengthEmpty", ok("Content-Length:\r\n")},
      {"ContentLengthHex", ok("Content-Length: 0x10\r\n")},
      {"ContentLengthInnerSpace", ok("Content-Length: 1 2\r\n")},
      {"ContentLengthDecimal", ok("Content-Length: 1.0\r\n")},
      {"ContentLengthTwentyDigits", ok("Content-Length: 18446744073709551616\r\n")},
      {"ContentLengthDifferingLines", ok("Content-Length: 5\r\nContent-Length: 6\r\n")},
      {"ContentLengthDifferingList", ok("Content-Length: 5, 6\r\n")},
      {"ContentLengthEmptyListItem", ok("Content-Length: 5,\r\n")},
      {"ContentLengthInvalidOn304", status("HTTP/1.1 304 Not Modified", "Content-Length: x\r\n")},
      {"ContentLengthInvalidOnHead", ok("Content-Length: 1, 2\r\n"), true},
      {"ContentLengthInvalidWithChunked", ok("Transfer-Encoding: chunked\r\nContent-Length: nope\r\n")},
      // --- Transfer-Encoding
      {"TransferEncodingInHttp10", ok10("Transfer-Encoding: chunked\r\n")},
      {"TransferEncodingInHttp10WithLength", ok10("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")},
      {"TransferEncodingEmpty", ok("Transfer-Encoding:\r\n")},
      {"TransferEncodingOnlyCommas", ok("Transfer-Encoding: , ,\r\n")},
      {"ChunkedTwice", ok("Transfer-Encoding: chunked, chunked\r\n")},
      {"ChunkedTwiceOverTwoLines", ok("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")},
      {"ChunkedWithParameter", ok("Transfer-Encoding: chunked;q=1\r\n")},
      {"CodingNotAToken", ok("Transfer-Encoding: chu\"nked\r\n")},
      {"CodingWithInnerSpace", ok("Transfer-Encoding: chun ked\r\n")},
      {"CodingEmptyBeforeParameter", ok("Transfer-Encoding: ;x=1, chunked\r\n")},
      {"TooManyTransferEncodingFields", ok(nine_te)},
      // --- 101
      {"SwitchingWithoutUpgradeField", status("HTTP/1.1 101 Switching Protocols", "Connection: upgrade\r\n")},
      {"SwitchingWithEmptyUpgradeField",
       status("HTTP/1.1 101 Switching Protocols", "Connection: upgrade\r\nUpgrade:\r\n")},
      {"SwitchingWithoutConnectionUpgrade", status("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket\r\n")},
      {"SwitchingInHttp10", status("HTTP/1.0 101 Switching Protocols", "Upgrade: ws\r\nConnection: upgrade\r\n")},
  };
}

class ResponseMalformed : public ::testing::TestWithParam<BadCase> {};

TEST_P(ResponseMalformed, IsRejectedWith502) {
  const BadCase& c = GetParam();
  Resp r(c.input, c.request_was_head, small_limits());
  EXPECT_TRUE(r.error()) << r.describe();
  EXPECT_EQ(r.out.status, 502) << r.describe();
  EXPECT_STRNE(r.out.reason, "") << r.describe();
}

INSTANTIATE_TEST_SUITE_P(Response, ResponseMalformed, ::testing::ValuesIn(bad_cases()),
                         [](const ::testing::TestParamInfo<BadCase>& i) { return i.param.name; });

TEST(ResponseParser, MalformedCasesOtherThanLimitsAlsoFailWithDefaultLimits) {
  for (const BadCase& c : bad_cases()) {
    if (c.name.find("TooLong") != std::string::npos || c.name.find("TooLarge") != std::string::npos ||
        c.name == "TooManyHeaderFields")
      continue;
    Resp r(c.input, c.request_was_head);
    EXPECT_TRUE(r.error()) << c.name << ": " << r.describe();
    EXPECT_EQ(r.out.status, 502) << c.name;
  }
}

// ---------------------------------------------------------------------------
// Errors found before the head is complete.

TEST(ResponseParser, NonHttpPeerRefusedBeforeAnyLineEnds) {
  for (std::string_view partial : {"\x16\x03\x01\x02\x00"sv, "SSH-2.0-OpenSSH"sv, "HTTP/2"sv, "HTTP/1.2"sv,
                                   "http"sv, "HTTP/1.1 2x"sv, "HTTP/1.1 600"sv, "HTTP/1.1 200\t"sv,
                                   "HTTP/1.1 200 O\x01"sv, "<html>"sv, "\n"sv}) {
    Resp r{std::string(partial)};
    EXPECT_TRUE(r.error()) << r.describe();
    EXPECT_EQ(r.out.status, 502) << r.describe();
  }
}

TEST(ResponseParser, HeaderErrorReportedBeforeTheHeadEnds) {
  Resp r("HTTP/1.1 200 OK\r\nBad Name: x\r\n");
  EXPECT_TRUE(r.error()) << r.describe();
  Resp lf("HTTP/1.1 200 OK\r\nX-A: b\nX-B");
  EXPECT_TRUE(lf.error()) << lf.describe();
}

// ---------------------------------------------------------------------------
// Limits: exact boundaries, and refusal of partial input.

TEST(ResponseParser, StatusLineLimitBoundary) {
  ResponseLimits l = small_limits();
  std::string at = "HTTP/1.1 200 " + std::string(l.status_line - 13, 'r');
  ASSERT_EQ(at.size(), l.status_line);
  Resp fits(status(at), false, l);
  EXPECT_TRUE(fits.complete()) << fits.describe();
  Resp over(status(at + "r"), false, l);
  EXPECT_TRUE(over.error()) << over.describe();
  EXPECT_EQ(over.out.status, 502);
  // Partial: the line at the limit plus its CR is still waiting for the LF ...
  Resp waiting(at + "\r", false, l);
  EXPECT_TRUE(waiting.incomplete()) << waiting.describe();
  // ... one more byte without a line end is refused at once.
  Resp endless(at + "r", false, l);
  EXPECT_TRUE(endless.error()) << endless.describe();
  EXPECT_EQ(endless.out.status, 502);
}

TEST(ResponseParser, FieldSizeLimitBoundary) {
  ResponseLimits l = small_limits();
  std::string field = "X-Big: " + std::string(l.field_size - 7, 'v');
  ASSERT_EQ(field.size(), l.field_size);
  Resp fits(ok(field + "\r\nContent-Length: 0\r\n"), false, l);
  EXPECT_TRUE(fits.complete()) << fits.describe();
  Resp over(ok(field + "v\r\nContent-Length: 0\r\n"), false, l);
  EXPECT_TRUE(over.error()) << over.describe();
  Resp waiting("HTTP/1.1 200 OK\r\n" + field + "\r", false, l);
  EXPECT_TRUE(waiting.incomplete()) << waiting.describe();
  Resp endless("HTTP/1.1 200 OK\r\n" + field + "v", false, l);
  EXPECT_TRUE(endless.error()) << endless.describe();
  EXPECT_EQ(endless.out.status, 502);
}

TEST(ResponseParser, FieldCountLimitBoundary) {
  ResponseLimits l = small_limits();  // 8 fields
  std::string eight;
  for (int i = 0; i < 7; ++i) eight += "X-" + std::to_string(i) + ": v\r\n";
  eight += "Content-Length: 0\r\n";
  Resp fits(ok(eight), false, l);
  ASSERT_TRUE(fits.complete()) << fits.describe();
  EXPECT_EQ(fits.head.headers.size(), 8u);
  // A ninth field is refused as soon as its first byte arrives.
  Resp ninth("HTTP/1.1 200 OK\r\n" + eight + "X", false, l);
  EXPECT_TRUE(ninth.error()) << ninth.describe();
  EXPECT_EQ(ninth.out.status, 502);
  // While the final CRLF is arriving it is not.
  Resp cr("HTTP/1.1 200 OK\r\n" + eight + "\r", false, l);
  EXPECT_TRUE(cr.incomplete()) << cr.describe();
}

TEST(ResponseParser, DefaultLimitsRefuseHugeLineAndField) {
  Resp line(status("HTTP/1.1 200 " + std::string(9000, 'r')));
  EXPECT_TRUE(line.error()) << line.describe();
  Resp field(ok("X-Big: " + std::string(9000, 'v') + "\r\n"));
  EXPECT_TRUE(field.error()) << field.describe();
  std::string many;
  for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  Resp count(ok(many));
  EXPECT_TRUE(count.error()) << count.describe();
}

// ---------------------------------------------------------------------------
// Incomplete at every split point.

TEST(ResponseParser, IncompleteAtEverySplitContentLength) {
  expect_incomplete_at_every_split(
      "HTTP/1.1 200 OK\r\nServer: nginx/1.25\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 5\r\n"
      "Connection: keep-alive\r\n\r\n");
}

TEST(ResponseParser, IncompleteAtEverySplitChunked) {
  expect_incomplete_at_every_split(ok("Transfer-Encoding: chunked\r\nX-Empty:\r\nX-Pad:  a  \r\n"));
}

TEST(ResponseParser, IncompleteAtEverySplitNoReasonAndNoHeaders) {
  expect_incomplete_at_every_split("HTTP/1.0 204\r\n\r\n");
  expect_incomplete_at_every_split("HTTP/1.1 304 \r\n\r\n");
}

TEST(ResponseParser, IncompleteAtEverySplitHeadAndUpgrade) {
  expect_incomplete_at_every_split(ok("Content-Length: 10\r\n"), /*request_was_head=*/true);
  expect_incomplete_at_every_split(
      status("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket\r\nConnection: Upgrade\r\n"));
}

TEST(ResponseParser, IncompleteAtEverySplitAtTheLimits) {
  ResponseLimits l = small_limits();
  std::string at = "HTTP/1.1 200 " + std::string(l.status_line - 13, 'r');
  std::string field = "X-Big: " + std::string(l.field_size - 7, 'v');
  std::string headers;
  for (int i = 0; i < 7; ++i) headers += "X-" + std::to_string(i) + ": v\r\n";
  expect_incomplete_at_every_split(status(at, headers + field + "\r\n"), false, l);
}

TEST(ResponseParser, SplitAcrossInterimResponse) {
  // Prefixes of the 100 head are Incomplete; once it is whole it alone is Complete.
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  const std::string final_ = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  expect_incomplete_at_every_split(interim);
  for (size_t k = 0; k <= final_.size(); ++k) {
    std::string buf = interim + final_.substr(0, k);
    ResponseHead head;
    ParseOutcome o = parse_response_head(buf, {}, false, head);
    ASSERT_EQ(o.kind, ParseOutcome::Complete);
    EXPECT_EQ(o.consumed, interim.size());
    EXPECT_EQ(head.status, 100);
  }
}

}  // namespace

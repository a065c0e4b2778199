// Unit tests for ChunkedDecoder (src/http/chunked_decoder.cpp), RFC 9112 §7.1.
// Every valid body is decoded fed whole, byte by byte and in every piece size,
// and all feedings must agree. The "ChunkedDecoderRfc" suite is written to
// the RFC where the decoder is believed to be too lenient.
#include "http/chunked_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <string_view>

using namespace std::string_view_literals;
using pillar::http::ChunkedDecoder;
using Step = pillar::http::ChunkedDecoder::Step;

namespace pillar::http {
inline void PrintTo(ChunkedDecoder::Step::Kind k, std::ostream* os) {
  switch (k) {
    case ChunkedDecoder::Step::Data: *os << "Data"; return;
    case ChunkedDecoder::Step::NeedMore: *os << "NeedMore"; return;
    case ChunkedDecoder::Step::Done: *os << "Done"; return;
    case ChunkedDecoder::Step::Error: *os << "Error"; return;
  }
}
}  // namespace pillar::http

namespace {

struct Decoded {
  Step::Kind kind = Step::NeedMore;  // final: Done, Error, or NeedMore when input ran out
  std::string body;
  size_t consumed = 0;  // total input bytes consumed
  uint64_t body_bytes = 0;
  std::string reason;
};

// Feeds `input` in pieces of `piece` bytes (0 = all at once), the way a
// connection would: unconsumed bytes stay pending and new bytes are appended.
Decoded decode(std::string_view input, size_t piece = 0) {
  if (piece == 0) piece = input.size() ? input.size() : 1;
  ChunkedDecoder d;
  Decoded r;
  std::string pending;
  size_t fed = 0;
  while (true) {
    std::string_view in = pending;
    while (true) {
      Step st = d.next(in);
      EXPECT_LE(st.consumed, in.size());
      r.consumed += st.consumed;
      if (st.kind == Step::Data) {
        EXPECT_FALSE(st.data.empty()) << "a Data step carries bytes";
        EXPECT_GE(st.data.data(), in.data()) << "Data is a view into the input";
        EXPECT_LE(st.data.data() + st.data.size(), in.data() + in.size());
        EXPECT_EQ(st.data.data() + st.data.size(), in.data() + st.consumed) << "data ends where consumed ends";
        r.body.append(st.data);
        in.remove_prefix(st.consumed);
        if (st.consumed == 0) {
          ADD_FAILURE() << "Data step consumed nothing";
          return r;
        }
        continue;
      }
      in.remove_prefix(st.consumed);
      if (st.kind == Step::Done || st.kind == Step::Error) {
        r.kind = st.kind;
        r.reason = st.reason;
        r.body_bytes = d.body_bytes();
        return r;
      }
      break;  // NeedMore
    }
    pending = std::string(in);
    if (fed == input.size()) {
      r.kind = Step::NeedMore;
      r.body_bytes = d.body_bytes();
      return r;
    }
    size_t n = std::min(piece, input.size() - fed);
    pending.append(input.substr(fed, n));
    fed += n;
  }
}

// Decodes whole, byte by byte and in every piece size; all must agree.
void expect_decodes(std::string_view input, std::string_view body, size_t consumed) {
  for (size_t piece = 0; piece <= input.size(); ++piece) {
    Decoded r = decode(input, piece);
    ASSERT_EQ(r.kind, Step::Done) << "piece " << piece << ": " << r.reason;
    EXPECT_EQ(r.body, body) << "piece " << piece;
    EXPECT_EQ(r.consumed, consumed) << "piece " << piece;
    EXPECT_EQ(r.body_bytes, body.size()) << "piece " << piece;
  }
}
void expect_decodes(std::string_view input, std::string_view body) { expect_decodes(input, body, input.size()); }

// Error whichever way the input is fed.
void expect_error(std::string_view input) {
  for (size_t piece : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{7}}) {
    Decoded r = decode(input, piece);
    EXPECT_EQ(r.kind, Step::Error) << "piece " << piece << " of \"" << input << "\"";
    if (r.kind == Step::Error) {
      EXPECT_NE(r.reason, "") << "errors carry a reason";
    }
  }
}

// Incomplete (not Done, not Error) whichever way it is fed.
void expect_need_more(std::string_view input) {
  for (size_t piece : {size_t{0}, size_t{1}}) {
    Decoded r = decode(input, piece);
    EXPECT_EQ(r.kind, Step::NeedMore) << "piece " << piece << ": " << r.reason;
  }
}

// ---------------------------------------------------------------------------
// Valid bodies.

TEST(ChunkedDecoder, SingleChunk) { expect_decodes("5\r\nhello\r\n0\r\n\r\n", "hello"); }

TEST(ChunkedDecoder, EmptyBody) { expect_decodes("0\r\n\r\n", ""); }

TEST(ChunkedDecoder, SeveralChunks) {
  expect_decodes("4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n", "Wikipedia in\r\n\r\nchunks.");
}

TEST(ChunkedDecoder, HexDigitsBothCases) {
  const std::string ten = "0123456789";
  const std::string s26(26, 'x');
  expect_decodes("a\r\n" + ten + "\r\nA\r\n" + ten + "\r\n1a\r\n" + s26 + "\r\n1A\r\n" + s26 + "\r\n0\r\n\r\n",
                 ten + ten + s26 + s26);
}

TEST(ChunkedDecoder, LeadingZerosInSize) {
  expect_decodes("0005\r\nhello\r\n000\r\n\r\n", "hello");
  expect_decodes("0000000000000005\r\nhello\r\n0\r\n\r\n", "hello");  // 16 digits is the maximum
}

TEST(ChunkedDecoder, BinaryDataWithCrLfAndNul) {
  const std::string data("a\r\n0\r\n\r\n\0\xff"sv);  // looks like framing, but is data
  expect_decodes("a\r\n" + data + "\r\n0\r\n\r\n", data);
}

TEST(ChunkedDecoder, LargeChunk) {
  std::string data(4096 + 17, 'z');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  const std::string input = "1011\r\n" + data + "\r\n0\r\n\r\n";
  Decoded whole = decode(input);
  ASSERT_EQ(whole.kind, Step::Done) << whole.reason;
  EXPECT_EQ(whole.body, data);
  EXPECT_EQ(whole.consumed, input.size());
  Decoded bytes = decode(input, 1);
  ASSERT_EQ(bytes.kind, Step::Done) << bytes.reason;
  EXPECT_EQ(bytes.body, data);
  EXPECT_EQ(bytes.body_bytes, data.size());
}

TEST(ChunkedDecoder, ChunkExtensionsAreSkipped) {
  expect_decodes("5;name=value\r\nhello\r\n0\r\n\r\n", "hello");
  expect_decodes("5;a;b=c;d=\"quoted; \\\"str\"\r\nhello\r\n0;last=1\r\n\r\n", "hello");
  expect_decodes("5 ;a=b\r\nhello\r\n0\r\n\r\n", "hello");   // BWS before ';'
  expect_decodes("5\t; a = b\r\nhello\r\n0\r\n\r\n", "hello");
  expect_decodes("5;ext=caf\xC3\xA9\r\nhello\r\n0\r\n\r\n", "hello");  // obs-text
}

TEST(ChunkedDecoder, LongExtensionWithinBound) {
  expect_decodes("5;x=" + std::string(4000, 'e') + "\r\nhello\r\n0\r\n\r\n", "hello");
}

TEST(ChunkedDecoder, TrailersAreReadAndDiscarded) {
  expect_decodes("5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", "hello");
  expect_decodes("5\r\nhello\r\n0\r\nX-A: 1\r\nX-B:\t2 \r\nX-Empty:\r\n\r\n", "hello");
  expect_decodes("0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n", "");
}

TEST(ChunkedDecoder, StopsAtEndOfBodyLeavingPipelinedBytes) {
  const std::string body = "3\r\nabc\r\n0\r\nX-T: v\r\n\r\n";
  const std::string next = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
  expect_decodes(body + next, "abc", body.size());
}

TEST(ChunkedDecoder, DoneIsSticky) {
  ChunkedDecoder d;
  std::string_view in = "0\r\n\r\n";
  Step st = d.next(in);
  ASSERT_EQ(st.kind, Step::Done);
  EXPECT_EQ(st.consumed, in.size());
  Step again = d.next("more bytes");
  EXPECT_EQ(again.kind, Step::Done);
  EXPECT_EQ(again.consumed, 0u);
  Step empty = d.next("");
  EXPECT_EQ(empty.kind, Step::Done);
  EXPECT_EQ(empty.consumed, 0u);
}

TEST(ChunkedDecoder, DataStepReturnsOneRunAtATime) {
  ChunkedDecoder d;
  std::string_view in = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  Step a = d.next(in);
  ASSERT_EQ(a.kind, Step::Data);
  EXPECT_EQ(a.data, "abc");
  EXPECT_EQ(a.consumed, 6u);
  EXPECT_EQ(a.data.data(), in.data() + 3);
  in.remove_prefix(a.consumed);
  Step b = d.next(in);
  ASSERT_EQ(b.kind, Step::Data);
  EXPECT_EQ(b.data, "de");
  in.remove_prefix(b.consumed);
  Step c = d.next(in);
  ASSERT_EQ(c.kind, Step::Done);
  EXPECT_EQ(c.consumed, in.size());
  EXPECT_EQ(d.body_bytes(), 5u);
}

TEST(ChunkedDecoder, PartialChunkDataIsDeliveredAsItArrives) {
  ChunkedDecoder d;
  Step a = d.next("a\r\nhel");
  ASSERT_EQ(a.kind, Step::Data);
  EXPECT_EQ(a.data, "hel");
  EXPECT_EQ(a.consumed, 6u);
  Step b = d.next("lo");
  ASSERT_EQ(b.kind, Step::Data);
  EXPECT_EQ(b.data, "lo");
  EXPECT_EQ(d.body_bytes(), 5u);
  Step c = d.next("");
  EXPECT_EQ(c.kind, Step::NeedMore);
  EXPECT_EQ(c.consumed, 0u);
}

TEST(ChunkedDecoder, NeedMoreUntilTheFinalCrlf) {
  expect_need_more("");
  expect_need_more("5");
  expect_need_more("5\r");
  expect_need_more("5\r\nhel");
  expect_need_more("5\r\nhello");
  expect_need_more("5\r\nhello\r");
  expect_need_more("5\r\nhello\r\n0");
  expect_need_more("5\r\nhello\r\n0\r\n");  // the empty line ending the trailer section is required
  expect_need_more("5\r\nhello\r\n0\r\n\r");
  expect_need_more("5\r\nhello\r\n0\r\nX-T: v\r\n");
  expect_need_more("5;ext=1");
}

TEST(ChunkedDecoder, NeedMoreConsumesEverythingGiven) {
  // Every prefix of a valid body: NeedMore (or Data), never Error or Done early.
  const std::string input = "5;e=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX: y\r\n\r\n";
  for (size_t k = 0; k < input.size(); ++k) {
    Decoded r = decode(std::string_view(input).substr(0, k));
    EXPECT_EQ(r.kind, Step::NeedMore) << "prefix " << k << ": " << r.reason;
    EXPECT_EQ(r.consumed, k) << "prefix " << k;
  }
}

TEST(ChunkedDecoder, ResetAllowsReuse) {
  ChunkedDecoder d;
  Step st = d.next("3\r\nab");
  ASSERT_EQ(st.kind, Step::Data);
  EXPECT_EQ(d.body_bytes(), 2u);
  d.reset();
  EXPECT_EQ(d.body_bytes(), 0u);
  std::string_view in = "2\r\nxy\r\n0\r\n\r\n";
  st = d.next(in);
  ASSERT_EQ(st.kind, Step::Data);
  EXPECT_EQ(st.data, "xy");
  in.remove_prefix(st.consumed);
  st = d.next(in);
  EXPECT_EQ(st.kind, Step::Done);
  EXPECT_EQ(d.body_bytes(), 2u);

  d.reset();  // also after Done
  st = d.next("1\r\nq");
  ASSERT_EQ(st.kind, Step::Data);
  EXPECT_EQ(st.data, "q");
}

TEST(ChunkedDecoder, HugeButBoundedSizeIsAccepted) {
  ChunkedDecoder d;
  Step st = d.next("7fffffffffffffff\r\nabc");
  ASSERT_EQ(st.kind, Step::Data) << st.reason;
  EXPECT_EQ(st.data, "abc");
}

// ---------------------------------------------------------------------------
// Errors.

TEST(ChunkedDecoder, BadChunkSize) {
  expect_error("g\r\nhello\r\n0\r\n\r\n");
  expect_error("5g\r\nhello\r\n0\r\n\r\n");
  expect_error("0x5\r\nhello\r\n0\r\n\r\n");
  expect_error("-5\r\nhello\r\n0\r\n\r\n");
  expect_error("+5\r\nhello\r\n0\r\n\r\n");
  expect_error(" 5\r\nhello\r\n0\r\n\r\n");
  expect_error("\r\nhello\r\n0\r\n\r\n");
  expect_error(";ext\r\nhello\r\n0\r\n\r\n");
  expect_error("5.0\r\nhello\r\n0\r\n\r\n");
  expect_error("\xef\xbc\x95\r\nhello\r\n");  // fullwidth digit five
}

TEST(ChunkedDecoder, ErrorReportsConsumedUpToTheBadByte) {
  ChunkedDecoder d;
  Step st = d.next("5g\r\n");
  ASSERT_EQ(st.kind, Step::Error);
  EXPECT_EQ(st.consumed, 1u);
  EXPECT_NE(std::string_view(st.reason), "");
}

TEST(ChunkedDecoder, ChunkSizeOverflow) {
  expect_error("10000000000000000\r\n");     // 17 hex digits = 2^64
  expect_error("FFFFFFFFFFFFFFFF\r\n");      // 2^64 - 1
  expect_error("ffffffffffffffffff\r\n");
  expect_error("00000000000000001\r\nx\r\n0\r\n\r\n");  // 17 digits, even with a small value
  expect_error(std::string(100, 'f') + "\r\n");
}

TEST(ChunkedDecoder, SizeLineNotTerminatedByCrlf) {
  expect_error("5\nhello\r\n0\r\n\r\n");     // bare LF
  expect_error("5\rhello\r\n0\r\n\r\n");     // bare CR
  expect_error("5\r\rhello\r\n0\r\n\r\n");
  expect_error("5;a=b\nhello\r\n0\r\n\r\n"); // bare LF ending an extension (a known smuggling vector)
  expect_error("0\n\r\n");
}

TEST(ChunkedDecoder, BadExtension) {
  expect_error("5;a\x01" "b\r\nhello\r\n0\r\n\r\n");
  expect_error("5;a\0b\r\nhello\r\n0\r\n\r\n"sv);
  expect_error("5;a\rb\r\nhello\r\n0\r\n\r\n");
  expect_error("5;x=" + std::string(5000, 'e') + "\r\nhello\r\n0\r\n\r\n");  // extension over 4 KiB
}

TEST(ChunkedDecoder, MissingCrlfAfterData) {
  expect_error("5\r\nhelloX\r\n0\r\n\r\n");
  expect_error("5\r\nhello\n0\r\n\r\n");
  expect_error("5\r\nhello\rX0\r\n\r\n");
  expect_error("5\r\nhello0\r\n\r\n");
  expect_error("3\r\nhello\r\n0\r\n\r\n");   // more data than announced
  expect_error("7\r\nhello\r\n0\r\n\r\n\r\n");  // less data than announced: framing bytes eaten, then garbage
}

TEST(ChunkedDecoder, BadTrailerSection) {
  expect_error("0\r\n\n");                          // bare LF ends the trailer section
  expect_error("0\r\n\rX");                         // CR not followed by LF
  expect_error("0\r\nX-T: v\nX-U: w\r\n\r\n");       // bare LF ends a trailer line
  expect_error("0\r\nX-T: a\rb\r\n\r\n");            // bare CR inside a trailer line
  expect_error("0\r\nX-T: a\x01" "b\r\n\r\n");       // control character
  expect_error("0\r\nX-T: v\r\r\n\r\n");
  std::string big = "0\r\n";
  for (int i = 0; i < 200; ++i) big += "X-Trailer-" + std::to_string(i) + ": " + std::string(100, 't') + "\r\n";
  big += "\r\n";
  expect_error(big);  // trailer section over 16 KiB
}

TEST(ChunkedDecoder, ErrorsAreTheSameForEveryPieceSize) {
  const std::string input = "4\r\nWiki\r\n5\r\npediaX\r\n0\r\n\r\n";
  for (size_t piece = 0; piece <= input.size(); ++piece) {
    Decoded r = decode(input, piece);
    EXPECT_EQ(r.kind, Step::Error) << "piece " << piece;
    EXPECT_EQ(r.body, "Wikipedia") << "piece " << piece;
  }
}

// ---------------------------------------------------------------------------
// RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
// Whitespace after the size may only lead to a ';'. The decoder switches to
// "skip the extension" on SP/HTAB, so "5 junk" is read as a 5-byte chunk --
// the kind of leniency request-smuggling relies on when a front end disagrees.
TEST(ChunkedDecoderRfc, WhitespaceAfterSizeMustBeFollowedBySemicolon) {
  expect_error("5 junk\r\nhello\r\n0\r\n\r\n");
}

}  // namespace

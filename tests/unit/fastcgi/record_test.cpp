// Unit tests for the FastCGI record codec (src/fastcgi/record.cpp): the
// encoder's bytes checked against the specification's layout, and the
// decoder fed every stream whole, byte by byte and split at every offset,
// all of which must agree.
#include "fastcgi/record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace pillar::fastcgi;

namespace {

std::string record(RecordType t, uint16_t id, std::string_view content, uint8_t padding = 0) {
  std::string out;
  append_header(out, t, id, content.size(), padding);
  out.append(content);
  out.append(padding, '\xee');  // padding bytes may hold anything
  return out;
}

std::string end_request(uint16_t id, uint32_t app, uint8_t proto, uint8_t padding = 0) {
  const char b[8] = {static_cast<char>(app >> 24), static_cast<char>(app >> 16), static_cast<char>(app >> 8),
                     static_cast<char>(app), static_cast<char>(proto), 0, 0, 0};
  return record(RecordType::EndRequest, id, std::string_view(b, 8), padding);
}

struct Decoded {
  std::string out, err;
  bool ended = false, failed = false;
  uint32_t app_status = 0;
  ProtocolStatus proto = ProtocolStatus::RequestComplete;
  size_t consumed = 0;
};

// Feeds `in` cut at the offsets in `cuts`, as a connection would: bytes not
// consumed stay pending, new ones are appended.
Decoded decode(std::string_view in, const std::vector<size_t>& cuts, uint16_t id = 1) {
  RecordDecoder d(id);
  Decoded r;
  std::string pending;
  size_t fed = 0;
  std::vector<size_t> all = cuts;
  all.push_back(in.size());
  for (size_t cut : all) {
    if (cut < fed) continue;
    pending.append(in.substr(fed, cut - fed));
    fed = cut;
    std::string_view rest = pending;
    for (;;) {
      auto e = d.next(rest);
      EXPECT_LE(e.consumed, rest.size());
      r.consumed += e.consumed;
      rest.remove_prefix(e.consumed);
      if (e.kind == RecordDecoder::Event::Stdout) {
        EXPECT_FALSE(e.data.empty());
        r.out.append(e.data);
        continue;
      }
      if (e.kind == RecordDecoder::Event::Stderr) {
        r.err.append(e.data);
        continue;
      }
      if (e.kind == RecordDecoder::Event::End) {
        r.ended = true;
        r.app_status = e.app_status;
        r.proto = e.protocol_status;
        return r;
      }
      if (e.kind == RecordDecoder::Event::Error) {
        EXPECT_NE(e.error, nullptr);
        r.failed = true;
        return r;
      }
      EXPECT_TRUE(rest.empty());
      break;
    }
    pending = std::string(rest);
  }
  return r;
}

// Whole, every single split, and byte by byte: the same result.
Decoded decode_all_ways(std::string_view in, uint16_t id = 1) {
  Decoded whole = decode(in, {}, id);
  for (size_t i = 0; i <= in.size(); ++i) {
    Decoded split = decode(in, {i}, id);
    EXPECT_EQ(split.out, whole.out) << "split at " << i;
    EXPECT_EQ(split.err, whole.err) << "split at " << i;
    EXPECT_EQ(split.ended, whole.ended) << "split at " << i;
    EXPECT_EQ(split.failed, whole.failed) << "split at " << i;
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < in.size(); ++i) every.push_back(i);
  Decoded bytes = decode(in, every, id);
  EXPECT_EQ(bytes.out, whole.out);
  EXPECT_EQ(bytes.ended, whole.ended);
  EXPECT_EQ(bytes.failed, whole.failed);
  return whole;
}

// Parses PARAMS records back into pairs (the application's side), checking
// that no pair straddles two records.
std::vector<std::pair<std::string, std::string>> read_params(std::string_view in, bool& terminated) {
  std::vector<std::pair<std::string, std::string>> pairs;
  terminated = false;
  while (in.size() >= kHeaderSize) {
    auto u = [&](size_t i) { return static_cast<uint8_t>(in[i]); };
    EXPECT_EQ(u(0), kVersion);
    EXPECT_EQ(u(1), static_cast<uint8_t>(RecordType::Params));
    size_t len = u(4) << 8 | u(5), pad = u(6);
    EXPECT_EQ((len + pad) % 8, 0u) << "records are padded to 8";
    std::string_view c = in.substr(kHeaderSize, len);
    in.remove_prefix(kHeaderSize + len + pad);
    if (len == 0) {
      terminated = true;
      EXPECT_TRUE(in.empty());
      break;
    }
    auto length = [&](std::string_view& s) -> size_t {
      uint8_t b = static_cast<uint8_t>(s[0]);
      if (b < 128) {
        s.remove_prefix(1);
        return b;
      }
      size_t n = (static_cast<size_t>(b & 0x7f) << 24) | (static_cast<size_t>(static_cast<uint8_t>(s[1])) << 16) |
                 (static_cast<size_t>(static_cast<uint8_t>(s[2])) << 8) | static_cast<uint8_t>(s[3]);
      s.remove_prefix(4);
      return n;
    };
    while (!c.empty()) {
      size_t nl = length(c), vl = length(c);
      EXPECT_LE(nl + vl, c.size()) << "a pair straddles records";
      pairs.emplace_back(std::string(c.substr(0, nl)), std::string(c.substr(nl, vl)));
      c.remove_prefix(nl + vl);
    }
  }
  return pairs;
}

TEST(FastcgiEncode, BeginRequestLayout) {
  std::string out;
  append_begin_request(out, 1, true);
  const unsigned char want[] = {1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0};
  ASSERT_EQ(out.size(), sizeof want);
  EXPECT_EQ(out, std::string(reinterpret_cast<const char*>(want), sizeof want));
  out.clear();
  append_begin_request(out, 0x1234, false);
  EXPECT_EQ(static_cast<uint8_t>(out[2]), 0x12);
  EXPECT_EQ(static_cast<uint8_t>(out[3]), 0x34);
  EXPECT_EQ(out[10], 0) << "no FCGI_KEEP_CONN";
}

TEST(FastcgiEncode, AbortRequest) {
  std::string out;
  append_abort_request(out, 7);
  const unsigned char want[] = {1, 2, 0, 7, 0, 0, 0, 0};
  EXPECT_EQ(out, std::string(reinterpret_cast<const char*>(want), sizeof want));
}

TEST(FastcgiEncode, LengthsAt127And128) {
  std::string out;
  append_length(out, 127);
  EXPECT_EQ(out, std::string(1, '\x7f'));
  out.clear();
  append_length(out, 128);
  EXPECT_EQ(out, std::string("\x80\x00\x00\x80", 4));
  out.clear();
  append_length(out, 0x01020304);
  EXPECT_EQ(out, std::string("\x81\x02\x03\x04", 4));
  EXPECT_EQ(pair_size(std::string(127, 'n'), ""), 129u);
  EXPECT_EQ(pair_size(std::string(128, 'n'), ""), 133u);
}

TEST(FastcgiEncode, ParamsRoundTripAtLengthEdges) {
  std::string out;
  ParamsWriter w(out, 1);
  std::vector<std::pair<std::string, std::string>> want = {
      {"SCRIPT_NAME", "/index.php"}, {std::string(127, 'a'), std::string(128, 'b')},
      {std::string(128, 'c'), std::string(127, 'd')}, {"EMPTY", ""}, {"X", std::string(300, 'x')}};
  for (const auto& [n, v] : want) w.add(n, v);
  w.finish();
  bool terminated = false;
  EXPECT_EQ(read_params(out, terminated), want);
  EXPECT_TRUE(terminated);
}

TEST(FastcgiEncode, ParamsSplitAcrossRecordsWholePairs) {
  std::string out;
  ParamsWriter w(out, 1);
  std::vector<std::pair<std::string, std::string>> want;
  for (int i = 0; i < 40; ++i) want.emplace_back("HTTP_X_" + std::to_string(i), std::string(4000, char('a' + i % 26)));
  for (const auto& [n, v] : want) w.add(n, v);
  w.finish();
  bool terminated = false;
  auto got = read_params(out, terminated);  // checks that no pair straddles
  EXPECT_EQ(got, want);
  EXPECT_TRUE(terminated);
  // More than one record was needed (40 * ~4 KiB > 64 KiB).
  EXPECT_GT(out.size(), 160000u);
}

TEST(FastcgiEncode, EmptyParamsIsOneEmptyRecord) {
  std::string out;
  ParamsWriter w(out, 3);
  w.finish();
  EXPECT_EQ(out, std::string("\x01\x04\x00\x03\x00\x00\x00\x00", 8));
}

TEST(FastcgiEncode, StdinSplitsAndPads) {
  std::string out;
  std::string body(200000, 'z');
  append_stdin(out, 1, body);
  append_stdin(out, 1, {});
  std::string got;
  std::string_view in = out;
  bool ended = false;
  while (!in.empty()) {
    ASSERT_GE(in.size(), kHeaderSize);
    EXPECT_EQ(static_cast<uint8_t>(in[1]), static_cast<uint8_t>(RecordType::Stdin));
    size_t len = static_cast<uint8_t>(in[4]) << 8 | static_cast<uint8_t>(in[5]);
    size_t pad = static_cast<uint8_t>(in[6]);
    EXPECT_LE(len, kMaxContent);
    EXPECT_EQ((len + pad) % 8, 0u);
    got.append(in.substr(kHeaderSize, len));
    in.remove_prefix(kHeaderSize + len + pad);
    if (len == 0) ended = in.empty();
  }
  EXPECT_EQ(got, body);
  EXPECT_TRUE(ended);
}

TEST(FastcgiDecode, StdoutStderrEndAnySplit) {
  std::string in = record(RecordType::Stdout, 1, "Content-Type: text/plain\r\n\r\nhello", 5) +
                   record(RecordType::Stderr, 1, "PHP Notice: x", 3) + record(RecordType::Stdout, 1, " world") +
                   record(RecordType::Stdout, 1, "") + end_request(1, 0x01020304, 0);
  Decoded d = decode_all_ways(in);
  EXPECT_EQ(d.out, "Content-Type: text/plain\r\n\r\nhello world");
  EXPECT_EQ(d.err, "PHP Notice: x");
  EXPECT_TRUE(d.ended);
  EXPECT_EQ(d.app_status, 0x01020304u);
  EXPECT_EQ(d.consumed, in.size());
}

TEST(FastcgiDecode, ProtocolStatusOverloaded) {
  Decoded d = decode_all_ways(end_request(1, 0, 2, 8));
  EXPECT_TRUE(d.ended);
  EXPECT_EQ(d.proto, ProtocolStatus::Overloaded);
}

TEST(FastcgiDecode, UnknownTypesAndManagementRecordsSkipped) {
  std::string in = record(static_cast<RecordType>(42), 1, "future", 2) + record(RecordType::UnknownType, 0, "12345678") +
                   record(RecordType::GetValuesResult, 0, "\x0e\x01" "FCGI_MAX_CONNS1") +
                   record(RecordType::Stdout, 1, "ok") + end_request(1, 0, 0);
  Decoded d = decode_all_ways(in);
  EXPECT_EQ(d.out, "ok");
  EXPECT_TRUE(d.ended);
  EXPECT_FALSE(d.failed);
}

TEST(FastcgiDecode, MaxContentRecord) {
  std::string big(kMaxContent, 'q');
  std::string in = record(RecordType::Stdout, 1, big, 1) + end_request(1, 0, 0);
  Decoded d = decode(in, {1, 9, 40000, 65544});
  EXPECT_EQ(d.out, big);
  EXPECT_TRUE(d.ended);
}

TEST(FastcgiDecode, Errors) {
  // Wrong version.
  std::string bad = record(RecordType::Stdout, 1, "x");
  bad[0] = 2;
  EXPECT_TRUE(decode_all_ways(bad).failed);
  // Another request's id.
  EXPECT_TRUE(decode_all_ways(record(RecordType::Stdout, 9, "x")).failed);
  // A type only the web server sends.
  EXPECT_TRUE(decode_all_ways(record(RecordType::Params, 1, "")).failed);
  EXPECT_TRUE(decode_all_ways(record(RecordType::BeginRequest, 1, "12345678")).failed);
  // END_REQUEST of the wrong size (too short, oversize).
  EXPECT_TRUE(decode_all_ways(record(RecordType::EndRequest, 1, "1234")).failed);
  EXPECT_TRUE(decode_all_ways(record(RecordType::EndRequest, 1, std::string(16, '\0'))).failed);
  // Bytes after the end.
  EXPECT_TRUE(decode(end_request(1, 0, 0) + "x", {}).ended);  // End is reported first...
  RecordDecoder dd(1);
  std::string e = end_request(1, 0, 0) + "x";
  auto ev = dd.next(e);
  EXPECT_EQ(ev.kind, RecordDecoder::Event::End);
  EXPECT_EQ(ev.consumed, e.size() - 1);
  EXPECT_EQ(dd.next(std::string_view(e).substr(ev.consumed)).kind, RecordDecoder::Event::Error);  // ...then the garbage
}

TEST(FastcgiDecode, TruncatedStreamNeedsMore) {
  std::string in = record(RecordType::Stdout, 1, "abcdef", 2) + end_request(1, 0, 0);
  for (size_t cut = 0; cut < in.size(); ++cut) {
    Decoded d = decode(in.substr(0, cut), {});
    EXPECT_FALSE(d.ended) << cut;
    EXPECT_FALSE(d.failed) << cut;
    EXPECT_EQ(d.consumed, cut) << "everything is consumed, nothing held back by the caller";
  }
}

}  // namespace

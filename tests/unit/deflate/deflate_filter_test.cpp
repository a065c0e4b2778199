// The DEFLATE response filter over the scripted client: what it compresses
// (decompressed with zlib and compared byte for byte), the head it writes,
// what it leaves alone (HEAD's body, 204/304, 206 and Range requests, other
// codings, no-transform, small bodies, unlisted types), a body in pieces,
// a file range compressed in pieces only as fast as a throttled client
// reads, and a file that shrinks under it.
#include "deflate/deflate_filter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <brotli/decode.h>
#include <zlib.h>

#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

#include "../server/scripted_client.h"
#include "core/open_file.h"

namespace pillar::deflate {
namespace {

using server::test_support::ScriptedSink;

// Brotli-decodes `br`; `complete` says whether the stream ended.
std::string unbrotli(std::string_view br, bool* complete = nullptr) {
  BrotliDecoderState* d = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  std::string out;
  size_t avail_in = br.size();
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(br.data());
  BrotliDecoderResult rc;
  do {
    uint8_t buf[16384];
    size_t avail_out = sizeof buf;
    uint8_t* next_out = buf;
    rc = BrotliDecoderDecompressStream(d, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    out.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
  } while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT || BrotliDecoderHasMoreOutput(d));  // it may hold output back
  if (complete) *complete = rc == BROTLI_DECODER_RESULT_SUCCESS;
  EXPECT_NE(rc, BROTLI_DECODER_RESULT_ERROR);
  BrotliDecoderDestroyInstance(d);
  return out;
}

// gunzip of a whole stream; `complete` says whether it reached its trailer.
std::string gunzip(std::string_view gz, bool* complete = nullptr) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 16 + 15), Z_OK);
  std::string out;
  char buf[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // all input used, stream not ended
  }
  if (complete) *complete = rc == Z_STREAM_END;
  inflateEnd(&z);
  return out;
}

// Text that compresses like a web page, not like a run of one byte.
std::string text(size_t n, unsigned seed = 7) {
  static const char* words[] = {"pillar ", "serves ", "compressed ", "pages ", "to ", "its ", "clients, ", "fast. "};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) s += words[rng() % 8];
  s.resize(n);
  return s;
}

// The part of the scripted sink's record after the head.
std::string body_of(const ScriptedSink& s) {
  size_t at = s.out.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : s.out.substr(at + 4);
}
std::string head_of(const ScriptedSink& s) { return s.out.substr(0, s.out.find("\r\n\r\n") + 2); }

// A client that takes only `budget` bytes until given more: the bytes the
// filter queued wait here (pending), and flush() answers Again.
class Throttle final : public http::SinkFilter {
 public:
  size_t budget = SIZE_MAX;
  std::string queued;
  void body(std::string_view d) override { queued.append(d); }
  Result flush() override {
    size_t n = std::min(budget, queued.size());
    next().body(std::string_view(queued).substr(0, n));
    queued.erase(0, n);
    budget -= n;
    return queued.empty() ? Result::Done : Result::Again;
  }
  uint64_t pending() const override { return queued.size(); }
  bool writable() const override { return queued.empty(); }
  void end_body() override {
    flush();
    next().end_body();
  }
};

struct Case {
  ScriptedSink sink;
  config::DeflateSettings settings;
  config::BrotliSettings brotli;
  std::unique_ptr<DeflateFilter> f;
  explicit Case(DeflateRequest r = accepting()) { make(std::move(r)); }
  void make(DeflateRequest r) {
    f = std::make_unique<DeflateFilter>(settings, brotli, std::move(r));
    f->attach(sink);
  }
  static DeflateRequest accepting() {
    DeflateRequest r;
    r.accepts_gzip = true;
    r.gzip.types = {"text/html", "text/plain"};
    return r;
  }
  // A 200 with these fields, announced with `body` and `len`.
  void head(std::string fields, http::BodyLength body, uint64_t len, int status = 200) {
    f->begin_head(status) += fields;
    f->end_head(body, len);
  }
};

TEST(DeflateFilter, ABodyInPiecesIsGzippedWithTheHeadMadeForIt) {
  Case c;
  std::string page = text(100000);
  c.head("Content-Type: text/html; charset=utf-8\r\nETag: \"abc\"\r\nContent-MD5: x\r\n", http::BodyLength::Known,
         page.size());
  ASSERT_TRUE(c.f->compressing());
  EXPECT_FALSE(c.f->can_pass_through());
  EXPECT_FALSE(c.f->can_splice());
  for (size_t at = 0; at < page.size(); at += 777) c.f->body(std::string_view(page).substr(at, 777));
  c.f->end_body();
  std::string head = head_of(c.sink);
  EXPECT_NE(head.find("Content-Encoding: gzip\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Vary: Accept-Encoding\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("ETag: \"abc-gzip\"\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;  // chunked to the client (Unknown)
  EXPECT_EQ(head.find("Content-MD5"), std::string::npos) << head;
  std::string gz = body_of(c.sink);
  EXPECT_LT(gz.size(), page.size() / 3);
  bool complete = false;
  EXPECT_EQ(gunzip(gz, &complete), page);
  EXPECT_TRUE(complete);
  EXPECT_EQ(c.f->bytes_in(), page.size());
}

TEST(DeflateFilter, AClientWithoutGzipGetsThePlainBodyAndVary) {
  DeflateRequest r = Case::accepting();
  r.accepts_gzip = false;
  Case c(r);
  std::string page = text(5000);
  c.head("Content-Type: text/plain\r\nVary: Cookie\r\nETag: \"abc\"\r\n", http::BodyLength::Known, page.size());
  EXPECT_FALSE(c.f->compressing());
  EXPECT_TRUE(c.f->can_pass_through());
  c.f->body(page);
  c.f->end_body();
  EXPECT_EQ(head_of(c.sink),
            "HTTP/1.1 200\r\nContent-Type: text/plain\r\nVary: Cookie, Accept-Encoding\r\nETag: \"abc\"\r\n"
            "Content-Length: 5000\r\n");
  EXPECT_EQ(body_of(c.sink), page);
}

TEST(DeflateFilter, WhatItLeavesAloneKeepsItsHeadAndBody) {
  struct Leave {
    const char* what;
    std::string fields;
    int status = 200;
    uint64_t len = 5000;
    void (*adjust)(DeflateRequest&) = nullptr;
  };
  const Leave cases[] = {
      {"a type not listed", "Content-Type: image/png\r\n"},
      {"no Content-Type", "X-A: b\r\n"},
      {"another coding", "Content-Type: text/html\r\nContent-Encoding: br\r\n"},
      {"no-transform", "Content-Type: text/html\r\nCache-Control: public, no-transform\r\n"},
      {"a range", "Content-Type: text/html\r\nContent-Range: bytes 0-4999/9000\r\n", 206},
      {"a small body", "Content-Type: text/html\r\n", 200, DeflateFilter::kSmallBody},
      {"the request's no-transform", "Content-Type: text/html\r\n", 200, 5000,
       [](DeflateRequest& r) { r.no_transform = true; }},
      {"gzip-only-text/html", "Content-Type: text/plain\r\n", 200, 5000,
       [](DeflateRequest& r) { r.gzip_only_html = true; }},
  };
  for (const auto& l : cases) {
    DeflateRequest r = Case::accepting();
    if (l.adjust) l.adjust(r);
    Case c(r);
    std::string page = text(l.len);
    c.head(l.fields, http::BodyLength::Known, page.size(), l.status);
    EXPECT_FALSE(c.f->compressing()) << l.what;
    c.f->body(page);
    c.f->end_body();
    EXPECT_EQ(head_of(c.sink), "HTTP/1.1 " + std::to_string(l.status) + "\r\n" + l.fields + "Content-Length: " +
                                   std::to_string(page.size()) + "\r\n")
        << l.what;
    EXPECT_EQ(body_of(c.sink), page) << l.what;
  }
}

// A Range request is answered as the body is, never compressed, but the
// answer varies on Accept-Encoding when the whole body would have been
// compressed (Apache's has Vary there too); a small whole body does not.
TEST(DeflateFilter, ARangeRequestIsNotCompressedButVaries) {
  struct R {
    const char* what;
    std::string fields;
    int status;
    uint64_t len;
    bool varies;
  };
  const R cases[] = {
      {"a 206", "Content-Type: text/html\r\nContent-Range: bytes 0-99/9000\r\n", 206, 100, true},
      {"the whole body (200)", "Content-Type: text/html\r\n", 200, 5000, true},
      {"a 206 of a small body", "Content-Type: text/html\r\nContent-Range: bytes 0-9/40\r\n", 206, 10, false},
      {"a type not listed", "Content-Type: image/png\r\nContent-Range: bytes 0-99/9000\r\n", 206, 100, false},
  };
  for (const auto& c0 : cases) {
    DeflateRequest r = Case::accepting();
    r.range = true;
    Case c(r);
    std::string page = text(c0.len);
    c.head(c0.fields, http::BodyLength::Known, page.size(), c0.status);
    EXPECT_FALSE(c.f->compressing()) << c0.what;
    c.f->body(page);
    c.f->end_body();
    EXPECT_EQ(head_of(c.sink), "HTTP/1.1 " + std::to_string(c0.status) + "\r\n" + c0.fields +
                                   (c0.varies ? "Vary: Accept-Encoding\r\n" : "") + "Content-Length: " +
                                   std::to_string(page.size()) + "\r\n")
        << c0.what;
    EXPECT_EQ(body_of(c.sink), page) << c0.what;
  }
}

TEST(DeflateFilter, NoBodyStatusesAreLeftAlone) {
  for (int status : {204, 304}) {
    Case c;
    c.head("Content-Type: text/html\r\nETag: \"e\"\r\n", http::BodyLength::None, 0, status);
    EXPECT_FALSE(c.f->compressing());
    EXPECT_EQ(c.sink.out, "HTTP/1.1 " + std::to_string(status) + "\r\nContent-Type: text/html\r\nETag: \"e\"\r\n\r\n");
  }
}

TEST(DeflateFilter, IdentityCodingIsReplacedAndGzipOnlyHtmlTakesHtml) {
  DeflateRequest r = Case::accepting();
  r.gzip_only_html = true;
  Case c(r);
  std::string page = text(3000);
  c.head("Content-Type: text/html\r\nContent-Encoding: identity\r\n", http::BodyLength::Known, page.size());
  ASSERT_TRUE(c.f->compressing());
  c.f->body(page);
  c.f->end_body();
  std::string head = head_of(c.sink);
  EXPECT_EQ(head.find("identity"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Encoding: gzip\r\n"), std::string::npos) << head;
  EXPECT_EQ(gunzip(body_of(c.sink)), page);
}

TEST(DeflateFilter, HeadGetsTheCompressedHeadWithoutBodyOrLength) {
  DeflateRequest r = Case::accepting();
  r.head = true;
  Case c(r);
  // The proxy writes the member's length into a HEAD answer and announces no body.
  c.head("Content-Type: text/html\r\nContent-Length: 90000\r\nETag: W/\"x\"\r\n", http::BodyLength::None, 0);
  EXPECT_TRUE(c.f->compressing());
  c.f->body("must not appear");
  c.f->end_body();
  EXPECT_EQ(c.sink.out,
            "HTTP/1.1 200\r\nContent-Type: text/html\r\nETag: W/\"x-gzip\"\r\nVary: Accept-Encoding\r\n"
            "Content-Encoding: gzip\r\n\r\n");
  // The static path announces the GET length with Known and writes no body.
  Case s(r);
  s.head("Content-Type: text/plain\r\n", http::BodyLength::Known, 90000);
  EXPECT_EQ(s.sink.out, "HTTP/1.1 200\r\nContent-Type: text/plain\r\nVary: Accept-Encoding\r\nContent-Encoding: gzip\r\n\r\n");
}

TEST(DeflateFilter, AlterETagRemoveAndNoChange) {
  Case c;
  c.settings.alter_etag = config::DeflateSettings::AlterETag::Remove;
  c.make(Case::accepting());
  c.head("Content-Type: text/html\r\nETag: \"abc\"\r\n", http::BodyLength::Unknown, 0);
  c.f->body(text(500));
  c.f->end_body();
  EXPECT_EQ(head_of(c.sink).find("ETag"), std::string::npos);
  Case n;
  n.settings.alter_etag = config::DeflateSettings::AlterETag::NoChange;
  n.make(Case::accepting());
  n.head("Content-Type: text/html\r\nETag: \"abc\"\r\nVary: *\r\n", http::BodyLength::Unknown, 0);
  std::string head = head_of(n.sink);
  EXPECT_NE(head.find("ETag: \"abc\"\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Vary: *\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("Accept-Encoding"), std::string::npos) << head;  // Vary: * says it all
}

TEST(DeflateFilter, AKnownLengthEndsTheStreamWithoutEndBody) {
  // The cache's small-object path copies the body and never calls end_body.
  Case c;
  std::string page = text(4000);
  c.head("Content-Type: text/html\r\n", http::BodyLength::Known, page.size());
  c.f->body(std::string_view(page).substr(0, 1000));
  EXPECT_GT(c.f->pending(), 0u);  // the trailer is owed once the rest comes
  c.f->body(std::string_view(page).substr(1000));
  bool complete = false;
  EXPECT_EQ(gunzip(body_of(c.sink), &complete), page);
  EXPECT_TRUE(complete);
  EXPECT_EQ(c.f->pending(), 0u);
}

TEST(DeflateFilter, PassThroughIsCompressedAndTakenWhole) {
  Case c;
  std::string page = text(20000);
  c.head("Content-Type: text/html\r\n", http::BodyLength::Known, page.size());
  iovec iov[2] = {{page.data(), 12000}, {page.data() + 12000, page.size() - 12000}};
  size_t taken = 0;
  EXPECT_EQ(c.f->pass_through({iov, 2}, taken), http::ResponseSink::Result::Done);
  EXPECT_EQ(taken, page.size());
  EXPECT_EQ(gunzip(body_of(c.sink)), page);
}

TEST(DeflateFilter, AStreamedBodyIsFlushedWhenTheClientHasDrained) {
  Case c;
  std::string first = text(3000, 1);
  c.head("Content-Type: text/plain\r\n", http::BodyLength::Unknown, 0);
  c.f->body(first);
  // zlib holds small input; flush() with nothing queued beneath sends it on,
  // decodable, while the stream goes on.
  EXPECT_EQ(c.f->flush(), http::ResponseSink::Result::Done);
  bool complete = true;
  EXPECT_EQ(gunzip(body_of(c.sink), &complete), first);
  EXPECT_FALSE(complete);
  std::string second = text(3000, 2);
  c.f->body(second);
  c.f->end_body();
  EXPECT_EQ(gunzip(body_of(c.sink), &complete), first + second);
  EXPECT_TRUE(complete);
}

// A temporary file as the static handler opens it.
struct TempFile {
  std::string path;
  std::shared_ptr<core::OpenFile> file;
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/deflate_test_XXXXXX";
    int fd = ::mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    path = tmpl;
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    file = std::make_shared<core::OpenFile>();
    file->fd = fd;
    file->size = content.size();
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

// Random letters: about 1.7 times smaller compressed, so a file's
// compressed size is far above the bounds the throttled test checks.
std::string letters(size_t n) {
  std::mt19937 rng(11);
  std::string s(n, ' ');
  for (auto& c : s) c = rng() % 6 == 0 ? ' ' : static_cast<char>('a' + rng() % 26);
  return s;
}

TEST(DeflateFilter, AFileIsCompressedInPiecesOnlyAsTheClientReads) {
  std::string page = letters(4 * 1024 * 1024);
  TempFile tf(page);
  ScriptedSink sink;
  Throttle client;
  client.attach(sink);
  config::DeflateSettings s;
  DeflateFilter f(s, config::BrotliSettings{}, Case::accepting());
  f.attach(client);
  f.begin_head(200) += "Content-Type: text/plain\r\n";
  f.end_head(http::BodyLength::Known, page.size());
  ASSERT_TRUE(f.file(tf.file, 0, page.size()));
  f.end_body();
  EXPECT_EQ(f.bytes_in(), 0u);  // nothing read yet: the work waits for the client
  EXPECT_GE(f.pending(), page.size());
  client.budget = 0;  // a full client
  EXPECT_EQ(f.flush(), http::ResponseSink::Result::Again);
  // Compression stops once the client has a buffer queued: what waits for
  // it is about one zlib block (zlib emits a block at a time), not the
  // file's 2.4 MB of output, and little of the file has been read.
  constexpr size_t kBound = 160 * 1024;
  EXPECT_LE(f.bytes_in(), 2 * kBound);
  EXPECT_LE(client.queued.size(), kBound);
  int rounds = 0;
  while (f.flush() != http::ResponseSink::Result::Done) {
    ASSERT_LT(++rounds, 100000);
    EXPECT_LE(client.queued.size(), kBound);
    EXPECT_LE(f.bytes_in(), page.size());
    client.budget = 16384;  // it reads a little each time
  }
  EXPECT_GT(rounds, 100);
  EXPECT_EQ(f.pending(), 0u);
  bool complete = false;
  EXPECT_EQ(gunzip(body_of(sink), &complete), page);
  EXPECT_TRUE(complete);
}

TEST(DeflateFilter, ASmallFileIsCompressedAtOnce) {
  std::string page = text(20000);
  TempFile tf(page);
  Case c;
  c.head("Content-Type: text/plain\r\n", http::BodyLength::Known, page.size());
  ASSERT_TRUE(c.f->file(tf.file, 0, page.size()));
  c.f->end_body();
  EXPECT_EQ(c.f->pending(), 0u);
  EXPECT_EQ(gunzip(body_of(c.sink)), page);
}

TEST(DeflateFilter, AFileThatShrinksCutsTheResponse) {
  std::string page = text(500000);
  TempFile tf(page);
  Case c;
  c.head("Content-Type: text/plain\r\n", http::BodyLength::Known, page.size());
  ASSERT_TRUE(c.f->file(tf.file, 0, page.size()));
  c.f->end_body();
  ASSERT_EQ(::ftruncate(tf.file->fd, 100000), 0);
  EXPECT_EQ(c.f->flush(), http::ResponseSink::Result::Error);
  // A range past the file's size is refused at once.
  Case d;
  d.head("Content-Type: text/plain\r\n", http::BodyLength::Known, page.size());
  EXPECT_FALSE(d.f->file(tf.file, 0, page.size() * 2));
}

TEST(DeflateFilter, ASecondHeadStartsAfresh) {
  // The proxy failed before its head; the connection answers its error page
  // through the same filter.
  Case c;
  c.head("Content-Type: text/html\r\n", http::BodyLength::Known, 5000);
  c.f->drop();
  c.sink.out.clear();
  std::string page = text(900);
  c.head("Content-Type: text/html\r\n", http::BodyLength::Known, page.size(), 502);
  c.f->body(page);
  c.f->end_body();
  EXPECT_NE(c.sink.out.find("HTTP/1.1 502\r\n"), std::string::npos);
  EXPECT_EQ(gunzip(body_of(c.sink)), page);
}

// BROTLI_COMPRESS;DEFLATE: Brotli for a client that takes br, gzip for one
// that takes only gzip, plain (with Vary) for one that takes neither; a
// body flushed mid-stream decodes up to there; the ETag says -br.
TEST(DeflateFilter, BrotliForClientsThatTakeItGzipForTheOthers) {
  std::string page = text(60000);
  auto request = [](bool br, bool gzip) {
    DeflateRequest r;
    r.gzip.types = {"text/html"};
    r.brotli.types = {"text/html"};
    r.accepts_br = br;
    r.accepts_gzip = gzip;
    return r;
  };
  {
    Case c(request(true, true));
    c.head("Content-Type: text/html\r\nETag: \"abc\"\r\n", http::BodyLength::Known, page.size());
    ASSERT_TRUE(c.f->compressing());
    EXPECT_EQ(c.f->coding(), DeflateFilter::Coding::Brotli);
    c.f->body(std::string_view(page).substr(0, 20000));
    ASSERT_EQ(c.f->flush(), http::ResponseSink::Result::Done);
    bool complete = true;
    std::string so_far = unbrotli(body_of(c.sink), &complete);
    EXPECT_EQ(so_far.size(), 20000u) << "a flush makes what came so far decodable";
    EXPECT_TRUE(so_far == page.substr(0, 20000));
    EXPECT_FALSE(complete);
    c.f->body(std::string_view(page).substr(20000));
    c.f->end_body();
    std::string head = head_of(c.sink);
    EXPECT_NE(head.find("Content-Encoding: br\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("Vary: Accept-Encoding\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("ETag: \"abc-br\"\r\n"), std::string::npos) << head;
    std::string br = body_of(c.sink);
    EXPECT_LT(br.size(), page.size() / 3);
    std::string all = unbrotli(br, &complete);
    EXPECT_EQ(all.size(), page.size());
    EXPECT_TRUE(all == page);
    EXPECT_TRUE(complete);
  }
  {
    Case c(request(false, true));
    c.head("Content-Type: text/html\r\n", http::BodyLength::Known, page.size());
    EXPECT_EQ(c.f->coding(), DeflateFilter::Coding::Gzip);
    c.f->body(page);
    c.f->end_body();
    EXPECT_NE(head_of(c.sink).find("Content-Encoding: gzip\r\n"), std::string::npos);
    EXPECT_EQ(gunzip(body_of(c.sink)), page);
  }
  {
    DeflateRequest r = request(false, true);
    r.gzip.types.clear();  // BROTLI_COMPRESS alone
    Case c(std::move(r));
    c.head("Content-Type: text/html\r\n", http::BodyLength::Known, page.size());
    EXPECT_FALSE(c.f->compressing());
    c.f->body(page);
    c.f->end_body();
    EXPECT_NE(head_of(c.sink).find("Vary: Accept-Encoding\r\n"), std::string::npos);
    EXPECT_EQ(head_of(c.sink).find("Content-Encoding"), std::string::npos);
    EXPECT_EQ(body_of(c.sink), page);
  }
}

}  // namespace
}  // namespace pillar::deflate

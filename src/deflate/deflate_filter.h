// mod_deflate's DEFLATE and mod_brotli's BROTLI_COMPRESS output filters as
// one response filter (http::SinkFilter): the innermost filter, so the
// exchange below it (static files, the proxy, the cache, FastCGI) writes
// plain bytes and the client gets gzip or Brotli.
//
// Each of the two is selected for the response's type on its own (the
// configuration's AddOutputFilterByType/SetOutputFilter/AddOutputFilter
// for that filter). As Apache's `BROTLI_COMPRESS;DEFLATE` chain behaves,
// Brotli wins when the client takes `br`; gzip is used when Brotli is not
// selected or not accepted; either way the response varies on
// Accept-Encoding. Brotli's ETag suffix is "-br" (BrotliAlterETag).
//
// At end_head it decides, as Apache 2.4 does: not for 1xx/204/304/206 (nor a
// Content-Range, nor a request with Range), not for a small known body (68
// bytes or less: the gzip overhead), not for a type the configuration does
// not name (AddOutputFilterByType; SetOutputFilter/AddOutputFilter take any
// type), not when gzip-only-text/html is set and the type is not text/html,
// not over a Content-Encoding other than identity, not when Cache-Control
// says no-transform (RFC 9110 §7.7: the response's or the request's). Then
// `Vary: Accept-Encoding` goes on the response, and it is compressed when
// the client's Accept-Encoding takes gzip: Content-Length and Content-MD5
// go, `Content-Encoding: gzip` comes, the ETag gets "-gzip" inside its
// quotes (DeflateAlterETag), and the body is sent chunked to HTTP/1.1
// (close-delimited to 1.0). A HEAD answer gets the same head and no body.
//
// The body is compressed as it comes, never whole: body() and pass_through()
// pieces at once; a file range (the static handler's one file() call for a
// whole file) is read and compressed a piece at a time in flush(), only
// while the sink beneath has less than DeflateBufferSize queued, so a full
// client holds at most about that much compressed output here (pending()
// says how much is still to come, writable() is the client's). A filter
// that compresses cannot pass through or splice: those would bypass it.
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "deflate/brotli_encoder.h"
#include "deflate/gzip_encoder.h"
#include "http/sink_filter.h"

namespace pillar::deflate {

// What the filter knows of the request before the response comes.
struct DeflateRequest {
  // Where one coding's filter is put: for any type, or for these.
  struct Selection {
    bool any_type = false;           // SetOutputFilter, or AddOutputFilter for the file's extension
    std::vector<std::string> types;  // AddOutputFilterByType (lower-case media types)
    bool any() const { return any_type || !types.empty(); }
    bool takes(const std::string& type) const;
  };
  Selection gzip;               // DEFLATE
  Selection brotli;             // BROTLI_COMPRESS
  bool accepts_gzip = false;    // Accept-Encoding takes gzip (or the force-gzip variable is set)
  bool accepts_br = false;      // Accept-Encoding takes br
  bool head = false;            // HEAD: the head GET would get, no body
  bool range = false;           // the request asks for a Range
  bool no_transform = false;    // the request's Cache-Control: no-transform
  bool gzip_only_html = false;  // gzip-only-text/html=1: only text/html is gzipped
};

class DeflateFilter final : public http::SinkFilter, private Encoder::Output {
 public:
  // A known body this small is sent as it is (gzip's header and trailer, and
  // the fields, would outweigh it), as Apache's mod_deflate.
  static constexpr uint64_t kSmallBody = 10 + 8 + 50;
  bool content_filter() const override { return true; }
  // A file range up to this size is compressed at once; a larger one in
  // pieces of kFilePiece as the client reads.
  static constexpr uint64_t kInlineFile = 64 * 1024;
  static constexpr size_t kFilePiece = 32 * 1024;

  enum class Coding : uint8_t { None, Gzip, Brotli };
  DeflateFilter(const config::DeflateSettings& deflate, const config::BrotliSettings& brotli, DeflateRequest req);
  ~DeflateFilter() override;

  std::string& begin_head(int status, std::string_view reason = {}) override;
  void end_head(http::BodyLength body, uint64_t length) override;
  void body(std::string_view data) override;
  bool file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) override;
  bool can_pass_through() const override { return !compressing_ && next().can_pass_through(); }
  Result pass_through(std::span<const iovec> data, size_t& taken) override;
  bool can_splice() const override { return !compressing_ && next().can_splice(); }
  Result splice(int pipe_fd, size_t len, size_t& moved) override;
  void end_body() override;
  Result flush() override;
  uint64_t pending() const override;
  void drop() override;

  // For tests and logs: whether this response is being compressed, and its
  // byte counts so far.
  bool compressing() const { return compressing_; }
  Coding coding() const { return coding_; }
  uint64_t bytes_in() const { return encoder_ ? encoder_->total_in() : 0; }
  uint64_t bytes_out() const { return encoder_ ? encoder_->total_out() : 0; }

 private:
  // A body piece that waits behind a file range still being compressed.
  struct Deferred {
    std::shared_ptr<const core::OpenFile> file;  // null: `text`
    uint64_t offset = 0, length = 0;
    std::string text;
  };
  void write(std::string_view compressed) override;  // Encoder::Output: into the sink beneath
  // Whether the response may be compressed at all (then it varies on
  // Accept-Encoding), and with which coding for this client (None: not).
  bool decide(std::string_view fields, http::BodyLength body, uint64_t length, Coding& coding) const;
  void rewrite_head(std::string& out, Coding coding) const;
  void compress(std::string_view data);
  bool pump_deferred();  // one piece; false when the file came up short
  void finish();
  void fail();           // zlib or the file failed mid-body: the response is cut
  void reset();

  GzipEncoder::Params params_;
  BrotliEncoder::Params brotli_params_;
  config::DeflateSettings::AlterETag alter_etag_, brotli_alter_etag_;
  DeflateRequest req_;
  int status_ = 0;
  std::string reason_;
  std::string head_;            // the fields the exchange writes, until end_head
  std::unique_ptr<Encoder> encoder_;
  Coding coding_ = Coding::None;  // this response's
  bool compressing_ = false;    // this response's body goes through the encoder
  bool headers_only_ = false;   // compressed head, no body (HEAD)
  bool ending_ = false;         // end_body() came (or the known length was reached)
  bool finished_ = false;       // the gzip trailer is out
  bool failed_ = false;
  bool dirty_ = false;          // input since the last sync
  bool known_ = false;          // the exchange announced a length: the end is there
  uint64_t expected_ = 0, taken_ = 0;
  std::deque<Deferred> deferred_;
  uint64_t deferred_bytes_ = 0;
};

}  // namespace pillar::deflate

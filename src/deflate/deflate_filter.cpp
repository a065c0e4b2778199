#include "deflate/deflate_filter.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "core/assert.h"
#include "core/log.h"
#include "core/open_file.h"
#include "http/request.h"

namespace pillar::deflate {

namespace {

// One "Name: value\r\n" line of a head being written.
struct Field {
  std::string_view name, value, line;  // line: with its CRLF
};

// Calls f(Field) for each line of `fields` (as the exchanges write them).
template <typename F>
void each_field(std::string_view fields, F f) {
  while (!fields.empty()) {
    size_t end = fields.find('\n');
    std::string_view line = fields.substr(0, end == std::string_view::npos ? fields.size() : end + 1);
    fields.remove_prefix(line.size());
    std::string_view text = line;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
      f(Field{{}, {}, line});
      continue;
    }
    f(Field{text.substr(0, colon), core::trim_ows(text.substr(colon + 1)), line});
  }
}

// The media type of a Content-Type value, lower-case, without parameters.
std::string media_type(std::string_view v) {
  return core::lowercase(core::trim_ows(v.substr(0, v.find(';'))));
}

// Content-Encoding values that leave the bytes as they are (mod_negotiation's list).
bool identity_coding(std::string_view list) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view c = core::trim_ows(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (c.empty()) continue;
    if (!core::iequals(c, "identity") && !core::iequals(c, "7bit") && !core::iequals(c, "8bit") &&
        !core::iequals(c, "binary"))
      return false;
  }
  return true;
}

// Cache-Control's directive names (no-transform has no value).
bool has_directive(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view d = core::trim_ows(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (core::iequals(core::trim_ows(d.substr(0, d.find('='))), name)) return true;
  }
  return false;
}

// The thread's buffer for file pieces (read, compressed, reused).
char* file_buffer() {
  thread_local std::unique_ptr<char[]> buf = std::make_unique<char[]>(DeflateFilter::kFilePiece);
  return buf.get();
}

}  // namespace

bool DeflateRequest::Selection::takes(const std::string& type) const {
  return any_type || std::find(types.begin(), types.end(), type) != types.end();
}

DeflateFilter::DeflateFilter(const config::DeflateSettings& s, const config::BrotliSettings& b, DeflateRequest req)
    : params_{s.level, s.window_bits, s.mem_level, s.buffer_size},
      brotli_params_{b.quality, b.window, b.max_input_block, s.buffer_size},
      alter_etag_(s.alter_etag),
      brotli_alter_etag_(b.alter_etag),
      req_(std::move(req)) {}

DeflateFilter::~DeflateFilter() { reset(); }

void DeflateFilter::reset() {
  if (encoder_) {
    if (finished_ && coding_ == Coding::Gzip)  // back to the pool (a Brotli state cannot be reused)
      GzipEncoder::release(std::unique_ptr<GzipEncoder>(static_cast<GzipEncoder*>(encoder_.release())));
    else encoder_.reset();  // mid-stream: not worth resetting for the pool
  }
  coding_ = Coding::None;
  compressing_ = headers_only_ = ending_ = finished_ = failed_ = dirty_ = known_ = false;
  expected_ = taken_ = 0;
  deferred_.clear();
  deferred_bytes_ = 0;
}

std::string& DeflateFilter::begin_head(int status, std::string_view reason) {
  reset();
  status_ = status;
  reason_.assign(reason);
  head_.clear();
  return head_;
}

bool DeflateFilter::decide(std::string_view fields, http::BodyLength body, uint64_t length, Coding& coding) const {
  coding = Coding::None;
  if (status_ < 200 || status_ == 204 || status_ == 304) return false;
  if ((status_ == 206 && !req_.range) || req_.no_transform) return false;
  if (body == http::BodyLength::None && !req_.head) return false;
  std::string type;
  bool content_range = false, no_transform = false, encoded = false, has_length = false;
  uint64_t head_length = 0, whole = 0;  // whole: Content-Range's complete length
  each_field(fields, [&](const Field& f) {
    if (core::iequals(f.name, "Content-Type")) type = media_type(f.value);
    else if (core::iequals(f.name, "Content-Range")) {
      content_range = true;
      if (size_t slash = f.value.rfind('/'); slash != std::string_view::npos)
        std::from_chars(f.value.data() + slash + 1, f.value.data() + f.value.size(), whole);
    }
    else if (core::iequals(f.name, "Content-Encoding")) encoded = encoded || !identity_coding(f.value);
    else if (core::iequals(f.name, "Cache-Control")) no_transform = no_transform || has_directive(f.value, "no-transform");
    else if (core::iequals(f.name, "Content-Length")) {
      auto r = std::from_chars(f.value.data(), f.value.data() + f.value.size(), head_length);
      has_length = r.ec == std::errc() && r.ptr == f.value.data() + f.value.size();
    }
  });
  if (encoded || no_transform) return false;
  const bool gzip = req_.gzip.takes(type) && !(req_.gzip_only_html && type != "text/html");
  const bool brotli = req_.brotli.takes(type);
  if (req_.range) {
    // A Range request is answered from the body as it is, never compressed;
    // the answer still varies on Accept-Encoding (the same URL without a
    // Range is compressed for a client that takes it), as Apache's has.
    uint64_t all = content_range ? whole : body == http::BodyLength::Known ? length : 0;
    return all > kSmallBody && (gzip || brotli);
  }
  if (content_range) return false;
  if (body == http::BodyLength::Known && length <= kSmallBody) return false;
  if (req_.head && body != http::BodyLength::Known && has_length && head_length <= kSmallBody) return false;
  if (brotli && req_.accepts_br) coding = Coding::Brotli;
  else if (gzip && req_.accepts_gzip) coding = Coding::Gzip;
  return gzip || brotli;
}

// The head as it goes on: Vary names Accept-Encoding; a compressed one
// loses Content-Length and Content-MD5, says gzip, and changes its ETag.
void DeflateFilter::rewrite_head(std::string& out, Coding coding) const {
  const bool compress = coding != Coding::None;
  const auto alter = coding == Coding::Brotli ? brotli_alter_etag_ : alter_etag_;
  const std::string_view suffix = coding == Coding::Brotli ? "-br\"\r\n" : "-gzip\"\r\n";
  bool vary_done = false;
  each_field(head_, [&](const Field& f) {
    if (core::iequals(f.name, "Vary")) {
      out.append(f.line);
      if (vary_done) return;
      vary_done = true;
      if (f.value == "*" || http::has_token(f.value, "Accept-Encoding")) return;
      // Add to the first Vary line: strip its line end, append, end it again.
      size_t keep = f.line.size();
      while (keep > 0 && (f.line[keep - 1] == '\n' || f.line[keep - 1] == '\r')) --keep;
      out.resize(out.size() - (f.line.size() - keep));
      out.append(f.value.empty() ? "Accept-Encoding\r\n" : ", Accept-Encoding\r\n");
      return;
    }
    if (compress) {
      if (core::iequals(f.name, "Content-Length") || core::iequals(f.name, "Content-MD5") ||
          core::iequals(f.name, "Content-Encoding"))  // only identity codings reach here: replaced by gzip
        return;
      if (core::iequals(f.name, "ETag") && alter != config::DeflateSettings::AlterETag::NoChange) {
        if (alter == config::DeflateSettings::AlterETag::Remove) return;
        if (f.value.size() > 2 && f.value.back() == '"') {
          out.append(f.name).append(": ").append(f.value.substr(0, f.value.size() - 1)).append(suffix);
          return;
        }
      }
    }
    out.append(f.line);
  });
  if (!vary_done) out.append("Vary: Accept-Encoding\r\n");
  if (compress) out.append(coding == Coding::Brotli ? "Content-Encoding: br\r\n" : "Content-Encoding: gzip\r\n");
}

void DeflateFilter::end_head(http::BodyLength body, uint64_t length) {
  Coding coding = Coding::None;
  const bool eligible = decide(head_, body, length, coding);
  if (coding != Coding::None && !req_.head) {
    if (coding == Coding::Brotli) encoder_ = BrotliEncoder::create(brotli_params_);
    else encoder_ = GzipEncoder::acquire(params_);
    if (!encoder_) {
      core::log(core::LogLevel::Error, "deflate", "unable to init {}: the response is sent uncompressed",
                coding == Coding::Brotli ? "Brotli" : "Zlib");
      coding = Coding::None;
    }
  }
  std::string& out = next().begin_head(status_, reason_);
  if (!eligible) {
    out.append(head_);
    next().end_head(body, length);
    return;
  }
  rewrite_head(out, coding);
  if (coding == Coding::None) {
    next().end_head(body, length);
    return;
  }
  coding_ = coding;
  compressing_ = true;
  if (req_.head) {
    headers_only_ = true;
    next().end_head(http::BodyLength::None, 0);  // the head GET would get, without its framing
    return;
  }
  known_ = body == http::BodyLength::Known;
  expected_ = length;
  next().end_head(http::BodyLength::Unknown, 0);
}

void DeflateFilter::write(std::string_view compressed) { next().body(compressed); }

void DeflateFilter::compress(std::string_view data) {
  if (failed_ || finished_ || data.empty()) return;
  if (!encoder_->write(data, *this)) {
    fail();
    return;
  }
  dirty_ = true;
  taken_ += data.size();
  if (known_ && taken_ >= expected_) {  // the announced end (the exchange may not call end_body for a known length)
    ending_ = true;
    if (deferred_.empty()) finish();
  }
}

void DeflateFilter::body(std::string_view data) {
  if (!compressing_) return next().body(data);
  if (headers_only_ || data.empty()) return;
  if (!deferred_.empty()) {  // behind a file range still being compressed
    deferred_.push_back({nullptr, 0, data.size(), std::string(data)});
    deferred_bytes_ += data.size();
    return;
  }
  compress(data);
}

bool DeflateFilter::file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) {
  if (!compressing_) return next().file(std::move(f), offset, length);
  if (headers_only_ || length == 0) return true;
  if (offset + length > f->size) return false;  // the file is shorter than the range: cut
  if (length <= kInlineFile && deferred_.empty()) {
    char* buf = file_buffer();
    while (length > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(length, kFilePiece));
      ssize_t r = ::pread(f->fd, buf, n, static_cast<off_t>(offset));
      if (r != static_cast<ssize_t>(n)) return false;
      compress({buf, n});
      offset += n;
      length -= n;
    }
    return !failed_;
  }
  deferred_.push_back({std::move(f), offset, length, {}});
  deferred_bytes_ += length;
  return true;
}

http::ResponseSink::Result DeflateFilter::pass_through(std::span<const iovec> data, size_t& taken) {
  if (!compressing_) return next().pass_through(data, taken);
  taken = 0;
  for (const iovec& v : data) {
    body({static_cast<const char*>(v.iov_base), v.iov_len});
    taken += v.iov_len;
  }
  return failed_ ? Result::Error : next().flush();
}

http::ResponseSink::Result DeflateFilter::splice(int pipe_fd, size_t len, size_t& moved) {
  PILLAR_ASSERT(!compressing_ && "a compressing filter said it cannot splice");
  return next().splice(pipe_fd, len, moved);
}

void DeflateFilter::end_body() {
  if (!compressing_ || headers_only_) return next().end_body();
  ending_ = true;
  if (deferred_.empty() && !finished_) finish();
}

void DeflateFilter::finish() {
  PILLAR_ASSERT(compressing_ && deferred_.empty());
  if (finished_ || failed_) return;
  if (!encoder_->finish(*this)) return fail();
  finished_ = true;
  next().end_body();
}

void DeflateFilter::fail() {
  if (failed_) return;
  core::log(core::LogLevel::Error, "deflate", "a compressed body was cut: {}",
            encoder_ ? "the encoder failed or the file changed while it was read" : "no encoder");
  failed_ = true;
  deferred_.clear();
  deferred_bytes_ = 0;
}

bool DeflateFilter::pump_deferred() {
  Deferred& d = deferred_.front();
  if (!d.file) {
    std::string text = std::move(d.text);
    deferred_bytes_ -= d.length;
    deferred_.pop_front();
    compress(text);
    return !failed_;
  }
  size_t n = static_cast<size_t>(std::min<uint64_t>(d.length, kFilePiece));
  char* buf = file_buffer();
  ssize_t r = ::pread(d.file->fd, buf, n, static_cast<off_t>(d.offset));
  if (r != static_cast<ssize_t>(n)) return false;  // the file shrank under us
  d.offset += n;
  d.length -= n;
  deferred_bytes_ -= n;
  if (d.length == 0) deferred_.pop_front();
  compress({buf, n});
  return !failed_;
}

http::ResponseSink::Result DeflateFilter::flush() {
  if (!compressing_ || headers_only_) return next().flush();
  for (;;) {
    if (failed_) return Result::Error;
    Result r = next().flush();
    if (r != Result::Done) return r;  // the client is full (Again) or gone
    if (!deferred_.empty()) {
      // Compress only while the sink beneath holds less than a buffer: a
      // full client leaves the rest of the file unread.
      while (!deferred_.empty() && next().pending() < params_.buffer_size) {
        if (!pump_deferred()) {
          fail();
          return Result::Error;
        }
      }
      if (deferred_.empty() && ending_ && !finished_) finish();
      continue;
    }
    if (ending_ && !finished_) {
      finish();
      continue;
    }
    if (!finished_ && dirty_) {
      // Everything queued has left and the exchange wants its bytes out:
      // what zlib holds goes too (mod_deflate's FLUSH bucket).
      dirty_ = false;
      if (!encoder_->sync(*this)) {
        fail();
        return Result::Error;
      }
      continue;
    }
    return Result::Done;
  }
}

uint64_t DeflateFilter::pending() const {
  uint64_t n = next().pending();
  if (!compressing_ || headers_only_) return n;
  if (encoder_) n += encoder_->buffered();
  n += deferred_bytes_;
  if (ending_ && !finished_ && !failed_) n += 1;  // the trailer is still owed
  return n;
}

void DeflateFilter::drop() {
  reset();
  next().drop();
}

}  // namespace pillar::deflate

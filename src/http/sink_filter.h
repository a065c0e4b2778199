// A response filter: a ResponseSink that sits between an exchange and the
// sink beneath it (the carrier's, or another filter's) and changes what
// passes (mod_headers edits the head, mod_deflate the body). This base
// forwards everything unchanged, so a filter overrides only what it alters.
// A filter that changes the body's bytes must also say it cannot pass
// through or splice (those bypass body()).
#pragma once
#include <cassert>

#include "http/exchange.h"

namespace pillar::http {

class SinkFilter : public ResponseSink {
 public:
  void attach(ResponseSink& next) { next_ = &next; }
  // A filter that transforms the content (DEFLATE, BROTLI_COMPRESS): not run
  // on the server's own error and redirect pages, as Apache sends those
  // through the protocol filters only.
  virtual bool content_filter() const { return false; }

  std::string& begin_head(int status, std::string_view reason = {}) override {
    return next().begin_head(status, reason);
  }
  void end_head(BodyLength body, uint64_t length) override { next().end_head(body, length); }
  void raw(std::string_view bytes) override { next().raw(bytes); }
  void body(std::string_view data) override { next().body(data); }
  bool file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) override {
    return next().file(std::move(f), offset, length);
  }
  bool can_pass_through() const override { return next().can_pass_through(); }
  Result pass_through(std::span<const iovec> data, size_t& taken) override { return next().pass_through(data, taken); }
  bool can_splice() const override { return next().can_splice(); }
  Result splice(int pipe_fd, size_t len, size_t& moved) override { return next().splice(pipe_fd, len, moved); }
  void end_body() override { next().end_body(); }
  Result flush() override { return next().flush(); }
  uint64_t pending() const override { return next().pending(); }
  bool writable() const override { return next().writable(); }
  uint64_t written() const override { return next().written(); }
  void drop() override { next().drop(); }

 protected:
  ResponseSink& next() const {
    assert(next_ && "a filter is attached before the exchange writes");
    return *next_;
  }

 private:
  ResponseSink* next_ = nullptr;
};

}  // namespace pillar::http

// A streaming content coder for the compression filter (deflate_filter.h):
// gzip (gzip_encoder.h, zlib) or Brotli (brotli_encoder.h, libbrotli).
// Compressed output is handed on in buffers of a fixed size, as mod_deflate
// and mod_brotli pass them: a full buffer at once, a partial one at sync()
// or finish().
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pillar::deflate {

class Encoder {
 public:
  class Output {
   public:
    virtual ~Output() = default;
    virtual void write(std::string_view compressed) = 0;
  };
  virtual ~Encoder() = default;

  // Compresses `in`; full buffers go to `out`. False on a library error.
  virtual bool write(std::string_view in, Output& out) = 0;
  // Everything written so far goes to `out`, decodable; the stream goes on.
  virtual bool sync(Output& out) = 0;
  // The end of the stream to `out`.
  virtual bool finish(Output& out) = 0;
  virtual size_t buffered() const = 0;  // compressed bytes not yet given out
  virtual uint64_t total_in() const = 0;
  virtual uint64_t total_out() const = 0;
};

}  // namespace pillar::deflate

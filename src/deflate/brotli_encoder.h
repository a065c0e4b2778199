// A Brotli stream (RFC 7932) over libbrotli's encoder, for mod_brotli's
// BROTLI_COMPRESS filter: BrotliCompressionQuality (0-11, Apache's
// default 5), BrotliCompressionWindow (10-24, default 18) and
// BrotliCompressionMaxInputBlock (16-24, 0: the library's choice). A
// Brotli state cannot be reset for another stream, so each response makes
// its own (no pool, unlike gzip).
#pragma once
#include <cstdint>
#include <memory>

#include <brotli/encode.h>

#include "deflate/encoder.h"

namespace pillar::deflate {

class BrotliEncoder final : public Encoder {
 public:
  struct Params {
    int quality = 5;
    int window = 18;
    int max_input_block = 0;
    uint32_t buffer_size = 8096;
  };
  // Null when the library cannot be set up (out of memory).
  static std::unique_ptr<BrotliEncoder> create(const Params& p);
  ~BrotliEncoder() override;
  BrotliEncoder(const BrotliEncoder&) = delete;
  BrotliEncoder& operator=(const BrotliEncoder&) = delete;

  bool write(std::string_view in, Output& out) override;
  bool sync(Output& out) override;
  bool finish(Output& out) override;
  size_t buffered() const override { return used_; }
  uint64_t total_in() const override { return in_; }
  uint64_t total_out() const override { return out_; }

 private:
  explicit BrotliEncoder(const Params& p) : p_(p) {}
  bool run(BrotliEncoderOperation op, std::string_view in, Output& out);
  void give(Output& out);

  Params p_;
  BrotliEncoderState* s_ = nullptr;
  std::unique_ptr<uint8_t[]> buf_;
  size_t used_ = 0;  // bytes of buf_ holding output
  uint64_t in_ = 0, out_ = 0;
};

}  // namespace pillar::deflate

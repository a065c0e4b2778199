// A gzip stream (RFC 1952) over zlib's deflate, for the DEFLATE response
// filter. Output goes out in buffers of DeflateBufferSize bytes, as
// mod_deflate passes them on: a full buffer is handed to the caller's
// Output at once, a partial one waits for more input, a sync() or the
// finish(). Encoders are pooled per thread by their settings and reset
// between responses, so a compressed response does not allocate zlib's
// few hundred KiB of state each time.
#pragma once
#include <cstdint>
#include <memory>
#include <string_view>

#include <zlib.h>

#include "deflate/encoder.h"

namespace pillar::deflate {

class GzipEncoder final : public Encoder {
 public:
  struct Params {
    int level = 6;                // 1-9
    int window_bits = 15;         // 9-15 (DeflateWindowSize; smaller values are raised to 9)
    int mem_level = 9;            // 1-9
    uint32_t buffer_size = 8096;  // DeflateBufferSize
    bool operator==(const Params&) const = default;
  };

  // An encoder for `p` from this thread's pool (reset), or a new one; null
  // when zlib cannot be set up (out of memory).
  static std::unique_ptr<GzipEncoder> acquire(const Params& p);
  // Back to this thread's pool (a few are kept; the rest are freed).
  static void release(std::unique_ptr<GzipEncoder> e);

  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;
  ~GzipEncoder() override;

  // Compresses `in`; full buffers go to `out`. False on a zlib error.
  bool write(std::string_view in, Output& out) override;
  // Everything written so far goes to `out`, decodable (Z_SYNC_FLUSH); the
  // stream goes on.
  bool sync(Output& out) override;
  // The end of the stream (the CRC and length trailer) to `out`.
  bool finish(Output& out) override;
  size_t buffered() const override { return size_t(p_.buffer_size) - z_.avail_out; }
  uint64_t total_in() const override { return z_.total_in; }
  uint64_t total_out() const override { return z_.total_out; }
  const Params& params() const { return p_; }

 private:
  explicit GzipEncoder(const Params& p) : p_(p) {}
  bool init();
  bool run(int flush, Output& out);
  void give(Output& out);  // the buffer's bytes to `out`, then an empty buffer

  Params p_;
  z_stream z_{};
  bool ready_ = false;
  std::unique_ptr<unsigned char[]> buf_;
};

}  // namespace pillar::deflate

// Decoders for the compressed bodies the tests receive (deflate_test,
// http2_test): whole streams, in memory.
#pragma once
#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <string_view>

namespace itest {

// Brotli-decodes a whole stream; `complete` says whether it ended.
inline std::string unbrotli(std::string_view br, bool* complete = nullptr) {
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
  } while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT || BrotliDecoderHasMoreOutput(d));
  if (complete) *complete = rc == BROTLI_DECODER_RESULT_SUCCESS;
  BrotliDecoderDestroyInstance(d);
  return out;
}

// gunzip of a whole stream; `complete` says whether it reached its trailer.
inline std::string gunzip(std::string_view gz, bool* complete = nullptr) {
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
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  if (complete) *complete = rc == Z_STREAM_END;
  inflateEnd(&z);
  return out;
}

}  // namespace itest

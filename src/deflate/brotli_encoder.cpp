#include "deflate/brotli_encoder.h"

#include <algorithm>

#include "core/assert.h"

namespace pillar::deflate {

std::unique_ptr<BrotliEncoder> BrotliEncoder::create(const Params& p) {
  PILLAR_ASSERT(p.buffer_size > 0);
  std::unique_ptr<BrotliEncoder> e(new BrotliEncoder(p));
  e->s_ = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
  if (!e->s_) return nullptr;
  BrotliEncoderSetParameter(e->s_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(std::clamp(p.quality, 0, 11)));
  BrotliEncoderSetParameter(e->s_, BROTLI_PARAM_LGWIN, static_cast<uint32_t>(std::clamp(p.window, 10, 24)));
  if (p.max_input_block)
    BrotliEncoderSetParameter(e->s_, BROTLI_PARAM_LGBLOCK, static_cast<uint32_t>(std::clamp(p.max_input_block, 16, 24)));
  e->buf_ = std::make_unique<uint8_t[]>(p.buffer_size);
  return e;
}

BrotliEncoder::~BrotliEncoder() {
  if (s_) BrotliEncoderDestroyInstance(s_);
}

void BrotliEncoder::give(Output& out) {
  if (used_ > 0) out.write({reinterpret_cast<const char*>(buf_.get()), used_});
  out_ += used_;
  used_ = 0;
}

bool BrotliEncoder::run(BrotliEncoderOperation op, std::string_view in, Output& out) {
  size_t avail_in = in.size();
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
  for (;;) {
    if (used_ == p_.buffer_size) give(out);
    size_t avail_out = p_.buffer_size - used_;
    uint8_t* next_out = buf_.get() + used_;
    if (!BrotliEncoderCompressStream(s_, op, &avail_in, &next_in, &avail_out, &next_out, nullptr)) return false;
    used_ = p_.buffer_size - avail_out;
    const bool more_out = BrotliEncoderHasMoreOutput(s_);
    if (op == BROTLI_OPERATION_PROCESS) {
      if (avail_in == 0 && !more_out) break;
    } else if (op == BROTLI_OPERATION_FLUSH) {
      if (avail_in == 0 && !more_out) break;
    } else if (BrotliEncoderIsFinished(s_)) {
      break;
    }
  }
  in_ += in.size();
  return true;
}

bool BrotliEncoder::write(std::string_view in, Output& out) { return in.empty() || run(BROTLI_OPERATION_PROCESS, in, out); }

bool BrotliEncoder::sync(Output& out) {
  if (!run(BROTLI_OPERATION_FLUSH, {}, out)) return false;
  give(out);
  return true;
}

bool BrotliEncoder::finish(Output& out) {
  if (!run(BROTLI_OPERATION_FINISH, {}, out)) return false;
  give(out);
  return true;
}

}  // namespace pillar::deflate

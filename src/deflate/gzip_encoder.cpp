// zlib writes the gzip header and trailer itself (windowBits + 16): the
// header has no name and no time, as Apache's fixed one.
#include "deflate/gzip_encoder.h"

#include <algorithm>
#include <vector>

#include "core/assert.h"

namespace pillar::deflate {

namespace {

constexpr size_t kPoolMax = 8;  // encoders kept per thread

std::vector<std::unique_ptr<GzipEncoder>>& pool() {
  thread_local std::vector<std::unique_ptr<GzipEncoder>> p;
  return p;
}

}  // namespace

std::unique_ptr<GzipEncoder> GzipEncoder::acquire(const Params& p) {
  auto& pl = pool();
  for (size_t i = pl.size(); i-- > 0;) {
    if (pl[i]->p_ == p) {
      std::unique_ptr<GzipEncoder> e = std::move(pl[i]);
      pl.erase(pl.begin() + static_cast<std::ptrdiff_t>(i));
      return e;
    }
  }
  std::unique_ptr<GzipEncoder> e(new GzipEncoder(p));
  if (!e->init()) return nullptr;
  return e;
}

void GzipEncoder::release(std::unique_ptr<GzipEncoder> e) {
  if (!e) return;
  if (deflateReset(&e->z_) != Z_OK) return;  // freed
  e->z_.next_out = e->buf_.get();
  e->z_.avail_out = e->p_.buffer_size;
  auto& pl = pool();
  if (pl.size() >= kPoolMax) pl.erase(pl.begin());  // the oldest goes
  pl.push_back(std::move(e));
}

GzipEncoder::~GzipEncoder() {
  if (ready_) deflateEnd(&z_);
}

bool GzipEncoder::init() {
  PILLAR_ASSERT(p_.buffer_size > 0);
  const int bits = std::clamp(p_.window_bits, 9, 15);  // zlib's raw deflate takes 9-15 (8 means 9)
  if (deflateInit2(&z_, p_.level, Z_DEFLATED, bits + 16, std::clamp(p_.mem_level, 1, 9), Z_DEFAULT_STRATEGY) != Z_OK)
    return false;
  ready_ = true;
  buf_ = std::make_unique<unsigned char[]>(p_.buffer_size);
  z_.next_out = buf_.get();
  z_.avail_out = p_.buffer_size;
  return true;
}

void GzipEncoder::give(Output& out) {
  size_t n = buffered();
  if (n > 0) out.write({reinterpret_cast<const char*>(buf_.get()), n});
  z_.next_out = buf_.get();
  z_.avail_out = p_.buffer_size;
}

bool GzipEncoder::run(int flush, Output& out) {
  for (;;) {
    if (z_.avail_out == 0) give(out);
    int rc = ::deflate(&z_, flush);
    if (rc == Z_STREAM_END) return true;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
    if (flush == Z_FINISH) {
      if (rc == Z_BUF_ERROR && z_.avail_out > 0) return false;  // no progress with room: a stream already ended
      continue;  // until Z_STREAM_END
    }
    // Done when zlib has taken all input and, for a flush, had room to spare.
    if (z_.avail_in == 0 && (flush == Z_NO_FLUSH || z_.avail_out > 0)) return true;
  }
}

bool GzipEncoder::write(std::string_view in, Output& out) {
  while (!in.empty()) {
    // zlib counts in uInt: feed a huge piece in parts.
    size_t n = std::min<size_t>(in.size(), 1u << 30);
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(n);
    if (!run(Z_NO_FLUSH, out)) return false;
    in.remove_prefix(n);
  }
  z_.next_in = nullptr;
  return true;
}

bool GzipEncoder::sync(Output& out) {
  z_.avail_in = 0;
  if (!run(Z_SYNC_FLUSH, out)) return false;
  give(out);
  return true;
}

bool GzipEncoder::finish(Output& out) {
  z_.avail_in = 0;
  if (!run(Z_FINISH, out)) return false;
  give(out);
  return true;
}

}  // namespace pillar::deflate

// The steps, from the algorithm's description: an MD5 of password, magic
// and salt, mixed with an MD5 of password+salt+password; 1000 rounds that
// alternate the inputs; the 16 bytes written in crypt's base-64 alphabet in
// a fixed order of 4-character groups.
#include "auth/apr1_md5.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "core/assert.h"

namespace pillar::auth {

namespace {

constexpr std::string_view kMagic = "$apr1$";
constexpr char kItoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { PILLAR_ASSERT(ctx_); }
  void begin() { PILLAR_ASSERT(EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr) == 1); }
  void add(std::string_view s) { EVP_DigestUpdate(ctx_.get(), s.data(), s.size()); }
  void add(const unsigned char* p, size_t n) { EVP_DigestUpdate(ctx_.get(), p, n); }
  void end(unsigned char out[16]) {
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &n);
    PILLAR_ASSERT(n == 16);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
};

void to64(std::string& out, unsigned long v, int n) {
  while (n-- > 0) {
    out += kItoa64[v & 0x3f];
    v >>= 6;
  }
}

}  // namespace

std::string apr1_md5(std::string_view pw, std::string_view salt) {
  salt = salt.substr(0, std::min<size_t>(salt.find('$'), 8));
  Md5 ctx, alt;
  unsigned char final[16];

  alt.begin();
  alt.add(pw);
  alt.add(salt);
  alt.add(pw);
  alt.end(final);

  ctx.begin();
  ctx.add(pw);
  ctx.add(kMagic);
  ctx.add(salt);
  for (size_t left = pw.size(); left > 0; left -= std::min<size_t>(left, 16)) ctx.add(final, std::min<size_t>(left, 16));
  // One byte per bit of the password's length: a zero for a set bit, the
  // password's first character for a clear one.
  const unsigned char zero = 0;
  for (size_t i = pw.size(); i != 0; i >>= 1) {
    if (i & 1) ctx.add(&zero, 1);
    else ctx.add(reinterpret_cast<const unsigned char*>(pw.data()), 1);
  }
  ctx.end(final);

  for (int i = 0; i < 1000; ++i) {
    ctx.begin();
    if (i & 1) ctx.add(pw);
    else ctx.add(final, 16);
    if (i % 3) ctx.add(salt);
    if (i % 7) ctx.add(pw);
    if (i & 1) ctx.add(final, 16);
    else ctx.add(pw);
    ctx.end(final);
  }

  std::string out(kMagic);
  out.append(salt);
  out += '$';
  auto b = [&](int i) { return static_cast<unsigned long>(final[i]); };
  to64(out, (b(0) << 16) | (b(6) << 8) | b(12), 4);
  to64(out, (b(1) << 16) | (b(7) << 8) | b(13), 4);
  to64(out, (b(2) << 16) | (b(8) << 8) | b(14), 4);
  to64(out, (b(3) << 16) | (b(9) << 8) | b(15), 4);
  to64(out, (b(4) << 16) | (b(10) << 8) | b(5), 4);
  to64(out, b(11), 2);
  return out;
}

}  // namespace pillar::auth

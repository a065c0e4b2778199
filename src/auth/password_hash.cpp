#include "auth/password_hash.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <memory>
#include <string>

#include "auth/apr1_md5.h"
#include "core/base64.h"

namespace pillar::auth {

namespace {

bool same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool des_hash(std::string_view h) {
  if (h.size() != 13) return false;
  for (char c : h) {
    if (!(c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
      return false;
  }
  return true;
}

bool system_crypt(std::string_view password, std::string_view hash) {
  // crypt_r's work area is 32 KiB: one per thread, not on the stack.
  thread_local std::unique_ptr<crypt_data> data = std::make_unique<crypt_data>();
  std::string pw(password), h(hash);  // NUL-terminated copies
  *data = crypt_data{};
  const char* out = crypt_r(pw.c_str(), h.c_str(), data.get());
  bool ok = out && out[0] != '*' && same(out, hash);
  OPENSSL_cleanse(pw.data(), pw.size());
  return ok;
}

}  // namespace

HashFormat hash_format(std::string_view h) {
  if (h.starts_with("$apr1$")) return HashFormat::Apr1;
  if (h.starts_with("{SHA}")) return HashFormat::Sha1;
  if (h.starts_with("$2y$") || h.starts_with("$2b$") || h.starts_with("$2a$")) return HashFormat::Bcrypt;
  if (h.starts_with("$1$") || h.starts_with("$5$") || h.starts_with("$6$") || des_hash(h)) return HashFormat::Crypt;
  return HashFormat::Plain;
}

const char* hash_format_name(HashFormat f) {
  switch (f) {
    case HashFormat::Apr1: return "apr1-MD5";
    case HashFormat::Sha1: return "SHA-1";
    case HashFormat::Bcrypt: return "bcrypt";
    case HashFormat::Crypt: return "crypt";
    case HashFormat::Plain: break;
  }
  return "plain text";
}

bool verify_password(std::string_view password, std::string_view hash) {
  switch (hash_format(hash)) {
    case HashFormat::Apr1: {
      std::string salt(hash.substr(6));
      return same(apr1_md5(password, salt), hash);
    }
    case HashFormat::Sha1: {
      unsigned char d[SHA_DIGEST_LENGTH];
      SHA1(reinterpret_cast<const unsigned char*>(password.data()), password.size(), d);
      return same("{SHA}" + core::base64_encode({reinterpret_cast<const char*>(d), sizeof d}), hash);
    }
    case HashFormat::Bcrypt:
    case HashFormat::Crypt:
      return system_crypt(password, hash);
    case HashFormat::Plain:
      break;  // Apache on Unix does not take plain-text passwords
  }
  return false;
}

}  // namespace pillar::auth

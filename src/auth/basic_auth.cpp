#include "auth/basic_auth.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <unordered_map>

#include "auth/auth_files.h"
#include "auth/password_hash.h"
#include "core/assert.h"
#include "core/base64.h"
#include "core/log.h"
#include "core/text.h"

namespace pillar::auth {

namespace {

constexpr size_t kRemembered = 1024;  // verified pairs kept per thread

// HMAC-SHA-256 of the password under a key made once per process.
std::string password_tag(std::string_view password) {
  static unsigned char key[32];
  static bool made = [] { return RAND_bytes(key, sizeof key) == 1; }();
  PILLAR_ASSERT(made);
  unsigned char out[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key, sizeof key, reinterpret_cast<const unsigned char*>(password.data()), password.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

struct Remembered {
  uint64_t generation;  // the file's reading it was verified against
  std::string tag;
};

std::unordered_map<std::string, Remembered>& remembered() {
  thread_local std::unordered_map<std::string, Remembered> m;
  return m;
}

}  // namespace

bool parse_basic(std::string_view v, BasicCredentials& out) {
  v = core::trim_ows(v);
  if (v.size() < 6 || !core::iequals(v.substr(0, 5), "Basic") || (v[5] != ' ' && v[5] != '\t')) return false;
  auto decoded = core::base64_decode(core::trim_ows(v.substr(6)));
  if (!decoded) return false;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return false;
  out.user = decoded->substr(0, colon);
  out.password = decoded->substr(colon + 1);
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return true;
}

namespace {
std::string remembered_key(const std::string& path, const BasicCredentials& c) {
  std::string key = path;
  key += '\0';
  key += c.user;
  return key;
}
}  // namespace

Authn lookup_password(const std::string& path, const BasicCredentials& c, uint64_t now_ms, std::string& error,
                      PasswordLookup& out) {
  const UserFile* f = user_file(path, now_ms, error);
  if (!f) return Authn::FileError;
  auto it = f->hashes.find(c.user);
  if (it == f->hashes.end()) return Authn::UnknownUser;
  const std::string tag = password_tag(c.password);
  auto& mem = remembered();
  if (auto r = mem.find(remembered_key(path, c)); r != mem.end() && r->second.generation == f->generation &&
                                                  r->second.tag.size() == tag.size() &&
                                                  CRYPTO_memcmp(r->second.tag.data(), tag.data(), tag.size()) == 0)
    return Authn::Granted;
  if (hash_format(it->second) == HashFormat::Plain) {
    core::log(core::LogLevel::Error, "auth_basic",
              "user {} in {}: the password is not a hash Apache accepts on this platform (plain text?); "
              "make it again with htpasswd -B", c.user, path);
    return Authn::Mismatch;
  }
  out.hash = it->second;
  out.generation = f->generation;
  return Authn::Verify;
}

void remember_password(const std::string& path, const BasicCredentials& c, uint64_t generation) {
  auto& mem = remembered();
  if (mem.size() >= kRemembered) mem.clear();
  mem[remembered_key(path, c)] = Remembered{generation, password_tag(c.password)};
}

bool slow_hash(std::string_view hash) {
  const HashFormat f = hash_format(hash);
  return f == HashFormat::Bcrypt || (f == HashFormat::Crypt && (hash.starts_with("$5$") || hash.starts_with("$6$")));
}

Authn check_password(const std::string& path, const BasicCredentials& c, uint64_t now_ms, std::string& error) {
  PasswordLookup l;
  const Authn a = lookup_password(path, c, now_ms, error, l);
  if (a != Authn::Verify) return a;
  if (!verify_password(c.password, l.hash)) return Authn::Mismatch;
  remember_password(path, c, l.generation);
  return Authn::Granted;
}

}  // namespace pillar::auth

#include "tls/openssl_util.h"

#include <openssl/err.h>

#include <utility>

#include "config/model.h"
#include "core/assert.h"

namespace pillar::tls {

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

void set_protocols(SSL_CTX* ctx, uint8_t bits) {
  using config::SslConfig;
  static constexpr std::pair<uint8_t, int> kVersions[] = {
      {SslConfig::kTls1, TLS1_VERSION}, {SslConfig::kTls11, TLS1_1_VERSION},
      {SslConfig::kTls12, TLS1_2_VERSION}, {SslConfig::kTls13, TLS1_3_VERSION}};
  static constexpr uint64_t kNoOpt[] = {SSL_OP_NO_TLSv1, SSL_OP_NO_TLSv1_1, SSL_OP_NO_TLSv1_2, SSL_OP_NO_TLSv1_3};
  int lo = 0, hi = 0;
  for (const auto& [bit, v] : kVersions) {
    if (!(bits & bit)) continue;
    if (!lo) lo = v;
    hi = v;
  }
  PILLAR_ASSERT(lo != 0);  // the directives refuse an empty set
  SSL_CTX_set_min_proto_version(ctx, lo);
  SSL_CTX_set_max_proto_version(ctx, hi);
  for (size_t i = 0; i < 4; ++i) {
    if (!(bits & kVersions[i].first)) SSL_CTX_set_options(ctx, kNoOpt[i]);
  }
}

}  // namespace pillar::tls

// Small pieces every TLS context builder needs (server and client side).
#pragma once
#include <openssl/ssl.h>

#include <cstdint>
#include <string>

namespace pillar::tls {

// The OpenSSL error queue as one line (and emptied).
std::string openssl_errors();

// SSLProtocol's bits (config::SslConfig::kTls*) as the context's version
// range, with a gap inside the range (TLSv1 +TLSv1.2) switched off.
void set_protocols(SSL_CTX* ctx, uint8_t bits);

}  // namespace pillar::tls

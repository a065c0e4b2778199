#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

#include "core/assert.h"

namespace pillar::tls {

namespace {

void fresh(TicketKeys::Key& k) {
  bool ok = RAND_bytes(k.name, sizeof k.name) == 1 && RAND_bytes(k.aes, sizeof k.aes) == 1 &&
            RAND_bytes(k.hmac, sizeof k.hmac) == 1;
  PILLAR_ASSERT(ok && "the OpenSSL random generator failed");
}

int set_mac_key(EVP_MAC_CTX* hctx, const TicketKeys::Key& k) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(k.hmac), sizeof k.hmac),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  return EVP_MAC_CTX_set_params(hctx, params);
}

}  // namespace

TicketKeys& TicketKeys::instance() {
  static TicketKeys keys;
  return keys;
}

TicketKeys::TicketKeys() {
  cipher_ = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  PILLAR_ASSERT(cipher_ != nullptr);
  fresh(current_);
}

void TicketKeys::rotate() {
  previous_ = current_;
  have_previous_ = true;
  fresh(current_);
}

void TicketKeys::install(SSL_CTX* ctx) { SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeys::callback); }

// OpenSSL's contract: enc=1 fills name and iv and initialises both contexts
// (return 1); enc=0 finds the key by name (0: unknown, a full handshake;
// 1: fine; 2: fine but issue a new ticket with the current key).
int TicketKeys::callback(SSL*, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx,
                         int enc) {
  TicketKeys& self = instance();
  if (enc) {
    const Key& k = self.current_;
    std::memcpy(key_name, k.name, sizeof k.name);
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    if (EVP_EncryptInit_ex(cctx, self.cipher_, nullptr, k.aes, iv) != 1) return -1;
    return set_mac_key(hctx, k) == 1 ? 1 : -1;
  }
  const Key* k = nullptr;
  int ret = 1;
  if (std::memcmp(key_name, self.current_.name, sizeof self.current_.name) == 0) {
    k = &self.current_;
  } else if (self.have_previous_ && std::memcmp(key_name, self.previous_.name, sizeof self.previous_.name) == 0) {
    k = &self.previous_;
    ret = 2;
  }
  if (!k) return 0;
  if (set_mac_key(hctx, *k) != 1) return -1;
  if (EVP_DecryptInit_ex(cctx, self.cipher_, nullptr, k->aes, iv) != 1) return -1;
  return ret;
}

}  // namespace pillar::tls

#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

#include "core/assert.h"
#include "core/clock.h"
#include "core/fault_point.h"

namespace pillar::tls {

namespace {

using core::shm::TicketKey;
using core::shm::TicketKeySet;

TicketKey fresh(uint64_t now_ms) {
  TicketKey k{};
  bool ok = RAND_bytes(k.name, sizeof k.name) == 1 && RAND_bytes(k.aes, sizeof k.aes) == 1 &&
            RAND_bytes(k.hmac, sizeof k.hmac) == 1;
  PILLAR_ASSERT(ok && "the OpenSSL random generator failed");
  k.created_ms = now_ms;
  return k;
}

uint64_t lifetime_for(std::chrono::milliseconds period) { return 2 * static_cast<uint64_t>(period.count()); }

int set_mac_key(EVP_MAC_CTX* hctx, const TicketKey& k) {
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
  TicketKeySet s;
  s.count = 1;
  s.generation = 1;
  s.lifetime_ms = lifetime_for(kDefaultPeriod);
  s.keys[0] = fresh(core::mono_ms());
  own_.publish(s);
}

void TicketKeys::attach(core::shm::TicketKeyTable* table, std::chrono::milliseconds period) {
  TicketKeySet s;
  if (!table->read(s)) {
    s = TicketKeySet{};
    s.count = 1;
    s.generation = 1;
    s.lifetime_ms = lifetime_for(period);
    s.keys[0] = fresh(core::mono_ms());
    table->publish(s);
  }
  table_ = table;
}

core::shm::TicketKeySet TicketKeys::current() const {
  TicketKeySet s;
  table_->read(s);
  return s;
}

uint64_t TicketKeys::generation() const {
  TicketKeySet s = current();
  uint64_t g = s.generation;
  OPENSSL_cleanse(&s, sizeof s);
  return g;
}

uint64_t TicketKeys::rotate(std::chrono::milliseconds period) {
  TicketKeySet old = current();
  TicketKeySet s;
  s.keys[0] = fresh(core::mono_ms());
  s.keys[1] = old.keys[0];
  s.count = old.count > 0 ? 2 : 1;
  s.generation = old.generation + 1;
  s.lifetime_ms = lifetime_for(period);
  // PILLAR_FAULT_POINT=tls-ticket-key-rotation stops or kills the master
  // half-way through writing the new set (tests: workers keep a whole set).
  table_->publish(s, [](size_t step) {
    if (step == core::shm::TicketKeyTable::kSteps / 2) PILLAR_FAULT_POINT("tls-ticket-key-rotation");
    return true;
  });
  const uint64_t generation = s.generation;
  OPENSSL_cleanse(&old, sizeof old);  // no stray copies of key bytes on the stack
  OPENSSL_cleanse(&s, sizeof s);
  return generation;
}

bool TicketKeys::maintain(std::chrono::milliseconds period, uint64_t now_ms) {
  TicketKeySet s = current();
  bool rotated = false;
  if (s.count == 0 || now_ms >= s.keys[0].created_ms + static_cast<uint64_t>(period.count())) {
    rotate(period);
    rotated = true;
  } else if (s.lifetime_ms != lifetime_for(period)) {
    s.lifetime_ms = lifetime_for(period);
    table_->publish(s);
  }
  OPENSSL_cleanse(&s, sizeof s);
  return rotated;
}

void TicketKeys::install(SSL_CTX* ctx) { SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketKeys::callback); }

// OpenSSL's contract: enc=1 fills name and iv and initialises both contexts
// (return 1); enc=0 finds the key by name (0: unknown, a full handshake;
// 1: fine; 2: fine but issue a new ticket with the current key).
int TicketKeys::callback(SSL*, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx,
                         int enc) {
  TicketKeys& self = instance();
  TicketKeySet set;
  // No set (it never held still): no ticket this time (enc: an empty one), a full handshake.
  if (!self.table_->read(set) || set.count == 0) return 0;
  int ret = -1;
  if (enc) {
    const TicketKey& k = set.keys[0];
    std::memcpy(key_name, k.name, sizeof k.name);
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) == 1 && EVP_EncryptInit_ex(cctx, self.cipher_, nullptr, k.aes, iv) == 1 &&
        set_mac_key(hctx, k) == 1)
      ret = 1;
  } else {
    const uint64_t now = core::mono_coarse_ms();
    const TicketKey* k = nullptr;
    uint32_t i = 0;
    for (; i < set.count && i < TicketKeySet::kMax; ++i) {
      if (std::memcmp(key_name, set.keys[i].name, sizeof set.keys[i].name) == 0) {
        k = &set.keys[i];
        break;
      }
    }
    if (!k || now > k->created_ms + set.lifetime_ms) {
      ret = 0;  // unknown, or older than two periods: a full handshake
    } else if (set_mac_key(hctx, *k) == 1 && EVP_DecryptInit_ex(cctx, self.cipher_, nullptr, k->aes, iv) == 1) {
      ret = i == 0 ? 1 : 2;  // the previous key: renew the ticket under the current one
    }
  }
  OPENSSL_cleanse(&set, sizeof set);
  return ret;
}

}  // namespace pillar::tls

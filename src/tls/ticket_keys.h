// Session-ticket keys shared by every worker, in shared memory
// (core::shm::TicketKeyTable): the master makes them before it forks and
// rotates them on its timer (PillarTLSTicketKeyRotation, 12 h by default),
// so a ticket issued by one worker is opened by any other, of any
// generation (a graceful reload keeps the table). Each handshake reads the
// current set from the table (lock-free, a few hundred bytes copied), so a
// rotation reaches every worker at once. The set holds the current key
// (issues tickets) and the previous one (opens tickets, which are then
// renewed under the current key); a key older than two rotation periods
// opens nothing, even when the master has stopped rotating, so no ticket
// lives longer than two periods (SSLSessionCacheTimeout may cut it sooner).
// Keys come from RAND_bytes and are never logged.
//
// Without attach() (`pillar -t`, unit tests) the keys live in a table in the
// process's own memory.
//
// The ticket callback uses a cipher fetched once here: OpenSSL 3's
// per-handshake EVP_*_fetch by name is a known cost.
#pragma once
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>

#include "core/shm/ticket_key_table.h"

namespace pillar::tls {

class TicketKeys {
 public:
  static constexpr std::chrono::milliseconds kDefaultPeriod{12LL * 3600 * 1000};

  static TicketKeys& instance();
  // Master, before forking: the keys live in `table` (shared memory) from
  // now on; a table that has no keys yet gets a fresh set.
  void attach(core::shm::TicketKeyTable* table, std::chrono::milliseconds period);
  // Makes `ctx` issue and accept tickets with these keys.
  void install(SSL_CTX* ctx);

  // Master: a new current key; the current one becomes the previous one
  // (opens tickets only), the previous one is dropped. `period` sets the
  // keys' lifetime (two periods). Returns the new generation.
  uint64_t rotate(std::chrono::milliseconds period);
  // Master's timer: rotates when the current key is `period` old, or
  // republishes the set when the period changed (a reload). True when it rotated.
  bool maintain(std::chrono::milliseconds period, uint64_t now_ms);
  // The set readers see now (for tests and status: cleanse the copy).
  core::shm::TicketKeySet current() const;
  uint64_t generation() const;

 private:
  TicketKeys();
  static int callback(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx,
                      int enc);
  core::shm::TicketKeyTable own_;              // until attach()
  core::shm::TicketKeyTable* table_ = &own_;
  EVP_CIPHER* cipher_ = nullptr;  // AES-256-CBC, fetched once
};

}  // namespace pillar::tls

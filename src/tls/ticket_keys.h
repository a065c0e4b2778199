// Session-ticket keys shared by every worker: made once in the master, before
// it forks, so a ticket issued by one worker is opened by any other (a
// client resumes whichever worker accepts it). The master keeps them across
// graceful reloads (the process and this object live on; each generation's
// contexts install the same keys). A full stop loses them, as intended.
//
// The ticket callback uses a cipher and a MAC fetched once here: OpenSSL 3's
// per-handshake EVP_*_fetch by name is a known cost.
#pragma once
#include <openssl/ssl.h>

#include <cstdint>

namespace pillar::tls {

class TicketKeys {
 public:
  // The process's keys, generated on first use (call it in the master).
  static TicketKeys& instance();
  // Makes `ctx` issue and accept tickets with these keys.
  void install(SSL_CTX* ctx);
  // Fresh keys; tickets issued with the previous ones are still accepted
  // (and renewed) until the next rotation. Not scheduled yet.
  void rotate();

  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
  };

 private:
  TicketKeys();
  static int callback(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx,
                      int enc);
  Key current_{}, previous_{};
  bool have_previous_ = false;
  EVP_CIPHER* cipher_ = nullptr;  // AES-256-CBC, fetched once
};

}  // namespace pillar::tls

// The client-side TLS context of one balancer with https:// members
// (mod_ssl's SSLProxy*): built once in the master at load, as the server
// contexts are, so workers inherit it ready. `pillar -t` builds it too: a
// missing CA file or machine certificate fails the check with its line.
//
// Verification (SSLProxyVerify): require refuses a member whose certificate
// does not chain to SSLProxyCACertificateFile (or, without one, to the
// system's CAs); optional and optional_no_ca look but go on; none does not
// look. Independently, as in Apache, SSLProxyCheckPeerName compares the
// member's host with the certificate's names and SSLProxyCheckPeerExpire
// its validity dates, and either failing ends the connection (502).
#pragma once
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/model.h"

namespace pillar::tls {

class ClientContext {
 public:
  // Errors name the directive's file:line; null when any.
  static std::unique_ptr<ClientContext> build(const config::SslProxyConfig& c, const std::string& balancer,
                                              std::vector<config::ConfigError>& errors);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  bool require_verified() const { return require_; }
  bool check_peer_name() const { return check_name_; }
  bool check_peer_expire() const { return check_expire_; }

 private:
  ClientContext(SSL_CTX* ctx, bool require, bool name, bool expire)
      : ctx_(ctx), require_(require), check_name_(name), check_expire_(expire) {}
  SSL_CTX* ctx_;
  bool require_, check_name_, check_expire_;
};

// The checks SSLProxyCheckPeerName and SSLProxyCheckPeerExpire make on a
// finished handshake; empty when they pass, else why not (for the log).
std::string check_member_certificate(SSL* ssl, const ClientContext& ctx, const std::string& name);

}  // namespace pillar::tls

// The TLS contexts of one configuration: one server-side SSL_CTX per vhost
// certificate set (vhosts with the same SSL settings share one), built once
// in the master at load, before it forks, so workers inherit them ready
// (no per-handshake loading or fetching). `pillar -t` builds the same set,
// so whatever would fail at start (unreadable files, a key that does not
// match its certificate, a bad cipher string) fails the check with the
// directive's file:line. The client side toward https:// balancer members
// has one context per balancer that has such members (client_context.h).
#pragma once
#include <openssl/ssl.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/model.h"
#include "tls/client_context.h"

namespace pillar::tls {

class ServerContext {
 public:
  // Takes ownership of `ctx`.
  ServerContext(SSL_CTX* ctx, bool strict_sni, std::string ciphers, std::string ciphersuites)
      : ctx_(ctx), strict_sni_(strict_sni), ciphers_(std::move(ciphers)), ciphersuites_(std::move(ciphersuites)) {}
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  bool strict_sni() const { return strict_sni_; }
  // The earliest notAfter of its certificates (for expiry warnings/metrics).
  time_t not_after() const { return not_after_; }
  // Its cipher lists: a connection switched to it by SNI takes them too
  // (SSL_set_SSL_CTX moves only the certificates).
  const std::string& ciphers() const { return ciphers_; }
  const std::string& ciphersuites() const { return ciphersuites_; }
  // OCSP stapling: the response kept for one of its certificates.
  void add_staple(X509* cert, std::string der);
  const std::string* staple_for(const X509* cert) const {
    for (const auto& s : staples_)
      if (s.cert == cert) return &s.der;
    return nullptr;
  }
  size_t staples() const { return staples_.size(); }
  // A certificate of the context expires at `t`.
  void note_not_after(time_t t) {
    if (not_after_ == 0 || t < not_after_) not_after_ = t;
  }

 private:
  SSL_CTX* ctx_;
  bool strict_sni_;
  std::string ciphers_, ciphersuites_;
  time_t not_after_ = 0;
  struct Staple {
    X509* cert;  // a reference held (the pointer the handshake's SSL_get_certificate returns)
    std::string der;
  };
  std::vector<Staple> staples_;
};

class ContextSet {
 public:
  // A certificate expiring sooner than this is warned about.
  static constexpr int kExpiryWarnDays = 14;

  // Builds the contexts of every vhost with SSLEngine on (the main server
  // included), and checks that each https Listen is served by one. Errors
  // make the set unusable; warnings ("FILE:LINE: warning: ...") do not.
  // `fetch_ocsp`: ask OCSP responders now (the master at load; not
  // `pillar -t`, which only checks that stapling can work).
  static std::unique_ptr<ContextSet> build(const config::ServerConfig& cfg, std::vector<config::ConfigError>& errors,
                                           std::vector<std::string>& warnings, bool fetch_ocsp = false);

  // The context of vhost `index` (-1: the main server), null when its
  // SSLEngine is off.
  const ServerContext* for_vhost(int index) const {
    size_t i = static_cast<size_t>(index + 1);
    return i < by_vhost_.size() ? by_vhost_[i] : nullptr;
  }
  bool empty() const { return owned_.empty(); }
  // The client context of balancer `index` (ServerConfig::balancers), null
  // when it has no https:// member.
  const ClientContext* for_balancer(size_t index) const {
    return index < by_balancer_.size() ? by_balancer_[index].get() : nullptr;
  }

 private:
  std::vector<std::unique_ptr<ClientContext>> by_balancer_;
  std::vector<std::unique_ptr<ServerContext>> owned_;
  std::vector<const ServerContext*> by_vhost_;  // [0] main server, [i+1] vhosts[i]
};

}  // namespace pillar::tls

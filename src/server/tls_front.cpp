#include "server/tls_front.h"

#include <openssl/bn.h>
#include <openssl/x509.h>

#include "server/request/request.h"
#include "server/site.h"
#include "server/vhost_router.h"

namespace pillar::server {

const tls::ServerContext* TlsSites::select(const sockaddr_storage& local, std::string_view host) const {
  return rt_.site_for(local, host).tls;
}

TlsSites::Protocols TlsSites::protocols(const sockaddr_storage& local, std::string_view host) const {
  const auto& h2 = rt_.site_for(local, host).cfg->h2;
  Protocols p;
  p.names.clear();
  for (const auto& name : h2.protocols)
    if (name != "h2c") p.names.push_back(name);
  p.honor_order = h2.honor_order;
  return p;
}

const tls::ServerContext* TlsSites::default_for(const sockaddr_storage& local) const {
  if (const auto* c = rt_.site_for(local, {}).tls) return c;
  const auto& vhosts = rt_.config().vhosts;
  for (size_t i = 0; i < vhosts.size(); ++i) {
    for (const auto& a : vhosts[i].addresses) {
      bool exact = false;
      if (address_matches(a, local, exact)) {
        if (const auto* c = rt_.site(static_cast<int>(i)).tls) return c;
      }
    }
  }
  return rt_.main_site().tls;
}

std::unique_ptr<core::Transport> make_tls_transport(const Runtime& rt, core::Fd fd, const sockaddr_storage& local,
                                                    core::shm::TlsCounters* counters) {
  const tls::ServerContext* ctx = rt.tls_sites().default_for(local);
  if (!ctx) return nullptr;
  return std::make_unique<tls::TlsTransport>(std::move(fd), *ctx, local, counters, &rt.tls_sites());
}

namespace {

constexpr std::string_view kSslVars[] = {"HTTPS", "SSL_PROTOCOL", "SSL_CIPHER", "SSL_TLS_SNI", "SSL_SESSION_RESUMED",
                                         "SSL_CLIENT_VERIFY", "SSL_CLIENT_S_DN", "SSL_CLIENT_I_DN",
                                         "SSL_CLIENT_M_SERIAL"};

// RFC 2253 form, as Apache 2.4 prints DNs ("CN=client.test,O=client").
std::string dn_text(X509_NAME* name) {
  BIO* b = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n > 0 ? n : 0));
  BIO_free(b);
  return out;
}

}  // namespace

bool ssl_var_known(std::string_view name) {
  for (auto v : kSslVars)
    if (v == name) return true;
  return false;
}

std::string_view ssl_var_names() {
  return "HTTPS SSL_PROTOCOL SSL_CIPHER SSL_TLS_SNI SSL_SESSION_RESUMED SSL_CLIENT_VERIFY SSL_CLIENT_S_DN "
         "SSL_CLIENT_I_DN SSL_CLIENT_M_SERIAL";
}

std::string ssl_var(const core::Transport& t, std::string_view name) {
  const auto* tt = dynamic_cast<const tls::TlsTransport*>(&t);
  if (name == "HTTPS") return tt ? "on" : "off";
  if (!tt || !tt->handshake_done()) return {};
  SSL* ssl = tt->ssl();
  if (name == "SSL_PROTOCOL") return tt->protocol();
  if (name == "SSL_CIPHER") return tt->cipher();
  if (name == "SSL_TLS_SNI") return tt->sni_name();
  if (name == "SSL_SESSION_RESUMED") return tt->resumed() ? "Resumed" : "Initial";
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (name == "SSL_CLIENT_VERIFY") {
    if (!peer) return "NONE";
    long v = SSL_get_verify_result(ssl);
    return v == X509_V_OK ? "SUCCESS" : std::string("FAILED:") + X509_verify_cert_error_string(v);
  }
  if (!peer) return {};
  if (name == "SSL_CLIENT_S_DN") return dn_text(X509_get_subject_name(peer));
  if (name == "SSL_CLIENT_I_DN") return dn_text(X509_get_issuer_name(peer));
  if (name == "SSL_CLIENT_M_SERIAL") {
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), nullptr);
    char* hex = bn ? BN_bn2hex(bn) : nullptr;
    std::string out = hex ? hex : "";
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
  }
  return {};
}

int tls_request_check(const Runtime& rt, const core::Transport& t, const sockaddr_storage& local, Request& req) {
  const auto* tt = dynamic_cast<const tls::TlsTransport*>(&t);
  if (!tt) return 0;
  const std::string& sni = tt->sni_name();
  if (sni.empty()) {
    const Site& dflt = rt.site_for(local, {});
    bool strict = (req.site->tls && req.site->tls->strict_sni()) || (dflt.tls && dflt.tls->strict_sni());
    return strict ? 403 : 0;
  }
  if (req.host.empty()) {
    req.site = &rt.site_for(local, sni);
    return 0;
  }
  // The vhost Host chose may differ from the SNI one only if it answers
  // with the same TLS setup (one shared context): else the client would
  // get a vhost whose certificate it never checked.
  return req.site->tls == tt->context() ? 0 : 421;
}

}  // namespace pillar::server

#include "tls/client_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>

#include "tls/openssl_util.h"

namespace pillar::tls {

namespace {

// optional / optional_no_ca: the chain is looked at, never refused.
int accept_any(int, X509_STORE_CTX*) { return 1; }

}  // namespace

ClientContext::~ClientContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<ClientContext> ClientContext::build(const config::SslProxyConfig& c, const std::string& balancer,
                                                    std::vector<config::ConfigError>& errors) {
  const size_t errors_before = errors.size();
  auto error = [&](const config::SourceLocation& w, std::string msg) {
    errors.push_back({w.file, w.line, std::move(msg)});
    ERR_clear_error();
  };
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (!raw) {
    error(c.engine_where, "cannot create a TLS client context for " + balancer + ": " + openssl_errors());
    return nullptr;
  }
  using V = config::SslProxyConfig::Verify;
  std::unique_ptr<ClientContext> ctx(new ClientContext(raw, c.verify == V::Require, c.check_peer_name, c.check_peer_expire));
  set_protocols(raw, c.protocols);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (!c.ciphers.empty() && SSL_CTX_set_cipher_list(raw, c.ciphers.c_str()) != 1)
    error(c.engine_where, "SSLProxyCipherSuite: no usable cipher in '" + c.ciphers + "'");
  if (!c.ciphersuites.empty() && SSL_CTX_set_ciphersuites(raw, c.ciphersuites.c_str()) != 1)
    error(c.engine_where, "SSLProxyCipherSuite TLSv1.3: no usable suite in '" + c.ciphersuites + "'");
  if (!c.ca.path.empty()) {
    if (SSL_CTX_load_verify_locations(raw, c.ca.path.c_str(), nullptr) != 1)
      error(c.ca.where, "SSLProxyCACertificateFile: cannot load CA certificates from " + c.ca.path + ": " +
                            openssl_errors());
  } else if (c.verify != V::None) {
    SSL_CTX_set_default_verify_paths(raw);  // the system's CAs (Debian: /etc/ssl/certs)
  }
  if (c.verify == V::Require) SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  else if (c.verify != V::None) SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, accept_any);
  SSL_CTX_set_verify_depth(raw, c.verify_depth);
  if (!c.machine_cert.path.empty()) {
    if (SSL_CTX_use_certificate_chain_file(raw, c.machine_cert.path.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(raw, c.machine_cert.path.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(raw) != 1)
      error(c.machine_cert.where, "SSLProxyMachineCertificateFile: " + c.machine_cert.path +
                                      " must hold a PEM certificate and its unencrypted key: " + openssl_errors());
  }
  if (errors.size() != errors_before) return nullptr;
  return ctx;
}

std::string check_member_certificate(SSL* ssl, const ClientContext& ctx, const std::string& name) {
  if (!ctx.check_peer_name() && !ctx.check_peer_expire()) return {};
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return "the member sent no certificate";
  if (ctx.check_peer_expire()) {
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) return "the member's certificate has expired";
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) return "the member's certificate is not valid yet";
  }
  if (ctx.check_peer_name() && !name.empty()) {
    in6_addr a6;
    in_addr a4;
    const bool ip = inet_pton(AF_INET, name.c_str(), &a4) == 1 || inet_pton(AF_INET6, name.c_str(), &a6) == 1;
    int ok = ip ? X509_check_ip_asc(cert, name.c_str(), 0)
                : X509_check_host(cert, name.data(), name.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr);
    if (ok != 1)
      return "the member's certificate does not name " + name +
             " (set SSLProxyCheckPeerName off to accept it, or use the name the certificate has)";
  }
  return {};
}

}  // namespace pillar::tls

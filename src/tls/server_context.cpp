#include "tls/server_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "core/assert.h"
#include "tls/ocsp_stapling.h"
#include "tls/openssl_util.h"
#include "tls/ticket_keys.h"
#include "tls/tls_transport.h"

namespace pillar::tls {

namespace {

using config::SourceLocation;
using config::SslConfig;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

// An encrypted key is refused, never asked for: OpenSSL's default would
// prompt on the terminal (SSLPassPhraseDialog is not supported).
int no_passphrase(char*, int, int, void*) { return -1; }

// One context under construction: errors go to the directive that named the file.
class ContextBuilder {
 public:
  ContextBuilder(const SslConfig& c, const std::string& vhost, std::vector<config::ConfigError>& errors,
                 std::vector<std::string>& warnings, bool fetch_ocsp)
      : c_(c), vhost_(vhost), errors_(errors), warnings_(warnings), fetch_ocsp_(fetch_ocsp) {}

  std::unique_ptr<ServerContext> build() {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return fail(c_.engine_where, "cannot create a TLS context: " + openssl_errors());
    auto sc = std::make_unique<ServerContext>(ctx, c_.strict_sni, c_.ciphers, c_.ciphersuites);
    const size_t errors_before = errors_.size();

    protocols(ctx);
    uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION;
    if (c_.honor_cipher_order) opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (!c_.session_tickets) opts |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, opts);
    // Partial writes and a moving buffer: a write that would block is
    // retried with the same bytes from wherever the caller keeps them;
    // idle connections give their record buffers back.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_cipher_list(ctx, c_.ciphers.c_str()) != 1)
      error(where_or_engine(c_.ciphers_where), "SSLCipherSuite: no usable cipher in '" + c_.ciphers + "'");
    if (SSL_CTX_set_ciphersuites(ctx, c_.ciphersuites.c_str()) != 1)
      error(where_or_engine(c_.ciphersuites_where), "SSLCipherSuite TLSv1.3: no usable suite in '" + c_.ciphersuites + "'");

    if (c_.certs.empty())
      error(c_.engine_where, "SSLEngine on for " + vhost_ + " but no SSLCertificateFile; add SSLCertificateFile and SSLCertificateKeyFile");
    for (size_t i = 0; i < c_.certs.size(); ++i) certificate(*sc, i);
    if (!c_.chain.path.empty()) chain_file(ctx);
    verify(ctx);
    stapling(*sc);

    // Sessions: the id context keeps one vhost's sessions (and client
    // verification) from resuming on another; tickets use the shared keys.
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH];
    unsigned int sid_len = 0;
    EVP_Digest(vhost_.data(), vhost_.size(), sid, &sid_len, EVP_sha256(), nullptr);
    SSL_CTX_set_session_id_context(ctx, sid, std::min<unsigned int>(sid_len, SSL_MAX_SID_CTX_LENGTH));
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(ctx, static_cast<long>(c_.session_cache_timeout.count() / 1000));
    if (c_.session_tickets) TicketKeys::instance().install(ctx);
    SSL_CTX_set_client_hello_cb(ctx, &TlsTransport::client_hello_callback, nullptr);
    SSL_CTX_set_tlsext_servername_callback(ctx, &TlsTransport::servername_callback);
    SSL_CTX_set_alpn_select_cb(ctx, &TlsTransport::alpn_callback, nullptr);

    conf_cmds(ctx);
    if (errors_.size() != errors_before) return nullptr;
    return sc;
  }

 private:
  std::unique_ptr<ServerContext> fail(const SourceLocation& w, std::string msg) {
    error(w, std::move(msg));
    return nullptr;
  }
  void error(const SourceLocation& w, std::string msg) {
    errors_.push_back({w.file, w.line, std::move(msg)});
    ERR_clear_error();
  }
  void warn(const SourceLocation& w, const std::string& msg) {
    warnings_.push_back(w.file + ":" + std::to_string(w.line) + ": warning: " + msg);
  }
  const SourceLocation& where_or_engine(const SourceLocation& w) const { return w.line ? w : c_.engine_where; }

  void protocols(SSL_CTX* ctx) {
    set_protocols(ctx, c_.protocols);
    if (c_.protocols & (SslConfig::kTls1 | SslConfig::kTls11))
      warn(where_or_engine(c_.protocol_where), "SSLProtocol enables TLS 1.0/1.1, which are deprecated (RFC 8996)");
  }

  File open(const config::SslFile& f, const char* directive) {
    File fp(std::fopen(f.path.c_str(), "re"));
    if (!fp) error(f.where, std::string(directive) + ": cannot read " + f.path + ": " + std::strerror(errno));
    return fp;
  }

  // SSLCertificateFile i: the certificate and the chain that follows it in
  // the file; its key from SSLCertificateKeyFile i, or from the same file.
  void certificate(ServerContext& sc, size_t i) {
    const config::SslFile& cf = c_.certs[i];
    File fp = open(cf, "SSLCertificateFile");
    if (!fp) return;
    Cert cert(PEM_read_X509(fp.get(), nullptr, nullptr, nullptr));
    if (!cert) return error(cf.where, "SSLCertificateFile: no PEM certificate in " + cf.path);
    std::vector<Cert> chain;
    while (X509* x = PEM_read_X509(fp.get(), nullptr, nullptr, nullptr)) chain.emplace_back(x);
    ERR_clear_error();  // the end of the file reads as an error
    const config::SslFile& kf = i < c_.keys.size() ? c_.keys[i] : cf;
    const char* kd = i < c_.keys.size() ? "SSLCertificateKeyFile" : "SSLCertificateFile (no SSLCertificateKeyFile)";
    File kp = open(kf, kd);
    if (!kp) return;
    Key key(PEM_read_PrivateKey(kp.get(), nullptr, no_passphrase, nullptr));
    if (!key) return error(kf.where, std::string(kd) + ": no unencrypted PEM private key in " + kf.path);
    if (X509_check_private_key(cert.get(), key.get()) != 1)
      return error(kf.where, std::string(kd) + ": the key in " + kf.path + " does not match the certificate in " +
                                 cf.path + " (line " + std::to_string(cf.where.line) + ")");
    SSL_CTX* ctx = sc.get();
    if (SSL_CTX_use_certificate(ctx, cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
      return error(cf.where, "SSLCertificateFile: " + cf.path + " refused: " + openssl_errors());
    for (auto& x : chain) {
      if (SSL_CTX_add1_chain_cert(ctx, x.get()) != 1)
        return error(cf.where, "SSLCertificateFile: the chain in " + cf.path + " was refused: " + openssl_errors());
    }
    expiry(sc, cf, cert.get());
    loaded_.push_back({std::move(cert), std::move(chain), &cf});
  }

  // Every certificate that may have issued one of ours: the chains in the
  // certificate files, SSLCertificateChainFile, SSLCACertificateFile.
  std::vector<Cert> issuer_candidates() {
    std::vector<Cert> out;
    for (auto& l : loaded_)
      for (auto& x : l.chain) {
        X509_up_ref(x.get());
        out.emplace_back(x.get());
      }
    for (const config::SslFile* f : {&c_.chain, &c_.ca}) {
      if (f->path.empty()) continue;
      File fp(std::fopen(f->path.c_str(), "re"));
      if (!fp) continue;
      while (X509* x = PEM_read_X509(fp.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
      ERR_clear_error();
    }
    return out;
  }

  void stapling(ServerContext& sc) {
    if (!c_.use_stapling) return;
    if (!c_.stapling_cache)
      return error(c_.stapling_where, "SSLUseStapling on needs SSLStaplingCache at the top level, e.g. "
                                      "SSLStaplingCache shmcb:logs/ssl_stapling(32768)");
    SSL_CTX_set_tlsext_status_cb(sc.get(), ocsp_status_callback);
    SSL_CTX_set_tlsext_status_arg(sc.get(), &sc);
    std::vector<Cert> issuers = issuer_candidates();
    for (auto& l : loaded_) {
      X509* issuer = nullptr;
      for (auto& cand : issuers)
        if (X509_check_issued(cand.get(), l.cert.get()) == X509_V_OK) issuer = cand.get();
      if (!issuer) {
        warn(l.file->where, "OCSP stapling: no issuer certificate for " + l.file->path +
                                " (put the chain after the certificate in its file)");
        continue;
      }
      std::string url = ocsp_url(l.cert.get(), c_.stapling_force_url);
      if (url.empty()) {
        warn(l.file->where, "OCSP stapling: " + l.file->path + " names no OCSP responder; set SSLStaplingForceURL");
        continue;
      }
      if (!fetch_ocsp_) continue;
      std::string der, why;
      bool revoked = false;
      if (!fetch_ocsp_response(l.cert.get(), issuer, url, c_.stapling_timeout, der, revoked, why)) {
        warn(l.file->where, "OCSP stapling for " + l.file->path + " from " + url + ": " + why + " (nothing stapled)");
        continue;
      }
      if (revoked) warn(l.file->where, "OCSP: the responder says " + l.file->path + " is REVOKED");
      sc.add_staple(l.cert.get(), std::move(der));
    }
  }

  void expiry(ServerContext& sc, const config::SslFile& cf, X509* cert) {
    const ASN1_TIME* na = X509_get0_notAfter(cert);
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, nullptr, na) != 1) return;
    struct tm tm {};
    if (ASN1_TIME_to_tm(na, &tm) == 1) sc.note_not_after(timegm(&tm));
    if (days < 0 || (days == 0 && secs < 0))
      warn(cf.where, "the certificate in " + cf.path + " has expired");
    else if (days < ContextSet::kExpiryWarnDays)
      warn(cf.where, "the certificate in " + cf.path + " expires in " + std::to_string(days) + " day(s)");
  }

  void chain_file(SSL_CTX* ctx) {
    File fp = open(c_.chain, "SSLCertificateChainFile");
    if (!fp) return;
    int n = 0;
    while (X509* x = PEM_read_X509(fp.get(), nullptr, nullptr, nullptr)) {
      SSL_CTX_add_extra_chain_cert(ctx, x);  // takes ownership
      ++n;
    }
    ERR_clear_error();
    if (n == 0) error(c_.chain.where, "SSLCertificateChainFile: no PEM certificate in " + c_.chain.path);
  }

  void verify(SSL_CTX* ctx) {
    if (!c_.ca.path.empty()) {
      if (File fp = open(c_.ca, "SSLCACertificateFile"); !fp) return;
      if (SSL_CTX_load_verify_locations(ctx, c_.ca.path.c_str(), nullptr) != 1)
        return error(c_.ca.where, "SSLCACertificateFile: no usable CA certificate in " + c_.ca.path);
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(c_.ca.path.c_str()))
        SSL_CTX_set_client_CA_list(ctx, names);
      ERR_clear_error();
    }
    using V = SslConfig::Verify;
    if (c_.verify == V::None) return SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    if (c_.verify != V::OptionalNoCa && c_.ca.path.empty())
      return error(c_.engine_where, "SSLVerifyClient asks for client certificates for " + vhost_ +
                                        " but no SSLCACertificateFile says which CAs to trust");
    int mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
    if (c_.verify == V::Require) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, c_.verify == V::OptionalNoCa ? &accept_any : nullptr);
    SSL_CTX_set_verify_depth(ctx, c_.verify_depth);
  }

  static int accept_any(int, X509_STORE_CTX*) { return 1; }  // optional_no_ca: any certificate, checked by the application

  void conf_cmds(SSL_CTX* ctx) {
    if (c_.conf_cmds.empty()) return;
    SSL_CONF_CTX* cc = SSL_CONF_CTX_new();
    SSL_CONF_CTX_set_flags(cc, SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_SERVER | SSL_CONF_FLAG_CERTIFICATE |
                                   SSL_CONF_FLAG_SHOW_ERRORS);
    SSL_CONF_CTX_set_ssl_ctx(cc, ctx);
    for (const auto& cmd : c_.conf_cmds) {
      int r = SSL_CONF_cmd(cc, cmd.name.c_str(), cmd.value.c_str());
      if (r == -2) error(cmd.where, "SSLOpenSSLConfCmd: OpenSSL has no command '" + cmd.name + "'");
      else if (r <= 0) error(cmd.where, "SSLOpenSSLConfCmd " + cmd.name + " '" + cmd.value + "': " + openssl_errors());
    }
    if (SSL_CONF_CTX_finish(cc) != 1) error(c_.conf_cmds.back().where, "SSLOpenSSLConfCmd: " + openssl_errors());
    SSL_CONF_CTX_free(cc);
  }

  const SslConfig& c_;
  const std::string& vhost_;
  std::vector<config::ConfigError>& errors_;
  std::vector<std::string>& warnings_;
  bool fetch_ocsp_;
  struct Loaded {
    Cert cert;
    std::vector<Cert> chain;
    const config::SslFile* file;
  };
  std::vector<Loaded> loaded_;
};

// Two vhosts with equal SSL settings share one context (and a request may
// go from one to the other on one connection: see misdirected in src/server).
std::string settings_key(const SslConfig& c) {
  std::string k;
  auto add = [&](std::string_view s) {
    k += std::to_string(s.size());
    k += ':';
    k += s;
  };
  for (const auto& f : c.certs) add(f.path);
  k += '|';
  for (const auto& f : c.keys) add(f.path);
  add(c.chain.path);
  add(c.ca.path);
  add(c.ciphers);
  add(c.ciphersuites);
  for (const auto& cmd : c.conf_cmds) {
    add(cmd.name);
    add(cmd.value);
  }
  k += std::to_string(c.protocols) + ',' + std::to_string(c.honor_cipher_order) + ',' +
       std::to_string(c.session_tickets) + ',' + std::to_string(c.session_cache_timeout.count()) + ',' +
       std::to_string(static_cast<int>(c.verify)) + ',' + std::to_string(c.verify_depth) + ',' +
       std::to_string(c.strict_sni) + ',' + std::to_string(c.use_stapling) + ',' + c.stapling_force_url;
  return k;
}

// Whether a <VirtualHost> address may receive connections of this Listen.
bool serves(const config::VirtualHost& vh, const config::ListenAddress& l) {
  for (const auto& a : vh.addresses) {
    if (a.port == 0 || l.port == 0 || a.port == l.port) return true;
  }
  return false;
}

}  // namespace

ServerContext::~ServerContext() {
  for (auto& s : staples_) X509_free(s.cert);
  SSL_CTX_free(ctx_);
}

void ServerContext::add_staple(X509* cert, std::string der) {
  X509_up_ref(cert);
  staples_.push_back({cert, std::move(der)});
}

std::unique_ptr<ContextSet> ContextSet::build(const config::ServerConfig& cfg, std::vector<config::ConfigError>& errors,
                                              std::vector<std::string>& warnings, bool fetch_ocsp) {
  auto set = std::make_unique<ContextSet>();
  std::map<std::string, const ServerContext*> shared;
  const size_t errors_before = errors.size();
  auto one = [&](const config::VirtualHost& vh) -> const ServerContext* {
    if (!vh.ssl.engine) return nullptr;
    std::string key = settings_key(vh.ssl);
    if (auto it = shared.find(key); it != shared.end()) return it->second;
    std::string name = vh.server_name.empty() ? "the main server" : vh.server_name;
    auto sc = ContextBuilder(vh.ssl, name, errors, warnings, fetch_ocsp).build();
    if (!sc) return nullptr;
    const ServerContext* p = sc.get();
    set->owned_.push_back(std::move(sc));
    shared.emplace(std::move(key), p);
    return p;
  };
  set->by_vhost_.push_back(one(cfg.main_server));
  for (const auto& vh : cfg.vhosts) set->by_vhost_.push_back(one(vh));
  for (const auto& b : cfg.balancers) {
    std::unique_ptr<ClientContext> cc;
    if (b.any_https() && b.ssl_proxy.engine)
      cc = ClientContext::build(b.ssl_proxy, b.name.empty() ? b.members[0].url : "balancer://" + b.name, errors);
    set->by_balancer_.push_back(std::move(cc));
  }
  if (errors.size() != errors_before) return nullptr;

  for (const auto& l : cfg.listens) {
    if (!l.https) continue;
    bool covered = cfg.main_server.ssl.engine;
    for (const auto& vh : cfg.vhosts) covered = covered || (vh.ssl.engine && serves(vh, l));
    if (!covered)
      errors.push_back({l.where.file, l.where.line,
                        "Listen " + l.text + " is https but no virtual host for it has SSLEngine on; add SSLEngine on "
                        "with SSLCertificateFile/SSLCertificateKeyFile to its <VirtualHost>, or write Listen " + l.text +
                        " http"});
  }
  bool any_https = false;
  for (const auto& l : cfg.listens) any_https = any_https || l.https;
  if (!any_https && !set->empty()) {
    const auto& w = cfg.main_server.ssl.engine ? cfg.main_server.ssl.engine_where : [&]() -> const SourceLocation& {
      for (const auto& vh : cfg.vhosts)
        if (vh.ssl.engine) return vh.ssl.engine_where;
      return cfg.main_server.where;
    }();
    warnings.push_back(w.file + ":" + std::to_string(w.line) +
                       ": warning: SSLEngine on, but no Listen is https (write Listen PORT https): this serves plain HTTP");
  }
  if (errors.size() != errors_before) return nullptr;
  return set;
}

}  // namespace pillar::tls

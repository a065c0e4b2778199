// The ssl_proxy directive table: mod_ssl's client side, TLS toward https://
// balancer members (SSLProxy*), in the server, a vhost or a <Proxy>
// section. Each records which fields it gave (SslProxyConfig::given), so a
// balancer takes what its own section left unset from the vhost whose
// ProxyPass uses it (config/loader.cpp). src/tls builds one client context
// per balancer with https members; docs/tls.md documents each directive.
#include "config/directives/tables.h"

#include <string>

#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

SourceLocation here(const ConfigNode& n) { return {n.file, n.line}; }

// Where a directive writes: the <Proxy> section's balancer, else the vhost (or the server).
SslProxyConfig& target(Scope& s) { return s.balancer ? s.balancer->ssl_proxy : s.vhost.ssl_proxy; }

void d_engine(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  SslProxyConfig& c = target(s);
  if (!set_on_off(out, n, "SSLProxyEngine", c.engine)) return;
  c.engine_where = here(n);
  c.given |= SslProxyConfig::kEngine;
}

void d_verify(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  SslProxyConfig& c = target(s);
  std::string v = core::lowercase(n.args[0]);
  using V = SslProxyConfig::Verify;
  if (v == "none") c.verify = V::None;
  else if (v == "optional") c.verify = V::Optional;
  else if (v == "optional_no_ca") c.verify = V::OptionalNoCa;
  else if (v == "require") c.verify = V::Require;
  else return out.error(n, "SSLProxyVerify '" + n.args[0] + "' is not none, optional, optional_no_ca or require");
  c.given |= SslProxyConfig::kVerify;
}

void d_depth(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], 0, 100, v, why)) return out.error(n, "SSLProxyVerifyDepth: " + why);
  SslProxyConfig& c = target(s);
  c.verify_depth = static_cast<int>(v);
  c.given |= SslProxyConfig::kDepth;
}

void d_ca(DirectiveSink&, const ConfigNode& n, Scope& s) {
  SslProxyConfig& c = target(s);
  c.ca = {fs_path(s, n.args[0]), here(n)};
  c.given |= SslProxyConfig::kCa;
}

void d_machine_cert(DirectiveSink&, const ConfigNode& n, Scope& s) {
  SslProxyConfig& c = target(s);
  c.machine_cert = {fs_path(s, n.args[0]), here(n)};
  c.given |= SslProxyConfig::kMachineCert;
}

// SSLProxyCheckPeerCN is the older, narrower form of the name check; as in
// Apache 2.4.5+, either one turns the check off (both default on).
void d_peer_name(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  SslProxyConfig& c = target(s);
  if (!set_on_off(out, n, n.name, c.check_peer_name)) return;
  c.given |= SslProxyConfig::kPeerName;
}

void d_peer_expire(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  SslProxyConfig& c = target(s);
  if (!set_on_off(out, n, "SSLProxyCheckPeerExpire", c.check_peer_expire)) return;
  c.given |= SslProxyConfig::kPeerExpire;
}

void d_protocol(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  SslProxyConfig& c = target(s);
  std::string why;
  if (!parse_ssl_protocols(n, "SSLProxyProtocol", c.protocols, why)) return out.error(n, why);
  c.given |= SslProxyConfig::kProtocol;
}

void d_cipher_suite(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  SslProxyConfig& c = target(s);
  if (n.args.size() == 1 || http::iequals(n.args[0], "SSL")) {
    c.ciphers = n.args.back();
    c.given |= SslProxyConfig::kCiphers;
  } else if (http::iequals(n.args[0], "TLSv1.3")) {
    c.ciphersuites = n.args[1];
    c.given |= SslProxyConfig::kSuites;
  } else {
    out.error(n, "SSLProxyCipherSuite: protocol '" + n.args[0] +
                     "' is not SSL or TLSv1.3; write SSLProxyCipherSuite TLSv1.3 SUITES");
  }
}

constexpr uint8_t kSVP = kServer | kVHost | kProxy;

constexpr DirectiveSpec kTable[] = {
    {"SSLProxyCACertificateFile", 1, 1, kSVP, false, d_ca, "SSLProxyCACertificateFile PATH"},
    {"SSLProxyCheckPeerCN", 1, 1, kSVP, false, d_peer_name, "SSLProxyCheckPeerCN on|off"},
    {"SSLProxyCheckPeerExpire", 1, 1, kSVP, false, d_peer_expire, "SSLProxyCheckPeerExpire on|off"},
    {"SSLProxyCheckPeerName", 1, 1, kSVP, false, d_peer_name, "SSLProxyCheckPeerName on|off"},
    {"SSLProxyCipherSuite", 1, 2, kSVP, false, d_cipher_suite, "SSLProxyCipherSuite [SSL|TLSv1.3] CIPHERS"},
    {"SSLProxyEngine", 1, 1, kSVP, false, d_engine, "SSLProxyEngine on|off"},
    {"SSLProxyMachineCertificateFile", 1, 1, kSVP, false, d_machine_cert, "SSLProxyMachineCertificateFile PATH"},
    {"SSLProxyProtocol", 1, -1, kSVP, false, d_protocol, "SSLProxyProtocol [+|-]PROTOCOL ..."},
    {"SSLProxyVerify", 1, 1, kSVP, false, d_verify, "SSLProxyVerify none|optional|require"},
    {"SSLProxyVerifyDepth", 1, 1, kSVP, false, d_depth, "SSLProxyVerifyDepth NUMBER"},
};

}  // namespace

std::span<const DirectiveSpec> ssl_proxy_directives() { return kTable; }

}  // namespace pillar::config

// The ssl directive table: TLS termination at the front (mod_ssl's names and
// syntax). Only the values are checked here; the files (certificates, keys,
// CAs) are opened and matched by src/tls when it builds each vhost's
// SSL_CTX, at `pillar -t` and at start, with the directive's file:line.
// Listed in directives/registry.cpp; docs/tls.md documents each directive.
#include "config/directives/tables.h"

#include <string>

#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

SourceLocation here(const ConfigNode& n) { return {n.file, n.line}; }

void d_ssl_engine(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string v = core::lowercase(n.args[0]);
  if (v == "optional" || v == "addr")
    return out.error(n, "SSLEngine " + n.args[0] + " is not supported; write SSLEngine on or off");
  if (!set_on_off(out, n, "SSLEngine", s.vhost.ssl.engine)) return;
  s.vhost.ssl.engine_where = here(n);
}

// The first certificate (or key) line in a vhost replaces the inherited
// list, so a vhost's own pair never mixes with the main server's.
void take_cert_lists(Scope& s) {
  if (s.ctx != kVHost || s.ssl_certs_replaced) return;
  s.ssl_certs_replaced = true;
  s.vhost.ssl.certs.clear();
  s.vhost.ssl.keys.clear();
}

void d_ssl_cert(DirectiveSink&, const ConfigNode& n, Scope& s) {
  take_cert_lists(s);
  s.vhost.ssl.certs.push_back({fs_path(s, n.args[0]), here(n)});
}

void d_ssl_key(DirectiveSink&, const ConfigNode& n, Scope& s) {
  take_cert_lists(s);
  s.vhost.ssl.keys.push_back({fs_path(s, n.args[0]), here(n)});
}

void d_ssl_chain(DirectiveSink&, const ConfigNode& n, Scope& s) { s.vhost.ssl.chain = {fs_path(s, n.args[0]), here(n)}; }
void d_ssl_ca(DirectiveSink&, const ConfigNode& n, Scope& s) { s.vhost.ssl.ca = {fs_path(s, n.args[0]), here(n)}; }

void d_ssl_protocol(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_ssl_protocols(n, "SSLProtocol", s.vhost.ssl.protocols, why)) return out.error(n, why);
  s.vhost.ssl.protocol_where = here(n);
}

// SSLCipherSuite [SSL|TLSv1.3] spec: the TLS 1.2 list (OpenSSL cipher string)
// or, with TLSv1.3, the TLS 1.3 suites. Checked against OpenSSL by src/tls.
void d_ssl_cipher_suite(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args.size() == 1) {
    s.vhost.ssl.ciphers = n.args[0];
    s.vhost.ssl.ciphers_where = here(n);
    return;
  }
  if (http::iequals(n.args[0], "SSL")) {
    s.vhost.ssl.ciphers = n.args[1];
    s.vhost.ssl.ciphers_where = here(n);
  } else if (http::iequals(n.args[0], "TLSv1.3")) {
    s.vhost.ssl.ciphersuites = n.args[1];
    s.vhost.ssl.ciphersuites_where = here(n);
  } else {
    out.error(n, "SSLCipherSuite: protocol '" + n.args[0] + "' is not SSL or TLSv1.3; write SSLCipherSuite TLSv1.3 SUITES");
  }
}

void d_ssl_honor(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, "SSLHonorCipherOrder", s.vhost.ssl.honor_cipher_order);
}

void d_ssl_tickets(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, "SSLSessionTickets", s.vhost.ssl.session_tickets);
}

void d_ssl_strict_sni(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, "SSLStrictSNIVHostCheck", s.vhost.ssl.strict_sni);
}

void d_ssl_verify_client(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string v = core::lowercase(n.args[0]);
  using V = SslConfig::Verify;
  if (v == "none") s.vhost.ssl.verify = V::None;
  else if (v == "optional") s.vhost.ssl.verify = V::Optional;
  else if (v == "optional_no_ca") s.vhost.ssl.verify = V::OptionalNoCa;
  else if (v == "require") s.vhost.ssl.verify = V::Require;
  else out.error(n, "SSLVerifyClient '" + n.args[0] + "' is not none, optional, optional_no_ca or require");
}

void d_ssl_verify_depth(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], 0, 100, v, why)) return out.error(n, "SSLVerifyDepth: " + why);
  s.vhost.ssl.verify_depth = static_cast<int>(v);
}

// SSLSessionCache: each worker keeps OpenSSL's own cache; sessions cross
// workers through tickets (keys shared by every worker). Accepted so
// Apache configurations load; "none" and the shmcb/dbm forms alike.
void d_ssl_session_cache(DirectiveSink& out, const ConfigNode& n, Scope&) {
  std::string v = core::lowercase(n.args[0]);
  if (v == "none" || v == "nonenotnull" || core::istarts_with(v, "shmcb:") || core::istarts_with(v, "dbm:") ||
      core::istarts_with(v, "shm:") || core::istarts_with(v, "dc:") || core::istarts_with(v, "memcache:"))
    return;
  out.error(n, "SSLSessionCache '" + n.args[0] + "' is not none or TYPE:ARGS (shmcb:PATH(SIZE))");
}

void d_ssl_session_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], 1, 86400 * 7, v, why)) return out.error(n, "SSLSessionCacheTimeout: " + why);
  s.vhost.ssl.session_cache_timeout = Millis(v * 1000);
}

// PillarTLSTicketKeyRotation SECONDS: how often the master makes a new
// session-ticket key (tickets under the previous one still resume and are
// renewed; a key older than two periods opens nothing).
void d_ticket_key_rotation(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], 1, 86400 * 30, v, why)) return out.error(n, "PillarTLSTicketKeyRotation: " + why);
  s.server.ticket_key_rotation = Millis(v * 1000);
}

void d_ssl_use_stapling(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (set_on_off(out, n, "SSLUseStapling", s.vhost.ssl.use_stapling)) s.vhost.ssl.stapling_where = here(n);
}

// SSLStaplingCache TYPE:ARGS: where Apache keeps fetched responses; here
// the master holds them in each context, so only its presence matters
// (Apache refuses stapling without one, and so does Pillar).
void d_ssl_stapling_cache(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args[0].find(':') == std::string::npos && !http::iequals(n.args[0], "none"))
    return out.error(n, "SSLStaplingCache '" + n.args[0] + "' is not TYPE:ARGS (shmcb:PATH(SIZE))");
  s.vhost.ssl.stapling_cache = !http::iequals(n.args[0], "none");
}

void d_ssl_stapling_url(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (!core::istarts_with(n.args[0], "http://"))
    return out.error(n, "SSLStaplingForceURL '" + n.args[0] + "' is not an http:// URL");
  s.vhost.ssl.stapling_force_url = n.args[0];
}

void d_ssl_stapling_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], 1, 300, v, why)) return out.error(n, "SSLStaplingResponderTimeout: " + why);
  s.vhost.ssl.stapling_timeout = Millis(v * 1000);
}

void d_ssl_conf_cmd(DirectiveSink&, const ConfigNode& n, Scope& s) {
  s.vhost.ssl.conf_cmds.push_back({n.args[0], n.args[1], here(n)});
}

constexpr DirectiveSpec kTable[] = {
    {"PillarTLSTicketKeyRotation", 1, 1, kServer, false, d_ticket_key_rotation, "PillarTLSTicketKeyRotation SECONDS"},
    {"SSLCACertificateFile", 1, 1, kSV, false, d_ssl_ca, "SSLCACertificateFile PATH"},
    {"SSLCertificateChainFile", 1, 1, kSV, false, d_ssl_chain, "SSLCertificateChainFile PATH"},
    {"SSLCertificateFile", 1, 1, kSV, false, d_ssl_cert, "SSLCertificateFile PATH"},
    {"SSLCertificateKeyFile", 1, 1, kSV, false, d_ssl_key, "SSLCertificateKeyFile PATH"},
    {"SSLCipherSuite", 1, 2, kSV, false, d_ssl_cipher_suite, "SSLCipherSuite [SSL|TLSv1.3] CIPHERS"},
    {"SSLEngine", 1, 1, kSV, false, d_ssl_engine, "SSLEngine on|off"},
    {"SSLHonorCipherOrder", 1, 1, kSV, false, d_ssl_honor, "SSLHonorCipherOrder on|off"},
    {"SSLOpenSSLConfCmd", 2, 2, kSV, false, d_ssl_conf_cmd, "SSLOpenSSLConfCmd NAME VALUE"},
    {"SSLProtocol", 1, -1, kSV, false, d_ssl_protocol, "SSLProtocol [+|-]PROTOCOL ..."},
    {"SSLSessionCache", 1, 1, kServer, false, d_ssl_session_cache, "SSLSessionCache none|shmcb:PATH(SIZE)"},
    {"SSLSessionCacheTimeout", 1, 1, kSV, false, d_ssl_session_timeout, "SSLSessionCacheTimeout SECONDS"},
    {"SSLSessionTickets", 1, 1, kSV, false, d_ssl_tickets, "SSLSessionTickets on|off"},
    {"SSLStaplingCache", 1, 1, kServer, false, d_ssl_stapling_cache, "SSLStaplingCache shmcb:PATH(SIZE)"},
    {"SSLStaplingForceURL", 1, 1, kSV, false, d_ssl_stapling_url, "SSLStaplingForceURL http://HOST[:PORT]/PATH"},
    {"SSLStaplingResponderTimeout", 1, 1, kSV, false, d_ssl_stapling_timeout, "SSLStaplingResponderTimeout SECONDS"},
    {"SSLStrictSNIVHostCheck", 1, 1, kSV, false, d_ssl_strict_sni, "SSLStrictSNIVHostCheck on|off"},
    {"SSLUseStapling", 1, 1, kSV, false, d_ssl_use_stapling, "SSLUseStapling on|off"},
    {"SSLVerifyClient", 1, 1, kSV, false, d_ssl_verify_client, "SSLVerifyClient none|optional|require"},
    {"SSLVerifyDepth", 1, 1, kSV, false, d_ssl_verify_depth, "SSLVerifyDepth NUMBER"},
};

}  // namespace

// SSLProtocol [+|-]protocol ...: Apache's parser. A word without a sign
// replaces what was set so far; "all" is every protocol this build has.
bool parse_ssl_protocols(const ConfigNode& n, std::string_view name, uint8_t& bits, std::string& why) {
  uint8_t set = 0;
  for (const auto& a : n.args) {
    std::string_view w = a;
    char action = 0;
    if (!w.empty() && (w[0] == '+' || w[0] == '-')) {
      action = w[0];
      w.remove_prefix(1);
    }
    uint8_t bit = 0;
    std::string p = core::lowercase(w);
    if (p == "all") bit = SslConfig::kTls1 | SslConfig::kTls11 | SslConfig::kTls12 | SslConfig::kTls13;
    else if (p == "tlsv1") bit = SslConfig::kTls1;
    else if (p == "tlsv1.1") bit = SslConfig::kTls11;
    else if (p == "tlsv1.2") bit = SslConfig::kTls12;
    else if (p == "tlsv1.3") bit = SslConfig::kTls13;
    else if (p == "sslv3" || p == "sslv2") {
      if (action == '-') continue;  // never available: removing it is a no-op (Apache's own default says -SSLv3)
      why = std::string(name) + ": " + std::string(w) + " is not supported by this OpenSSL; remove it";
      return false;
    } else {
      why = std::string(name) + ": '" + a + "' is not a protocol; write e.g. " + std::string(name) + " all -TLSv1 -TLSv1.1";
      return false;
    }
    if (action == '-') set &= static_cast<uint8_t>(~bit);
    else if (action == '+') set |= bit;
    else set = bit;
  }
  if (set == 0) {
    why = std::string(name) + " leaves no protocol enabled; write e.g. " + std::string(name) + " -all +TLSv1.2 +TLSv1.3";
    return false;
  }
  bits = set;
  return true;
}

std::span<const DirectiveSpec> ssl_directives() { return kTable; }

}  // namespace pillar::config

// The per-module directive tables and what several of them share. Each
// directives/<module>.cpp defines one table and returns it from its
// <module>_directives() function; registry.cpp lists those functions
// explicitly (no self-registering statics, so no initialisation order).
// Internal to src/config: the loader sees only config/directives.h.
#pragma once
#include <span>
#include <string>
#include <string_view>

#include "config/directives.h"
#include "config/values.h"
#include "core/text.h"

namespace pillar::config {

std::span<const DirectiveSpec> core_directives();
std::span<const DirectiveSpec> mpm_directives();
std::span<const DirectiveSpec> log_directives();
std::span<const DirectiveSpec> access_directives();
std::span<const DirectiveSpec> content_directives();
std::span<const DirectiveSpec> proxy_directives();
std::span<const DirectiveSpec> cache_directives();
std::span<const DirectiveSpec> vrrp_directives();
std::span<const DirectiveSpec> remoteip_directives();
std::span<const DirectiveSpec> ssl_directives();
std::span<const DirectiveSpec> ssl_proxy_directives();
// SSLProtocol's word list ([+|-]all|TLSv1|TLSv1.1|TLSv1.2|TLSv1.3) into
// SslConfig's bits; `name` is the directive, for the message.
bool parse_ssl_protocols(const ConfigNode& n, std::string_view name, uint8_t& bits, std::string& why);
std::span<const DirectiveSpec> rewrite_directives();
std::span<const DirectiveSpec> alias_directives();
std::span<const DirectiveSpec> fastcgi_directives();
std::span<const DirectiveSpec> cgi_directives();
// SetHandler cgi-script in <Directory>/<Files>/<Location> (directives/cgi.cpp).
void cgi_set_handler(Scope& s);
std::span<const DirectiveSpec> http2_directives();

// FastCGI (directives/fastcgi.cpp). "unix:/PATH|fcgi://NAME[/path]" or
// "fcgi://HOST[:PORT][/path]" into `b`; false with `why`.
bool parse_fcgi_backend(std::string_view url, FcgiBackend& b, std::string& why);
// SetHandler "proxy:..." in <Files>/<FilesMatch>/<Location> (reports its errors).
bool fcgi_set_handler(DirectiveSink& out, const ConfigNode& n, Scope& s);
// ProxyPass PREFIX fcgi://... or ProxyPassMatch REGEX fcgi://...: a FastCGI location.
bool fcgi_pass(DirectiveSink& out, const ConfigNode& n, Scope& s, std::string_view prefix, std::string_view url,
               std::shared_ptr<std::regex> match);
inline bool fcgi_url(std::string_view url) { return url.rfind("fcgi://", 0) == 0 || url.rfind("unix:", 0) == 0; }
std::span<const DirectiveSpec> mime_directives();
std::span<const DirectiveSpec> metadata_directives();  // mod_setenvif, mod_env, mod_headers, mod_expires
std::span<const DirectiveSpec> ratelimit_directives();  // directives/ratelimit.cpp: PillarRateLimit*
std::span<const DirectiveSpec> deflate_directives();  // directives/deflate.cpp: output filters, mod_deflate
std::span<const DirectiveSpec> auth_directives();     // directives/auth.cpp: mod_auth_basic, mod_authn_file, AuthGroupFile

constexpr uint8_t kSV = kServer | kVHost;
constexpr uint8_t kPerDir = kDirectory | kFiles | kLocation;

// A path argument, resolved against ServerRoot.
inline std::string fs_path(const Scope& s, std::string_view p) { return normalize_fs_path(p, s.server.server_root); }

// One Require line's rule (Require, CachePurgeRequire); false (with the error
// reported) when malformed. `users`: user rules (valid-user, user, group)
// may appear (not in CachePurgeRequire, which runs before any authentication).
bool parse_require_rule(DirectiveSink& out, const ConfigNode& n, RequireRule& r, bool users = false);

// A one-argument value parsed into `field`; on failure the error reads
// "LABEL: why" (LABEL: the directive's name as the message spells it).
template <typename T, bool (*Parse)(std::string_view, T&, std::string&)>
bool set_value(DirectiveSink& out, const ConfigNode& n, std::string_view label, T& field) {
  std::string why;
  if (Parse(n.args[0], field, why)) return true;
  out.error(n, std::string(label) + ": " + why);
  return false;
}
constexpr auto set_on_off = set_value<bool, parse_on_off>;
constexpr auto set_duration = set_value<Millis, parse_duration>;
constexpr auto set_size = set_value<uint64_t, parse_size>;

// "key=value" (ProxySet, BalancerMember and ProxyPass parameters): the key
// lower-cased, the value as written (empty when there is no '=').
struct KeyValue {
  std::string key;
  std::string_view value;
};
inline KeyValue split_key_value(std::string_view kv) {
  size_t eq = kv.find('=');
  return {core::lowercase(kv.substr(0, eq)), eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1)};
}

// A server-wide count; 0 stands for ZeroMeans (Apache's "0 = default/unlimited").
template <typename T, T ServerConfig::*Field, uint64_t Min, uint64_t Max, T ZeroMeans>
void d_count(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], Min, Max, v, why)) return out.error(n, n.name + ": " + why);
  s.server.*Field = v == 0 ? ZeroMeans : static_cast<T>(v);
}

}  // namespace pillar::config

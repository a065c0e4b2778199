// The cache directive table: mod_cache's directives for the node-wide store
// (docs/cache.md). Listed in directives/registry.cpp; docs/configuration.md
// documents each directive.
#include "config/directives/tables.h"

#include <cstdlib>

#include "config/values.h"
#include "http/field_chars.h"
#include "http/request.h"

namespace pillar::config {
namespace {

// CacheEnable mem|disk [/prefix]: both types name the one node-wide store.
// In <Location> the prefix is the location's.
void d_cache_enable(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (!http::iequals(n.args[0], "mem") && !http::iequals(n.args[0], "disk") && !http::iequals(n.args[0], "socache"))
    return out.error(n, "CacheEnable " + n.args[0] + ": the cache type must be mem (disk and socache name the same store)");
  std::string prefix = s.ctx == kLocation ? s.loc->prefix : "/";
  if (n.args.size() == 2) {
    if (s.ctx == kLocation) return out.error(n, "CacheEnable inside <Location> takes no URL; write CacheEnable mem");
    prefix = n.args[1];
    if (size_t scheme = prefix.find("://"); scheme != std::string::npos) {
      size_t path = prefix.find('/', scheme + 3);
      prefix = path == std::string::npos ? "/" : prefix.substr(path);
    }
    if (prefix.empty() || prefix[0] != '/') return out.error(n, "CacheEnable " + n.args[1] + ": the URL path must start with '/'");
  }
  s.vhost.cache.rules.push_back({prefix, true});
}

void d_cache_disable(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string prefix = n.args[0];
  if (s.ctx == kLocation) {
    if (!http::iequals(n.args[0], "on")) return out.error(n, "CacheDisable inside <Location> is written CacheDisable on");
    prefix = s.loc->prefix;
  } else if (prefix.empty() || prefix[0] != '/') {
    return out.error(n, "CacheDisable " + n.args[0] + ": give a URL path starting with '/'");
  }
  s.vhost.cache.rules.push_back({prefix, false});
}

template <int64_t CacheConfig::*Field>
void d_cache_seconds(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  Millis v;
  if (!set_duration(out, n, n.name, v)) return;
  s.vhost.cache.*Field = v.count() / 1000;
}

template <bool CacheConfig::*Field>
void d_cache_flag(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, n.name, s.vhost.cache.*Field);
}

void d_cache_heuristic(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  const std::string& v = n.args[0];
  if (http::iequals(v, "off")) s.vhost.cache.heuristic = CacheHeuristic::Off;
  else if (http::iequals(v, "lastmodified")) s.vhost.cache.heuristic = CacheHeuristic::LastModified;
  else if (http::iequals(v, "on")) s.vhost.cache.heuristic = CacheHeuristic::On;
  else out.error(n, "CacheHeuristic " + v + ": give Off, LastModified or On");
}

void d_cache_lm_factor(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  char* end = nullptr;
  double v = std::strtod(n.args[0].c_str(), &end);
  if (end == n.args[0].c_str() || *end || v < 0 || v > 10)
    return out.error(n, "CacheLastModifiedFactor " + n.args[0] + ": give a fraction such as 0.1");
  s.vhost.cache.lm_factor = v;
}

void d_cache_max_object_size(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_size(out, n, n.name, s.vhost.cache.max_object_size);
}

void d_cache_size(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  uint64_t v;
  if (!parse_size(n.args[0], v, why)) return out.error(n, "CacheSize: " + why);
  if (v < (1u << 20)) return out.error(n, "CacheSize " + n.args[0] + " is too small; give at least 1M");
  s.server.cache_size = v;
}

void d_cache_lock(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, "CacheLock", s.server.cache_lock);
}

void d_cache_lock_max_age(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_duration(out, n, "CacheLockMaxAge", s.server.cache_lock_max_age);
}

void d_cache_purge_require(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  RequireRule r;
  if (parse_require_rule(out, n, r)) s.vhost.cache.purge.require.push_back(std::move(r));
}

// CacheControlTarget NAME... | Off: the targeted fields (RFC 9213) in the
// order they are tried; the last directive replaces the list.
void d_cache_control_target(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::vector<std::string> names;
  if (n.args.size() == 1 && http::iequals(n.args[0], "off")) {
    s.vhost.cache.targets.clear();
    return;
  }
  for (const std::string& a : n.args) {
    bool token = !a.empty();
    for (char c : a) token = token && http::chars::is_token(static_cast<unsigned char>(c));
    if (!token || http::iequals(a, "off"))
      return out.error(n, "CacheControlTarget " + a + ": give field names (such as CDN-Cache-Control), or Off alone");
    if (http::iequals(a, "Cache-Control") || http::iequals(a, "Expires"))
      return out.error(n, "CacheControlTarget " + a + ": a targeted field replaces Cache-Control; it cannot be it");
    for (const std::string& seen : names)
      if (http::iequals(seen, a)) return out.error(n, "CacheControlTarget " + a + " is listed twice");
    names.push_back(a);
  }
  s.vhost.cache.targets = std::move(names);
}

constexpr DirectiveSpec kTable[] = {
    {"CacheControlTarget", 1, -1, kSV, false, d_cache_control_target, "CacheControlTarget FIELD-NAME... | Off"},
    {"CacheDefaultExpire", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::default_expire>, "CacheDefaultExpire SECONDS"},
    {"CacheDisable", 1, 1, kSV | kLocation, false, d_cache_disable, "CacheDisable /PATH (in <Location>: CacheDisable on)"},
    {"CacheEnable", 1, 2, kSV | kLocation, false, d_cache_enable, "CacheEnable mem [/PATH]"},
    {"CacheGrace", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::grace>, "CacheGrace SECONDS"},
    {"CacheHeader", 1, 1, kSV, false, d_cache_flag<&CacheConfig::header>, "CacheHeader On|Off"},
    {"CacheHeuristic", 1, 1, kSV, false, d_cache_heuristic, "CacheHeuristic Off|LastModified|On"},
    {"CacheHitForPass", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::hit_for_pass>, "CacheHitForPass SECONDS"},
    {"CacheIgnoreCacheControl", 1, 1, kSV, false, d_cache_flag<&CacheConfig::ignore_cache_control>, "CacheIgnoreCacheControl On|Off"},
    {"CacheLastModifiedFactor", 1, 1, kSV, false, d_cache_lm_factor, "CacheLastModifiedFactor FRACTION"},
    {"CacheLock", 1, 1, kServer, false, d_cache_lock, "CacheLock On|Off"},
    {"CacheLockMaxAge", 1, 1, kServer, false, d_cache_lock_max_age, "CacheLockMaxAge SECONDS"},
    {"CacheLockMaxWaiters", 1, 1, kServer, false, d_count<uint32_t, &ServerConfig::cache_lock_max_waiters, 1, 1000000, 10000>,
     "CacheLockMaxWaiters COUNT"},
    {"CacheMaxExpire", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::max_expire>, "CacheMaxExpire SECONDS"},
    {"CacheMaxFileSize", 1, 1, kSV, false, d_cache_max_object_size, "CacheMaxFileSize BYTES"},
    {"CacheMaxObjectSize", 1, 1, kSV, false, d_cache_max_object_size, "CacheMaxObjectSize BYTES"},
    {"CacheMinExpire", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::min_expire>, "CacheMinExpire SECONDS"},
    {"CachePurgeRequire", 1, -1, kSV, false, d_cache_purge_require, "CachePurgeRequire all granted|[not] ip ADDRESS...|local"},
    {"CacheSize", 1, 1, kServer, false, d_cache_size, "CacheSize SIZE (e.g. 256M)"},
    {"CacheStaleIfError", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::stale_if_error>, "CacheStaleIfError SECONDS"},
    {"CacheStoreCookies", 1, 1, kSV, false, d_cache_flag<&CacheConfig::store_cookies>, "CacheStoreCookies On|Off"},
};

}  // namespace

std::span<const DirectiveSpec> cache_directives() { return kTable; }

}  // namespace pillar::config

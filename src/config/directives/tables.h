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

constexpr uint8_t kSV = kServer | kVHost;
constexpr uint8_t kPerDir = kDirectory | kFiles | kLocation;

// A path argument, resolved against ServerRoot.
inline std::string fs_path(const Scope& s, std::string_view p) { return normalize_fs_path(p, s.server.server_root); }

// One Require line's rule (Require, CachePurgeRequire); false (with the error
// reported) when malformed.
bool parse_require_rule(DirectiveSink& out, const ConfigNode& n, RequireRule& r);

// A server-wide count; 0 stands for ZeroMeans (Apache's "0 = default/unlimited").
template <typename T, T ServerConfig::*Field, uint64_t Min, uint64_t Max, T ZeroMeans>
void d_count(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], Min, Max, v, why)) return out.error(n, n.name + ": " + why);
  s.server.*Field = v == 0 ? ZeroMeans : static_cast<T>(v);
}

}  // namespace pillar::config

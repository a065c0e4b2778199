// The run-time form of one configuration: per virtual host, its handlers
// (built once, holding their config), its Location routes and access logs.
// A connection resolves vhost -> location -> handler with no name lookups.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cache/store.h"
#include "config/model.h"
#include "handlers/mime_types.h"
#include "handlers/server_status.h"
#include "http/handler.h"
#include "server/access_log.h"
#include "proxy/member_table.h"
#include "rewrite/site_rules.h"
#include "server/vhost_router.h"
#include "tls/server_context.h"

namespace pillar::proxy {
struct BalancerRuntime;
}

namespace pillar::server {

class TlsSites;

struct LocationRoute {
  const config::LocationSection* cfg;
  http::Handler* handler;  // null: the site's default (static files)
  proxy::BalancerRuntime* balancer = nullptr;  // ProxyPass
  // A <Location> with no handler of its own (Require, CacheEnable...) under
  // a vhost's ProxyPass: proxied by that ProxyPass, as in Apache, whose
  // translation does not depend on <Location> sections.
  const config::LocationSection* proxy_cfg = nullptr;
  const config::LocationSection& target_cfg() const { return proxy_cfg ? *proxy_cfg : *cfg; }
};

struct Site {
  const config::VirtualHost* cfg = nullptr;
  std::string_view server_banner;  // ServerTokens' product string: the Server field, ServerSignature's
  uint32_t stats_id = 0;  // its counters in VhostStats
  std::unique_ptr<http::Handler> static_handler;
  std::vector<std::unique_ptr<http::Handler>> owned_handlers;
  std::vector<LocationRoute> locations;
  std::vector<AccessLog> access_logs;
  // URL mapping (request/rewrite_phase.cpp): mod_rewrite's compiled rules,
  // and whether anything (rules, Alias*, Redirect*, FallbackResource) maps
  // URLs here at all, so a site with none skips the phase.
  std::unique_ptr<rewrite::SiteRules> rewrite;
  bool maps_urls = false;
  // Routes for RewriteRule [P]: one per balancer (a target's host:port is
  // matched against the balancers' members), over an empty <Location />.
  config::LocationSection rewrite_proxy_section;
  std::vector<LocationRoute> rewrite_proxy_routes;
  const tls::ServerContext* tls = nullptr;  // SSLEngine on: its TLS context (the Runtime's ContextSet owns it)
  // .htaccess (server/htaccess.h): some <Directory> lets them in (AllowOverride
  // or AllowOverrideList), so the rewrite phase walks the file's directories.
  bool htaccess = false;
  uint64_t serial = 0;  // unique per Site built by a Runtime (keys the per-thread .htaccess cache)
  // A Site made for one directory tree by its .htaccess files: the vhost's
  // own Site it derives from (null for that one) and the merged copy of the
  // vhost's configuration it owns (cfg points at it).
  const Site* base = nullptr;
  std::shared_ptr<const config::VirtualHost> own_cfg;

  // Its name in the logs and the per-vhost counters: ServerName, or
  // "(main)" for the main server without one.
  std::string_view log_name() const {
    return cfg->server_name.empty() ? std::string_view("(main)") : std::string_view(cfg->server_name);
  }
  // Longest matching <Location> prefix (later sections win ties), or null.
  const LocationRoute* match(std::string_view path) const;
  // As match(), but conditional ProxyPass routes (when-header=, when-network=)
  // of the same prefix are tried first, in configuration order.
  const LocationRoute* match(std::string_view path, const http::RequestHead& head, const sockaddr_storage& client) const;
};

class Runtime {
 public:
  // Builds sites, opens logs. Returns null with `error` set on failure.
  // `members`: the node-wide balancer member table (null: private state).
  static std::unique_ptr<Runtime> build(std::unique_ptr<config::ServerConfig> cfg, std::string& error,
                                        const handlers::BuiltinContext& ctx, proxy::MemberTable* members = nullptr);
  const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& balancers() const { return balancers_; }

  ~Runtime();
  const config::ServerConfig& config() const { return *cfg_; }
  const Site& site_for(const sockaddr_storage& local, std::string_view host) const;
  const Site& main_site() const { return *sites_[0]; }
  const Site& site(int vhost_index) const { return *sites_[static_cast<size_t>(vhost_index + 1)]; }
  // TLS at the front: the contexts (built here, in the master, before fork)
  // and the SNI selector over these sites.
  const TlsSites& tls_sites() const { return *tls_sites_; }
  // The TLS client context toward balancer `b`'s https:// members (null: none).
  const tls::ClientContext* member_tls(const proxy::BalancerRuntime& b) const;
  const std::shared_ptr<core::LogSink>& error_sink() const { return error_sink_; }
  // The descriptors a worker of this runtime keeps besides its logs and
  // listeners: the RewriteMap prg: pipes.
  std::vector<int> worker_fds() const;
  // Every log this runtime writes (error log first), each once.
  std::vector<const core::LogSink*> log_sinks() const;
  const handlers::BuiltinContext& builtin() const { return builtin_; }
  const handlers::MimeTypes& mime() const { return mime_; }
  bool reopen_logs(std::string& error);
  // The node's cache store (the master's, inherited by every worker); null
  // when no vhost uses CacheEnable.
  cache::Store* cache() const { return cache_; }
  void set_cache(cache::Store* s) { cache_ = s; }

 private:
  Runtime() = default;
  std::unique_ptr<config::ServerConfig> cfg_;
  handlers::MimeTypes mime_;
  std::vector<std::unique_ptr<Site>> sites_;  // [0] main server, [i+1] = vhosts[i]
  std::unique_ptr<VhostRouter> router_;
  std::shared_ptr<core::LogSink> error_sink_;
  handlers::BuiltinContext builtin_;
  std::vector<std::shared_ptr<core::LogSink>> sinks_;
  std::vector<std::unique_ptr<proxy::BalancerRuntime>> balancers_;
  cache::Store* cache_ = nullptr;
  std::unique_ptr<tls::ContextSet> tls_;
  std::unique_ptr<TlsSites> tls_sites_;
};

// A Site for `vh`, a copy of `base`'s configuration with per-directory
// sections added (.htaccess files: server/htaccess.cpp; the bodies of the
// <If> sections a request satisfies: server/if_sections.cpp): `base`'s
// routes, handlers, logs and TLS, a static handler and rewrite rules of its
// own. Null with `errors` set when its rewrite rules do not compile.
std::shared_ptr<Site> derive_site(const Runtime& rt, const Site& base, std::shared_ptr<const config::VirtualHost> vh,
                                  std::vector<config::ConfigError>& errors);

}  // namespace pillar::server

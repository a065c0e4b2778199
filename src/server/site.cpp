#include "server/site.h"

#include <algorithm>
#include <atomic>
#include <map>

#include "handlers/static_file_handler.h"
#include "handlers/builtin_pages.h"
#include "server/balancer_manager.h"
#include "proxy/balancer_runtime.h"
#include "server/tls_front.h"
#include "core/log.h"

namespace pillar::server {

Runtime::~Runtime() = default;

std::shared_ptr<Site> derive_site(const Runtime& rt, const Site& base, std::shared_ptr<const config::VirtualHost> vh,
                                  std::vector<config::ConfigError>& errors) {
  std::unique_ptr<rewrite::SiteRules> rules = rewrite::derive_site(*base.rewrite, *base.cfg, *vh, errors);
  if (!errors.empty()) return nullptr;
  auto site = std::make_shared<Site>();
  site->cfg = vh.get();
  site->own_cfg = vh;
  site->base = base.base ? base.base : &base;
  site->serial = base.serial;
  site->htaccess = base.htaccess;
  site->stats_id = base.stats_id;
  site->tls = base.tls;
  site->server_banner = base.server_banner;
  site->static_handler = std::make_unique<handlers::StaticFileHandler>(*vh, rt.mime());
  site->locations = base.locations;  // the vhost's routes and handlers (neither adds a <Location>)
  site->access_logs = base.access_logs;
  site->rewrite = std::move(rules);
  site->maps_urls = base.maps_urls || site->rewrite->any() ||
                    std::any_of(vh->directories.begin(), vh->directories.end(), [](const auto& d) {
                      return (d.htaccess || d.from_if) && (!d.redirects.empty() || d.fallback_resource);
                    });
  if (site->rewrite->any()) {
    for (const auto& bal : rt.balancers()) site->rewrite_proxy_routes.push_back({&base.rewrite_proxy_section, nullptr, bal.get()});
  }
  return site;
}

const LocationRoute* Site::match(std::string_view path, const http::RequestHead& head,
                                 const sockaddr_storage& client) const {
  const LocationRoute* plain = match(path);
  const LocationRoute* best = nullptr;
  for (const auto& r : locations) {
    const auto& c = *r.cfg;
    if (!c.conditional() || !c.matches(path)) continue;
    if (!c.when_header.empty() && head.find(c.when_header) != c.when_value) continue;
    if (!c.when_networks.empty()) {
      bool in = false;
      for (const auto& net : c.when_networks) in = in || net.contains(client);
      if (!in) continue;
    }
    if (c.match) return &r;  // a ProxyPassMatch with conditions: first match wins
    if (!best || c.prefix.size() > best->cfg->prefix.size()) best = &r;
  }
  // A conditional route beats an unconditional one of the same or a shorter prefix.
  if (best && (!plain || plain->cfg->match == nullptr) && (!plain || best->cfg->prefix.size() >= plain->cfg->prefix.size()))
    return best;
  return plain;
}

const LocationRoute* Site::match(std::string_view path) const {
  for (const auto& r : locations) {  // ProxyPassMatch first, in configuration order
    if (r.cfg->match && !r.cfg->conditional() && r.cfg->matches(path)) return &r;
  }
  const LocationRoute* best = nullptr;
  for (const auto& r : locations) {
    if (r.cfg->match || r.cfg->conditional() || !r.cfg->matches(path)) continue;
    if (!best || r.cfg->prefix.size() >= best->cfg->prefix.size()) best = &r;
  }
  return best;
}

std::unique_ptr<Runtime> Runtime::build(std::unique_ptr<config::ServerConfig> cfg, std::string& error,
                                        const handlers::BuiltinContext& ctx, proxy::MemberTable* members) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->cfg_ = std::move(cfg);
  rt->builtin_ = ctx;
  const config::ServerConfig& c = *rt->cfg_;

  rt->mime_.load(c.types_config);

  rt->error_sink_ = core::LogSink::open(c.error_log, error);
  if (!rt->error_sink_) return nullptr;

  // The TLS contexts, once per configuration (pillar -t ran the same checks).
  std::vector<config::ConfigError> tls_errors;
  std::vector<std::string> tls_warnings;
  rt->tls_ = tls::ContextSet::build(c, tls_errors, tls_warnings, /*fetch_ocsp=*/true);
  if (!rt->tls_) {
    error = tls_errors.empty() ? "TLS contexts could not be built" : tls_errors[0].to_string();
    return nullptr;
  }
  for (const auto& w : tls_warnings) core::log(core::LogLevel::Warn, "ssl", "{}", w);
  rt->tls_sites_ = std::make_unique<TlsSites>(*rt);

  for (const auto& b : c.balancers) {
    auto br = proxy::BalancerRuntime::build(b, members, error);
    if (!br) return nullptr;
    rt->balancers_.push_back(std::move(br));
  }
  std::map<std::string, std::shared_ptr<core::LogSink>> sinks;  // one sink per path
  auto build_site = [&](const config::VirtualHost& vh) -> std::unique_ptr<Site> {
    auto site = std::make_unique<Site>();
    site->cfg = &vh;
    site->server_banner = rt->cfg_->server_tokens;
    static std::atomic<uint64_t> serials{0};
    site->serial = ++serials;
    site->htaccess = std::any_of(vh.directories.begin(), vh.directories.end(), [](const config::DirectorySection& d) {
      return (d.allow_override && d.allow_override->categories) || (d.allow_override_list && !d.allow_override_list->empty());
    });
    if (ctx.vhost_stats) site->stats_id = ctx.vhost_stats->id_for(vh.server_name.empty() ? "(main)" : vh.server_name);
    site->static_handler = std::make_unique<handlers::StaticFileHandler>(vh, rt->mime_);
    for (const auto& loc : vh.locations) {
      http::Handler* h = nullptr;
      if (loc.handler == config::HandlerKind::BalancerManager) {
        site->owned_handlers.push_back(std::make_unique<BalancerManager>(*rt, members));
        h = site->owned_handlers.back().get();
      } else if (loc.handler != config::HandlerKind::Default && loc.handler != config::HandlerKind::Proxy &&
                 loc.handler != config::HandlerKind::FastCgi) {  // FastCGI: an exchange (server/fastcgi_route.cpp)
        site->owned_handlers.push_back(handlers::make_builtin_handler(loc.handler, c, ctx));
        h = site->owned_handlers.back().get();
      }
      proxy::BalancerRuntime* b = nullptr;
      if (loc.handler == config::HandlerKind::Proxy && loc.proxy.balancer >= 0)
        b = rt->balancers_[static_cast<size_t>(loc.proxy.balancer)].get();
      site->locations.push_back({&loc, h, b});
    }
    // Plain <Location> sections under a ProxyPass prefix inherit it, unless a
    // longer ProxyPass ... ! excludes them.
    for (auto& r : site->locations) {
      const auto& loc = *r.cfg;
      if (loc.handler != config::HandlerKind::Default || loc.proxy_excluded || loc.match || loc.conditional()) continue;
      const LocationRoute* parent = nullptr;
      size_t excluded_at = 0;
      for (const auto& o : site->locations) {
        const auto& oc = *o.cfg;
        if (oc.match || oc.conditional() || !oc.matches(loc.prefix)) continue;
        if (oc.proxy_excluded) excluded_at = std::max(excluded_at, oc.prefix.size());
        else if (o.balancer && (!parent || oc.prefix.size() >= parent->cfg->prefix.size())) parent = &o;
      }
      if (parent && parent->cfg->prefix.size() > excluded_at) {
        r.balancer = parent->balancer;
        r.proxy_cfg = parent->cfg;
      }
    }
    std::vector<config::ConfigError> rw_errors;
    site->rewrite = rewrite::compile_site(c, vh, rw_errors);
    if (!rw_errors.empty()) {
      error = rw_errors[0].to_string();
      return nullptr;
    }
    // RewriteMap prg: helpers start here, in the master, before the workers fork.
    if (!site->rewrite->maps.start_programs(c.rewrite_map_timeout, c.process.user, c.process.group, error)) return nullptr;
    site->maps_urls = site->rewrite->any() || !vh.alias_rules.empty() || !vh.redirects.empty() ||
                      !vh.fallback_resource.empty() || !vh.cgi.userdir.dirs.empty() ||
                      std::any_of(vh.directories.begin(), vh.directories.end(),
                                  [](const auto& d) { return !d.redirects.empty() || d.fallback_resource; }) ||
                      std::any_of(vh.locations.begin(), vh.locations.end(), [](const auto& l) { return !l.redirects.empty(); });
    site->rewrite_proxy_section.prefix.push_back('/');  // (not = "/": GCC 12 -Wrestrict false positive)
    site->rewrite_proxy_section.handler = config::HandlerKind::Proxy;
    if (site->rewrite->any()) {
      for (const auto& b : rt->balancers_) site->rewrite_proxy_routes.push_back({&site->rewrite_proxy_section, nullptr, b.get()});
    }
    for (const auto& cl : vh.custom_logs) {
      auto& sink = sinks[cl.path];
      if (!sink) {
        sink = core::LogSink::open(cl.path, error);
        if (!sink) return nullptr;
        rt->sinks_.push_back(sink);
      }
      std::string ferr;
      auto fmt = AccessLogFormat::compile(cl.format, ferr);
      if (!fmt) {
        error = "CustomLog " + cl.path + ": " + ferr;
        return nullptr;
      }
      site->access_logs.push_back({sink, std::move(fmt)});
    }
    return site;
  };

  auto main = build_site(c.main_server);
  if (!main) return nullptr;
  main->tls = rt->tls_->for_vhost(-1);
  rt->sites_.push_back(std::move(main));
  for (size_t i = 0; i < c.vhosts.size(); ++i) {
    auto s = build_site(c.vhosts[i]);
    if (!s) return nullptr;
    s->tls = rt->tls_->for_vhost(static_cast<int>(i));
    rt->sites_.push_back(std::move(s));
  }
  rt->router_ = std::make_unique<VhostRouter>(c.vhosts);
  return rt;
}

const Site& Runtime::site_for(const sockaddr_storage& local, std::string_view host) const {
  int idx = router_->select(local, host);
  return *sites_[static_cast<size_t>(idx + 1)];
}

std::vector<int> Runtime::worker_fds() const {
  std::vector<int> out;
  for (const auto& s : sites_) s->rewrite->maps.program_fds(out);
  return out;
}

std::vector<const core::LogSink*> Runtime::log_sinks() const {
  std::vector<const core::LogSink*> out{error_sink_.get()};
  for (const auto& s : sinks_) {
    if (std::find(out.begin(), out.end(), s.get()) == out.end()) out.push_back(s.get());
  }
  return out;
}

bool Runtime::reopen_logs(std::string& error) {
  bool ok = error_sink_->reopen(error);
  for (auto& s : sinks_) ok = s->reopen(error) && ok;
  return ok;
}

const tls::ClientContext* Runtime::member_tls(const proxy::BalancerRuntime& b) const {
  const auto& all = cfg_->balancers;
  if (all.empty() || b.cfg < all.data() || b.cfg >= all.data() + all.size()) return nullptr;
  return tls_->for_balancer(static_cast<size_t>(b.cfg - all.data()));
}

}  // namespace pillar::server

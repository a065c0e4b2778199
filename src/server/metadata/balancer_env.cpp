#include "server/metadata/balancer_env.h"

#include "proxy/sticky.h"

namespace pillar::server::metadata {

void set_balancer_env(http::RequestEnv& env, const config::BalancerConfig& b, const config::BalancerMemberConfig& m,
                      const http::RequestHead& head) {
  if (b.name.empty()) return;
  env.unset("BALANCER_ROUTE_CHANGED");  // a retry on another member decides again
  env.set("BALANCER_NAME", "balancer://" + b.name);
  env.set("BALANCER_WORKER_NAME", m.url);
  env.set("BALANCER_WORKER_ROUTE", m.route);
  std::string_view route;
  if (!b.stickysession.empty()) {
    proxy::StickyRoute r = proxy::extract_route(b.stickysession, head.find("Cookie"), head.target, b.stickysession_sep);
    if (!r.route.empty()) {
      proxy::StickyNames names = proxy::parse_sticky_names(b.stickysession);
      route = r.route;
      env.set("BALANCER_SESSION_STICKY", r.source == proxy::RouteSource::Url ? names.path : names.cookie);
      env.set("BALANCER_SESSION_ROUTE", route);
    }
  }
  if (route.empty() || route != m.route) env.set("BALANCER_ROUTE_CHANGED", "1");
}

}  // namespace pillar::server::metadata

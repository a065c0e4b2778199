// The variables mod_proxy_balancer sets for the member it chose, which
// Apache's sticky-cookie recipe reads:
//   Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
//   BALANCER_NAME           "balancer://NAME"
//   BALANCER_WORKER_NAME    the member's URL as written
//   BALANCER_WORKER_ROUTE   its route= ("" without one)
//   BALANCER_ROUTE_CHANGED  "1" when the request carried no route, or one
//                           other than the chosen member's (a new client, a
//                           failover): the cookie must be (re)set
//   BALANCER_SESSION_STICKY the stickysession= name the route was found
//                           under (the URL's or the cookie's), and
//   BALANCER_SESSION_ROUTE  that route, when the request carried one.
// A direct ProxyPass target (no balancer://) sets none, as in Apache.
#pragma once
#include "config/model.h"
#include "http/request.h"
#include "http/request_env.h"

namespace pillar::server::metadata {

void set_balancer_env(http::RequestEnv& env, const config::BalancerConfig& b, const config::BalancerMemberConfig& m,
                      const http::RequestHead& head);

}  // namespace pillar::server::metadata

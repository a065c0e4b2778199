// The phase table (phases.h) and its steps, on a RequestCarrier.
#include "server/request/phases.h"

#include "core/assert.h"
#include "core/fault_point.h"
#include "core/socket_address.h"
#include "http/authority.h"
#include "http/uri.h"
#include "proxy/balancer_runtime.h"
#include "server/cache_exchange.h"
#include "server/proxy_exchange.h"
#include "server/request/authorization.h"
#include "server/request/error_document.h"
#include "server/request/handler_exchange.h"
#include "server/request/rate_limits.h"
#include "server/request/request.h"
#include "server/request/response_filters.h"
#include "server/request/rewrite_phase.h"
#include "server/site.h"
#include "server/tls_front.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

PhaseStep phase_route(RequestCarrier& c) {
  Request& req = c.request();
  const auto& rt = c.worker().runtime();
  http::authority_host(req.head.authority, req.host);  // checked by the parser; none (HTTP/1.0): empty
  req.site = &rt.site_for(c.local_address(), req.host);
  req.resp.clear();
  req.https = c.transport().secure();
  if (req.https) {
    if (int status = tls_request_check(rt, c.transport(), c.local_address(), req)) {
      c.respond_error(status, status == 421 ? "the Host names a vhost the TLS handshake (SNI) did not select"
                                            : "a client without SNI to a vhost with SSLStrictSNIVHostCheck");
      return PhaseStep::Handled;
    }
  }
  // The path is decoded and routed once; proxied locations stream the
  // request body to the member themselves.
  req.path_error = 0;
  const bool path_ok = req.head.path != "*" && http::normalize_path(req.head.path, req.path, req.path_error);
  if (!path_ok && req.path_error == 0) req.path_error = 400;  // "*" (OPTIONS * is answered by the content phase)
  req.route = path_ok ? req.site->match(req.path, req.head, req.client) : nullptr;
  return PhaseStep::Next;
}

PhaseStep phase_rewrite(RequestCarrier& c) {
  Request& req = c.request();
  std::string local_ip =
      req.site && (req.site->maps_urls || req.site->htaccess || req.site->cfg->ifs_anywhere) ? core::address_text(c.local_address()) : std::string();
  if (run_rewrite_phase(req, {c.worker().runtime(), c.local_port(), local_ip}) == RewriteVerdict::Next)
    return PhaseStep::Next;
  close_if_body_unread(c);
  if (req.resp.use_error_page) apply_error_document(req, req.site, nullptr);
  c.respond();
  return PhaseStep::Handled;
}

PhaseStep phase_purge(RequestCarrier& c) {
  if (!answer_purge(c.request(), c.worker().runtime().cache())) return PhaseStep::Next;
  c.respond();
  return PhaseStep::Handled;
}

// Require, and Basic authentication when a rule needs a user
// (request/authorization.cpp); a refusal no user could change is answered
// by the content phase, after the method checks (403).
PhaseStep phase_access(RequestCarrier& c) { return authorize_request(c); }

PhaseStep phase_limits(RequestCarrier& c) {
  const Request& req = c.request();
  const auto& cfg = c.worker().runtime().config();
  if (PhaseStep s = limit_overload(c); s != PhaseStep::Next) return s;  // request/rate_limits.cpp
  if (req.head.has_content_length && cfg.limit_request_body && req.head.content_length > cfg.limit_request_body) {
    c.respond_error(413, "request body larger than LimitRequestBody");
    return PhaseStep::Handled;
  }
  return limit_request_rate(c);  // PillarRateLimit (request/rate_limits.cpp)
}

PhaseStep phase_filters(RequestCarrier& c) {
  install_response_filters(c.request(), &c);
  return PhaseStep::Next;
}

// A proxied location forwards any method the parser took as a token
// (WebDAV's PROPFIND, SSDP's M-SEARCH...): the member decides, as in Apache.
PhaseStep phase_proxy(RequestCarrier& c) {
  Request& req = c.request();
  const LocationRoute* route = req.route;
  if (!route || !route->balancer || !req.access_ok) return PhaseStep::Next;
  if (!c.flush_ahead()) return PhaseStep::Handled;  // this one may take a while
  WorkerLoop& w = c.worker();
  std::unique_ptr<http::Exchange> x = CacheExchange::begin(c, w, req, *route, c.local_address(), c.slot());
  if (!x) {
    auto p = std::make_unique<ProxyExchange>(c, w, *route->balancer, req, c.local_address(), c.slot(),
                                             ProxyExchange::target_for(*route, req));
    p->start();
    x = std::move(p);
  }
  c.run_exchange(std::move(x));
  return PhaseStep::Handled;
}

PhaseStep phase_content(RequestCarrier& c) {
  Request& req = c.request();
  const LocationRoute* route = req.route;
  http::Handler* handler = route && route->handler ? route->handler : req.site->static_handler.get();
  HandlerExchange& content = c.content();
  content.reset(req, req.access_ok ? handler : nullptr, c.local_port(), head_defaults(c.worker()));
  if (content.reading_body()) {
    if (!c.flush_ahead()) return PhaseStep::Handled;  // its body may take a while
  } else {
    close_if_body_unread(c);
  }
  c.run_exchange(content);
  return PhaseStep::Handled;
}

using Phase = PhaseStep (*)(RequestCarrier&);
constexpr Phase kRequestPhases[] = {
    phase_route,    // vhost, path, <Location>
    phase_metadata_early,   // the server's SetEnvIf, RequestHeader early (server/metadata_phase.cpp)
    phase_rewrite,  // mod_rewrite, mod_alias, FallbackResource (request/rewrite_phase.cpp)
    phase_purge,    // PURGE of a cached URL
    phase_access,   // Require, with Basic authentication (request/authorization.cpp)
    phase_limits,   // LimitRequestBody, PillarRateLimit
    phase_metadata_fixups,  // per-directory SetEnvIf, SetEnv, RequestHeader (server/metadata_phase.cpp)
    phase_filters,  // response filters (request/response_filters.cpp)
    phase_proxy,    // the cache filter around the proxy (a proxied location)
    phase_cgi,      // CGI scripts (server/cgi_phase.cpp)
    phase_fastcgi,  // FastCGI (server/fastcgi_phase.cpp), or refusing a script's source
    phase_content,  // the location's handler
};

}  // namespace

void close_if_body_unread(RequestCarrier& c) {
  const Request& req = c.request();
  if (req.body_chunked || req.body_left > http::RequestBody::kDiscardMax ||
      (req.head.expect_continue && req.body_left > 0))
    c.close_after();
}

HeadDefaults head_defaults(WorkerLoop& w) {
  return {w.loop().http_date(), w.runtime().config().server_tokens};
}

namespace {
void run_phases_from(RequestCarrier& c, size_t first) {
  for (size_t i = first; i < std::size(kRequestPhases); ++i) {
    switch (kRequestPhases[i](c)) {
      case PhaseStep::Next: continue;
      case PhaseStep::Handled: return;
      case PhaseStep::Suspended:
        PILLAR_ASSERT(c.request().resume);
        c.request().resume_at = static_cast<uint8_t>(i + 1);
        return;
    }
  }
}
}  // namespace

void run_request_phases(RequestCarrier& c) {
  PILLAR_FAULT_POINT("request.process");  // tests: a worker stuck (or dying) in the request path
  c.request().resume = nullptr;
  run_phases_from(c, 0);
}

void resume_request_phases(RequestCarrier& c) {
  Request& req = c.request();
  PILLAR_ASSERT(req.resume);
  auto resume = std::move(req.resume);
  req.resume = nullptr;
  if (resume(c) == PhaseStep::Next) run_phases_from(c, req.resume_at);
}

}  // namespace pillar::server

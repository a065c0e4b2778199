// The FastCGI step of the request phases (request/phases.h, after the
// proxy, before the content handler): a request that route_fastcgi gives
// to an application is answered by a FastcgiExchange; a script nobody runs
// is refused (403) so that its source is never sent (ScriptSourceGuard).
// The exchange runs like any other (RequestCarrier::run_exchange); its
// failure (502/503/504) is answered by the carrier with the error page.
#include "core/log.h"
#include "server/fastcgi_exchange.h"
#include "server/fastcgi_route.h"
#include "server/request/authorization.h"
#include "server/request/handler_exchange.h"
#include "server/request/phases.h"
#include "server/request/request.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

PhaseStep phase_fastcgi(RequestCarrier& c) {
  Request& req = c.request();
  // TRACE and CONNECT are the server's to refuse (405), as for static files.
  if (req.path_error || !req.access_ok || req.head.path == "*" || req.head.method == http::Method::Trace ||
      req.head.method == http::Method::Connect)
    return PhaseStep::Next;
  FastcgiRoute r = route_fastcgi(*req.site, req.route, req.path, access_subject(req), req.rewrite.handler);
  if (r.kind == FastcgiRoute::Kind::None) return PhaseStep::Next;
  if (r.kind != FastcgiRoute::Kind::Run) {
    if (r.kind == FastcgiRoute::Kind::Refuse)
      core::log(core::LogLevel::Error, "core",
                "[client {}] [vhost {}] {} is a script that no handler runs: refused (403), its source is not sent; "
                "give it a FastCGI handler (SetHandler \"proxy:...\") or set ScriptSourceGuard Off for this location",
                req.client_ip, req.site->log_name(),
                r.script_filename);
    close_if_body_unread(c);
    HandlerExchange& content = c.content();
    content.reset(req, nullptr, c.local_port(), head_defaults(c.worker()));  // 403 (after the method checks), with its ErrorDocument
    c.run_exchange(content);
    return PhaseStep::Handled;
  }
  if (!c.flush_ahead()) return PhaseStep::Handled;  // this one may take a while
  auto x = std::make_unique<FastcgiExchange>(c, c.worker(), req, c.local_address(), c.slot(), std::move(r));
  x->start();
  c.run_exchange(std::move(x));
  return PhaseStep::Handled;
}

}  // namespace pillar::server

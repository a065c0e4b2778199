// The CGI step of the request phases (request/phases.h, after the proxy,
// before FastCGI, so that a .cgi script given to CGI is not refused by
// ScriptSourceGuard): a request route_cgi gives to a script is answered by
// a CgiExchange; one it refuses (403, 404, 500) is answered here with the
// error page and logged with its reason, as Apache's mod_cgid does.
#include "core/log.h"
#include "server/cgi_exchange.h"
#include "server/cgi_route.h"
#include "server/request/error_document.h"
#include "server/request/phases.h"
#include "server/request/request.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

PhaseStep phase_cgi(RequestCarrier& c) {
  Request& req = c.request();
  // TRACE and CONNECT are the server's to refuse (405), as for static files.
  if (req.path_error || !req.access_ok || req.head.path == "*" || req.head.method == http::Method::Trace ||
      req.head.method == http::Method::Connect)
    return PhaseStep::Next;
  CgiRoute r = route_cgi(req, c.worker().runtime().config().timeout);
  if (r.kind == CgiRoute::Kind::None) return PhaseStep::Next;
  if (r.kind == CgiRoute::Kind::Refuse) {
    core::log(core::LogLevel::Error, "cgid", "[client {}] [vhost {}] {}", req.client_ip,
              req.site->log_name(), r.why);
    close_if_body_unread(c);
    set_error_answer(req, r.status);
    c.respond();
    return PhaseStep::Handled;
  }
  if (!c.flush_ahead()) return PhaseStep::Handled;  // this one may take a while
  auto x = std::make_unique<CgiExchange>(c, c.worker(), req, c.local_address(), std::move(r));
  x->start();
  c.run_exchange(std::move(x));
  return PhaseStep::Handled;
}

}  // namespace pillar::server

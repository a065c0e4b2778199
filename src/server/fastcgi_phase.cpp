// The FastCGI phase of the request (Connection::kRequestPhases, after the
// proxy, before the content handler): a request that route_fastcgi gives
// to an application is answered by a FastcgiExchange; a script nobody runs
// is refused (403) so that its source is never sent (ScriptSourceGuard).
// The exchange runs like any other (Connection::start_exchange); its
// failure (502/503/504) is answered by the connection with the error page.
#include "core/log.h"
#include "server/connection.h"
#include "server/fastcgi_exchange.h"
#include "server/fastcgi_route.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

Connection::PhaseStep Connection::phase_fastcgi() {
  // TRACE and CONNECT are the server's to refuse (405), as for static files.
  if (req_.path_error || !req_.access_ok || req_.head.path == "*" || req_.head.method == http::Method::Trace ||
      req_.head.method == http::Method::Connect)
    return PhaseStep::Next;
  FastcgiRoute r = route_fastcgi(*req_.site, req_.route, req_.path, req_.client, req_.rewrite.handler);
  if (r.kind == FastcgiRoute::Kind::None) return PhaseStep::Next;
  if (r.kind != FastcgiRoute::Kind::Run) {
    if (r.kind == FastcgiRoute::Kind::Refuse)
      core::log(core::LogLevel::Error, "core",
                "[client {}] [vhost {}] {} is a script that no handler runs: refused (403), its source is not sent; "
                "give it a FastCGI handler (SetHandler \"proxy:...\") or set ScriptSourceGuard Off for this location",
                req_.client_ip, req_.site->cfg->server_name.empty() ? "(main)" : req_.site->cfg->server_name,
                r.script_filename);
    if (req_.body_chunked || req_.body_left > http::RequestBody::kDiscardMax || (req_.head.expect_continue && req_.body_left > 0))
      keep_alive_ = false;
    content_.reset(req_, nullptr, local_port_, head_defaults());  // 403 (after the method checks), with its ErrorDocument
    start_exchange(&content_);
    return PhaseStep::Handled;
  }
  // Answers batched before this one leave now: this one may take a while.
  if (!output_.empty() && output_.flush() == http1::Output::Result::Error) {
    abort_request();
    return PhaseStep::Handled;
  }
  auto x = std::make_unique<FastcgiExchange>(*this, w_, req_, local_, std::move(r));
  x->start();
  start_exchange(std::move(x));  // drive() runs it (Phase::Exchange)
  return PhaseStep::Handled;
}

}  // namespace pillar::server

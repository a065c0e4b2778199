// The FastCGI phase of the request (Connection::kRequestPhases, after the
// proxy, before the content handler): a request that route_fastcgi gives
// to an application is answered by a FastcgiExchange; a script nobody runs
// is refused (403) so that its source is never sent (ScriptSourceGuard).
// The exchange runs in Phase::Exchange; end_fastcgi logs and goes on, or
// answers the exchange's failure (502/503/504) with the error page.
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
  FastcgiRoute r = route_fastcgi(*req_.site, req_.route, req_.path, req_.client);
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
    run_handler(nullptr, 0);  // 403 (after the method checks), with its ErrorDocument
    return PhaseStep::Handled;
  }
  // Answers batched before this one leave now: this one may take a while.
  if (!output_.empty() && output_.flush() == http1::Output::Result::Error) {
    abort_request();
    return PhaseStep::Handled;
  }
  // The exchange runs the application's timers; the connection's is the
  // request body's (RequestReadTimeout body=, MinRate), when there is one.
  if (req_.head.chunked || req_.head.content_length > 0) arm_read_timer(true);
  else core::TimerWheel::cancel(*this);
  phase_ = Phase::Exchange;
  fcgi_ = std::make_unique<FastcgiExchange>(*this, w_, req_, local_, std::move(r));
  fcgi_->start();
  return PhaseStep::Handled;  // drive() runs the exchange (Phase::Exchange)
}

void Connection::end_fastcgi() {
  std::unique_ptr<FastcgiExchange> x = std::move(fcgi_);
  if (x->aborted()) {
    // A response that had begun is logged; a client that left before any
    // head (mid-upload) was never answered.
    bool answered = x->status() != 0;
    req_.resp.status = x->status();
    req_.body_bytes = x->body_bytes();
    w_.retire(std::move(x));
    if (answered) abort_request();
    else close_now();
    return;
  }
  size_t cursor = body_.cursor();
  if (body_.overread()) keep_alive_ = false;  // bytes past the body: a next request we cannot put back
  if (x->failed()) {
    int status = x->status();
    w_.retire(std::move(x));
    if (!body_.done()) keep_alive_ = false;  // the request body may be half read
    req_.resp.error(status);
    apply_error_page(req_.site, nullptr);
    queue_response();
    return;
  }
  req_.resp.status = x->status();
  req_.body_bytes = x->body_bytes();
  // Body bytes the exchange took from the read buffer: finish_request skips
  // the head, and the rest of a pipelined next request stays.
  if (cursor >= rbegin_ + req_.head_len && cursor <= rend_) rbegin_ = cursor - req_.head_len;
  w_.retire(std::move(x));
  phase_ = Phase::Write;
  finish_request();
}

}  // namespace pillar::server

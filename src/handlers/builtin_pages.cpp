#include "handlers/builtin_pages.h"

namespace pillar::handlers {

namespace {

constexpr std::string_view kWelcome = R"(<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Pillar is running</title>
<style>body{font-family:sans-serif;max-width:40em;margin:4em auto;line-height:1.5;color:#222}
code{background:#f3f3f3;padding:0 .3em}</style></head>
<body>
<h1>Pillar is running</h1>
<p>This is the built-in welcome page of Pillar's embedded default configuration.</p>
<p>To serve your own sites, write an httpd.conf-style file and start
<code>pillar -f /path/to/pillar.conf</code>; check it first with <code>pillar -t -f FILE</code>.
The configuration reference is <code>docs/configuration.md</code>.</p>
</body>
</html>
)";

}  // namespace

void WelcomeHandler::handle(const http::RequestContext& ctx, http::Response& resp) {
  if (ctx.head.method != http::Method::Get && ctx.head.method != http::Method::Head) {
    resp.error(405);
    resp.add_header("Allow", "GET, HEAD");
    return;
  }
  resp.add_header("Content-Type", "text/html; charset=utf-8");
  resp.add_text(kWelcome);
}

std::unique_ptr<http::Handler> make_builtin_handler(config::HandlerKind kind, const config::ServerConfig& cfg,
                                                   const BuiltinContext& ctx) {
  switch (kind) {
    case config::HandlerKind::Welcome: return std::make_unique<WelcomeHandler>();
    case config::HandlerKind::ServerStatus: return std::make_unique<ServerStatusHandler>(cfg, ctx);
    case config::HandlerKind::Metrics: return std::make_unique<MetricsHandler>(cfg, ctx);
    case config::HandlerKind::Default:
    case config::HandlerKind::Proxy:  // the server runs proxied requests itself (they need the event loop)
    case config::HandlerKind::BalancerManager:  // built by the server, which owns the balancers
    case config::HandlerKind::FastCgi:          // an exchange of the server (it needs the event loop)
      break;
  }
  return nullptr;
}

}  // namespace pillar::handlers

#include "handlers/builtin_pages.h"

namespace pillar::handlers {

namespace {

// Ten lines a new user can start from (a unit test loads them).
constexpr std::string_view kExample = R"(Listen 8080
ServerName www.example.com
DocumentRoot "/var/www/html"
DirectoryIndex index.html
ErrorLog "/var/log/pillar/error.log"
CustomLog "/var/log/pillar/access.log" combined
<Location /server-status>
    SetHandler server-status
    Require local
</Location>
)";

std::string html_escaped(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

const std::string& welcome_page() {
  static const std::string page = std::string(R"(<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Pillar is running</title>
<style>body{font-family:sans-serif;max-width:40em;margin:4em auto;line-height:1.5;color:#222}
code,pre{background:#f3f3f3;padding:0 .3em}pre{padding:.5em}</style></head>
<body>
<h1>Pillar is running</h1>
<p>This is the built-in welcome page of Pillar's embedded default configuration.
Two more pages are live here, from this machine only:</p>
<ul>
<li><a href="/server-status">/server-status</a>: the scoreboard, as Apache's mod_status
(<a href="/server-status?auto">?auto</a> for scripts);</li>
<li><a href="/metrics">/metrics</a>: the same counters for Prometheus.</li>
</ul>
<p>To serve your own site, write an httpd.conf-style file such as this one:</p>
<pre>)") + html_escaped(kExample) + R"(</pre>
<p>check it with <code>pillar -t -f /path/to/pillar.conf</code>, then start
<code>pillar -f /path/to/pillar.conf</code>.
The configuration reference is <code>docs/configuration.md</code>.</p>
</body>
</html>
)";
  return page;
}

}  // namespace

std::string_view welcome_example_config() { return kExample; }

void WelcomeHandler::handle(const http::RequestContext& ctx, http::Response& resp) {
  if (ctx.head.method != http::Method::Get && ctx.head.method != http::Method::Head) {
    resp.error(405);
    resp.add_header("Allow", "GET, HEAD");
    return;
  }
  // The welcome site has one page: any other path is not found.
  if (ctx.path != "/" && ctx.path != "/index.html") {
    resp.error(404);
    return;
  }
  resp.add_header("Content-Type", "text/html; charset=utf-8");
  resp.add_text(welcome_page());
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

#include "server/metadata/request_metadata.h"

#include <sys/time.h>

#include "core/socket_address.h"
#include "server/metadata/header_edit.h"
#include "server/metadata/request_format.h"
#include "server/metadata/sections.h"
#include "server/metadata/setenvif.h"
#include "server/request/expr_input.h"
#include "server/site.h"

namespace pillar::server::metadata {
namespace {

SetEnvIfSubject subject(const Request& req, std::string_view uri) {
  SetEnvIfSubject s;
  s.remote_addr = req.client_ip;
  s.server_addr = req.meta.local_ip;
  s.method = req.head.method_name;
  s.protocol = req.head.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  s.uri = uri;
  s.headers = req.head.headers;
  return s;
}

void request_headers(Request& req, std::span<const config::Metadata* const> secs, bool early) {
  RequestFormatSource src(req);
  const config::ExprInput in = expr_input(req);
  for (const config::Metadata* m : secs) {
    for (const auto& a : m->headers) {
      if (!a.request || a.early != early) continue;
      if (!early && !condition_holds(a, req.env, &in)) continue;  // early lines are unconditional, as Apache's
      apply_request_action(a, req.head.headers, req.meta.values, src, req.meta.notes);
    }
  }
}

uint64_t wall_us() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return static_cast<uint64_t>(tv.tv_sec) * 1000000u + static_cast<uint64_t>(tv.tv_usec);
}

}  // namespace

void begin_request_metadata(Request& req, const ConnectionFacts& c) {
  req.meta.reset();
  // A script's local redirect runs the phases again with the first run's
  // variables, renamed REDIRECT_* (request/local_redirect.cpp).
  if (req.local_redirects == 0) req.env.clear();
  req.meta.start_wall_us = wall_us();
  req.meta.local_port = c.local_port;
  if (req.meta.local_ip.empty() && c.local) req.meta.local_ip = core::address_text(*c.local);
  req.meta.transport = c.transport;
  req.meta.board = c.board;
  if (!req.site) return;
  const config::Metadata& server = req.site->cfg->meta;
  const config::Metadata* only = &server;
  request_headers(req, {&only, 1}, true);
  if (!server.setenvif.empty()) run_setenvif(server.setenvif, subject(req, req.head.path), req.env);
}

void fixup_request_metadata(Request& req) {
  collect_sections(req);
  auto secs = std::span<const config::Metadata* const>(req.meta.sections);
  if (secs.empty()) return;
  // Per-directory SetEnvIf (the vhost's, first, were the server's).
  for (const config::Metadata* m : secs.subspan(1)) {
    if (!m->setenvif.empty()) run_setenvif(m->setenvif, subject(req, req.path), req.env);
  }
  // mod_env: outer values, less what a deeper section unsets, plus its own.
  thread_local std::vector<std::pair<std::string_view, std::string_view>> vars;
  vars.clear();
  for (const config::Metadata* m : secs) {
    for (const auto& u : m->env.unset)
      std::erase_if(vars, [&](const auto& kv) { return core::iequals(kv.first, u); });
    for (const auto& [k, v] : m->env.set) {
      std::erase_if(vars, [&](const auto& kv) { return core::iequals(kv.first, k); });
      vars.emplace_back(k, v);
    }
  }
  for (const auto& [k, v] : vars) {
    if (!req.env.has(k)) req.env.set(k, v);
  }
  request_headers(req, secs, false);
  // A Host that RequestHeader changed is the one ProxyPreserveHost passes on.
  if (!req.meta.values.empty()) {
    if (std::string_view host = req.head.find("Host"); !host.empty()) req.head.authority = host;
  }
}

void end_request_metadata(Request& req) {
  req.env.clear();
  req.meta.reset();
}

bool keep_alive_allowed(Request& req) {
  if (req.env.empty()) return true;
  bool ok = !req.env.has("nokeepalive");
  if (req.env.has("downgrade-1.0") && req.head.version_minor > 0) {
    req.head.version_minor = 0;
    req.head.keep_alive = http::has_token(req.head.find("Connection"), "keep-alive");
    ok = ok && req.head.keep_alive;
  }
  return ok;
}

}  // namespace pillar::server::metadata

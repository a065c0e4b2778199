// A script's local redirect, run as the request's phases again (local_redirect.h).
#include "server/request/local_redirect.h"

#include "core/assert.h"
#include "core/log.h"
#include "server/request/phases.h"
#include "server/request/request.h"
#include "server/request/rewrite_phase.h"
#include "server/site.h"

namespace pillar::server {

namespace {

PhaseStep follow_local_redirect(RequestCarrier& c) {
  Request& req = c.request();
  PILLAR_ASSERT(!req.redirect_pending.empty() && req.redirect_pending[0] == '/');
  if (++req.local_redirects > kMaxInternalRedirects) {
    core::log(core::LogLevel::Error, "core",
              "[client {}] request exceeded the limit of {} internal redirects (LimitInternalRecursion): the script's "
              "local redirect to {} was not followed; is it redirecting to itself?",
              req.client_ip, kMaxInternalRedirects, req.redirect_pending);
    c.respond_error(500, "too many local redirects");
    return PhaseStep::Handled;
  }
  // As Apache's internal redirect: the first run's variables are the second's
  // with REDIRECT_ in front, and the first URL is REDIRECT_URL (the path only).
  http::RequestEnv renamed;
  for (const auto& [name, value] : req.env.entries()) renamed.set("REDIRECT_" + name, value);
  req.env = std::move(renamed);
  req.env.set("REDIRECT_URL", req.head.path);
  if (!req.head.query.empty()) req.env.set("REDIRECT_QUERY_STRING", req.head.query);
  req.env.set("REDIRECT_STATUS", "200");
  // What the client sent as a body was the first script's; the second is a GET (or HEAD).
  if (req.head.chunked || req.head.content_length > 0) c.close_after();  // a rest we did not read
  req.redirect_target = std::move(req.redirect_pending);
  req.redirect_pending.clear();
  std::string_view target = req.redirect_target;
  size_t q = target.find('?');
  req.head.target = target;  // REQUEST_URI of the second request, as Apache's
  req.head.path = target.substr(0, q);
  req.head.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (req.head.method != http::Method::Head) {  // a HEAD stays one: its answer has no body
    req.head.method = http::Method::Get;
    req.head.method_name = "GET";
  }
  req.head.has_content_length = false;
  req.head.content_length = 0;
  req.head.chunked = false;
  req.head.expect_continue = false;
  req.body_left = 0;
  req.body_chunked = false;
  req.body_text.clear();
  req.resume_at = 0;  // every phase, from routing
  return PhaseStep::Next;
}

}  // namespace

void ask_local_redirect(Request& req, std::string_view location) {
  PILLAR_ASSERT(!location.empty() && location[0] == '/');
  core::log(core::LogLevel::Debug, "cgi", "[client {}] local redirect of {} to {}", req.client_ip, req.path, location);
  req.redirect_pending.assign(location);
  req.resume = follow_local_redirect;
}

}  // namespace pillar::server

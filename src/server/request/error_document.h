// ErrorDocument: the answer for an error status a handler asked the error
// page for (`use_error_page`): a local document served by an internal GET
// with the status kept, a redirect, a text, or the built-in page.
#pragma once
#include "http/handler.h"
#include "server/request/request.h"

namespace pillar::server {

struct Site;

// `ctx` null: no internal redirect (the request was not routed, or the
// answer is the connection's own).
void apply_error_document(Request& req, const Site* site, const http::RequestContext* ctx);

// The carriers' own error answer (an exchange failed before any head, a
// request refused before its handler): the error page for `status` in
// req.resp with the request's Site's ErrorDocument, not yet written.
inline void set_error_answer(Request& req, int status) {
  req.resp.error(status);
  apply_error_document(req, req.site, nullptr);
}

}  // namespace pillar::server

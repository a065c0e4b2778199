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

}  // namespace pillar::server

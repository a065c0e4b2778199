#include "server/error_page.h"

#include <string>

namespace pillar::server {

namespace {

std::string_view explanation(int status) {
  switch (status) {
    case 301:
    case 302: return "The document has moved.";
    case 400: return "The server could not understand this request.";
    case 403: return "You do not have permission to access this resource.";
    case 404: return "The requested URL does not exist on this server.";
    case 405: return "This method is not allowed for the requested URL.";
    case 408: return "The server timed out waiting for the request.";
    case 411: return "A request of this kind needs a Content-Length.";
    case 412: return "A precondition of the request failed.";
    case 413: return "The request body is larger than this server accepts.";
    case 414: return "The requested URL is longer than this server accepts.";
    case 416: return "None of the requested ranges can be satisfied.";
    case 417: return "The expectation given in the Expect header cannot be met.";
    case 431: return "The request's header fields are too large.";
    case 500: return "The server met an internal error.";
    case 501: return "The server does not implement this method.";
    case 503: return "The service is temporarily unavailable.";
    case 505: return "This HTTP version is not supported.";
    default: return "The request could not be completed.";
  }
}

}  // namespace

void render_error_page(int status, http::Response& resp, std::string_view signature) {
  std::string body;
  body.reserve(256);
  std::string code = std::to_string(status);
  std::string_view reason = http::reason_phrase(status);
  body.append("<!DOCTYPE html>\n<html><head><title>").append(code).append(" ").append(reason);
  body.append("</title></head>\n<body>\n<h1>").append(reason).append("</h1>\n<p>");
  body.append(explanation(status));
  body.append("</p>\n").append(signature).append("</body></html>\n");
  resp.add_text(body);
}

}  // namespace pillar::server

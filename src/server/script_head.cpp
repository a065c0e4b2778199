#include "server/script_head.h"

#include "core/text.h"
#include "fastcgi/cgi_response.h"
#include "server/request/local_redirect.h"
#include "server/request/request.h"

namespace pillar::server {

ScriptHead write_script_head(http::ExchangeHost& host, Request& req, std::string& head_buf, size_t head_max,
                             bool request_done, std::string_view date, ScriptHeadOut& out) {
  fastcgi::CgiHead head;
  size_t consumed = 0;
  auto p = fastcgi::parse_cgi_head(head_buf, head_max, head, consumed, out.why);
  if (p == fastcgi::CgiParse::Incomplete) return ScriptHead::Incomplete;
  if (p == fastcgi::CgiParse::Error) return ScriptHead::Malformed;
  if (head.local_redirect) {
    // Nothing of this answer goes out: the request runs again for the
    // path once the script is done.
    ask_local_redirect(req, head.location());
    head_buf.clear();
    head_buf.shrink_to_fit();
    return ScriptHead::Redirect;
  }
  const bool head_req = req.head.method == http::Method::Head;
  const bool no_body = head.status == 204 || head.status == 304;
  out.status = head.status;
  auto& sink = host.sink();
  std::string& o = sink.begin_head(head.status, head.reason);
  bool has_date = false;
  for (const auto& [name, value] : head.fields) {
    if (core::iequals(name, "Content-Length")) {
      if (head_req) o.append("Content-Length: ").append(value).append("\r\n");  // HEAD: the length GET would have
      continue;
    }
    has_date = has_date || core::iequals(name, "Date");
    o.append(name).append(": ").append(value).append("\r\n");
  }
  if (!has_date) o.append("Date: ").append(date).append("\r\n");
  // A request body still arriving is discarded after the response when it
  // is a small Content-Length rest; one of unknown or large size closes.
  auto& body = host.body();
  if (!request_done && (body.chunked() || body.left() > http::RequestBody::kDiscardMax)) host.close_after();
  out.known_length = head.has_content_length && !head_req && !no_body;
  out.body_left = out.known_length ? head.content_length : 0;
  sink.end_head(head_req || no_body ? http::BodyLength::None
                : out.known_length  ? http::BodyLength::Known
                                    : http::BodyLength::Unknown,
                out.body_left);
  out.discard_body = head_req || no_body;
  out.rest = head_buf.substr(consumed);
  head_buf.clear();
  head_buf.shrink_to_fit();
  return ScriptHead::Sent;
}

}  // namespace pillar::server

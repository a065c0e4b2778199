// mod_headers' and mod_expires' response filter: it holds the head the
// exchange writes (static, proxied, cached, FastCGI, the server's error
// pages alike), and at end_head parses its fields, applies ExpiresByType/
// ExpiresDefault, then the Header lines of the request's sections, and
// passes the edited head on. The body goes through untouched.
//
// Which of Apache's two tables a field is in (header_edit.h) follows who
// made the response, as in Apache:
//   the server's own 2xx/304 (a static file, a listing): onsuccess;
//   the server's own error or redirect (ap_die's path): neither, and only
//     `Header always` lines run (they add, they cannot touch what is there);
//   a member's answer (proxy, cache), any status: onsuccess;
//   a FastCGI application's: always, except Location, ETag, Last-Modified,
//     Content-Length, Content-Range, Transfer-Encoding (onsuccess), so
//     `Header unset X-Powered-By` needs `always` there, as with Apache.
// Content-Type is in both, Date (and the server's own Server) in neither.
// Expires is added to answers below 400 only.
#pragma once
#include <string>

#include "http/sink_filter.h"
#include "server/request/request.h"

namespace pillar::server::metadata {

class HeadersFilter final : public http::SinkFilter {
 public:
  explicit HeadersFilter(Request& req) : req_(req) {}
  std::string& begin_head(int status, std::string_view reason = {}) override;
  void end_head(http::BodyLength body, uint64_t length) override;

 private:
  Request& req_;
  int status_ = 0;
  std::string reason_;
  std::string lines_;  // the exchange's fields, "Name: value\r\n"...
};

// Pushes a HeadersFilter when the request's sections have Header or
// Expires* lines, or it must be answered as HTTP/1.0 (force-response-1.0).
void maybe_push_headers_filter(Request& req);

}  // namespace pillar::server::metadata

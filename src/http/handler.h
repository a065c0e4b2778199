// The content-handler interface. One handler object is built per <Location>
// (or vhost) at config load, holding its configuration, so nothing is looked
// up by name at request time. Handlers never see the socket.
#pragma once
#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "http/response.h"

namespace pillar::http {

struct RequestContext {
  const RequestHead& head;
  std::string_view path;        // percent-decoded, dot-segments removed, starts with '/'
  std::string_view host;        // lower-cased host from authority/Host, without port
  const sockaddr_storage& client;
  std::string_view client_ip;   // textual form of client
  uint16_t local_port = 0;
  std::string_view body;        // the request body, for handlers with a body_limit()
  std::string_view filename;    // the file Alias or mod_rewrite mapped the URL to; empty: DocumentRoot + path
  std::string_view forced_type; // RewriteRule [T=type]: the Content-Type of the file served; empty: by extension
  std::string_view signature;   // ServerSignature's address line for a page the handler draws (a listing); empty: Off
  const std::string* user = nullptr;              // the authenticated user (Basic), for Require user/valid-user
  const std::vector<std::string>* groups = nullptr;  // its groups, for Require group
  std::string_view self_url;    // "http[s]://host[:port]" as the client named it, for absolute Locations; empty: none
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(const RequestContext& ctx, Response& resp) = 0;
  // Bytes of request body the handler reads (a form POST); the connection
  // reads that much before handle() (more is 413). 0: it reads none, and a
  // body is discarded after the response.
  virtual size_t body_limit() const { return 0; }
};

}  // namespace pillar::http

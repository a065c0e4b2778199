// mod_setenvif's matching, as Apache's match_headers(): each rule reads its
// attribute (a special name, a request header, else a variable set
// earlier: an earlier rule, or an outer scope's), tests its regex and sets
// or unsets its variables, values taking $0..$9 from the match when the
// pattern is a regex. A header that is absent reads as "" (so "^$"
// matches it); repeated fields are joined with ", " as Apache joins them
// when it reads the head; a regex attribute reads the last field whose name
// matches. Pure logic over a SetEnvIfSubject: no sockets, no config walk.
#pragma once
#include <span>
#include <string_view>

#include "config/metadata.h"
#include "http/request.h"
#include "http/request_env.h"

namespace pillar::server::metadata {

// The request as SetEnvIf sees it.
struct SetEnvIfSubject {
  std::string_view remote_addr;  // Remote_Addr and Remote_Host
  std::string_view server_addr;
  std::string_view method;
  std::string_view protocol;     // "HTTP/1.1"
  std::string_view uri;          // Request_URI: encoded when the head is read, decoded once mapped (as Apache's r->uri)
  std::span<const http::HeaderField> headers;
};

void run_setenvif(std::span<const config::SetEnvIfRule> rules, const SetEnvIfSubject& s, http::RequestEnv& env);

}  // namespace pillar::server::metadata

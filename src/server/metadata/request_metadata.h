// The request-side steps of the metadata modules, in Apache's hook order:
//   begin_request_metadata  when the head is read (post-read-request):
//       `RequestHeader ... early`, then the server's SetEnvIf/BrowserMatch
//       (the main server's lines, then the vhost's);
//   fixup_request_metadata  once the request is mapped (header-parser and
//       fixups): the per-directory SetEnvIf lines, SetEnv/PassEnv (which
//       never replace a variable already set, as Apache's table overlay),
//       then RequestHeader, before the proxy or the application sees the head;
//   end_request_metadata    after the access-log line.
// And Pillar's reading of the special variables: nokeepalive and
// downgrade-1.0 (keep_alive_allowed), force-response-1.0 (headers_filter).
// The per-directory SetEnvIf lines run after mod_rewrite's per-directory
// rules here (Apache runs them just before), so those rules do not see them.
#pragma once
#include <cstdint>
#include <string>

#include "server/request/request.h"

namespace pillar::core {
class Transport;
namespace shm {
struct ScoreboardHeader;
}
}  // namespace pillar::core

namespace pillar::server::metadata {

// What the connection knows that the request does not.
struct ConnectionFacts {
  uint16_t local_port = 0;
  const sockaddr_storage* local = nullptr;  // Server_Addr (formatted once per connection)
  const core::Transport* transport = nullptr;
  const core::shm::ScoreboardHeader* board = nullptr;
};

void begin_request_metadata(Request& req, const ConnectionFacts& c);
void fixup_request_metadata(Request& req);
void end_request_metadata(Request& req);

// False when the environment says this connection must close after the
// answer: nokeepalive, or downgrade-1.0 (the request is then treated as
// HTTP/1.0: its head's version is lowered, and only "Connection:
// keep-alive" keeps the connection).
bool keep_alive_allowed(Request& req);

}  // namespace pillar::server::metadata

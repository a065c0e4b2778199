// One request, apart from the connection that carries it. The connection
// (HTTP/1.1 now, an HTTP/2 session next) owns the socket, the read buffer,
// keep-alive and timeouts; the request owns what one exchange needs: the
// parsed head, its route, the client it is for, the response of a
// synchronous handler and its accounting for the logs.
//
// Lifetime: from the end of the head to the access-log line. The head's
// views point into the connection's read buffer, which is not compacted
// while a request is in progress.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>

#include "http/chunked_decoder.h"
#include "http/request_env.h"
#include "http/request.h"
#include "http/response.h"
#include "server/request/metadata_state.h"
#include "server/request/response_filters.h"
#include "server/request/rewrite_state.h"

namespace pillar::server {

struct Site;
struct LocationRoute;
class RequestCarrier;
enum class PhaseStep : uint8_t;

// What an internal request (one the server makes itself, such as a
// background cache refresh) starts with, for the phase that made it to
// find; it releases what it holds when nobody took it.
struct RequestSeed {
  virtual ~RequestSeed() = default;
};

struct Request {
  http::RequestHead head;
  size_t head_len = 0;           // bytes of the head in the read buffer (0: refused before parsing)
  std::string_view request_line; // as received (%r, THE_REQUEST, server-status), whatever a local redirect did to the head
  std::string path;              // percent-decoded, dot-segments removed
  std::string host;              // lower-cased, without port or trailing dot
  const Site* site = nullptr;    // the vhost that answers (and logs)
  const LocationRoute* route = nullptr;
  int path_error = 0;            // the status for a target that did not normalize (0: it did)
  bool access_ok = true;         // the location's Require lets the client in
  std::string remote_user;       // REMOTE_USER (%u): the user Basic authentication verified (request/authorization.cpp)
  std::vector<std::string> user_groups;  // its groups (AuthGroupFile), for Require group
  sockaddr_storage client{};     // after RemoteIP (the connection's peer otherwise)
  std::string client_ip;
  bool https = false;            // over TLS (HTTPS=on): the scheme is https
  http::Response resp;           // filled by a synchronous handler
  RewriteState rewrite;          // URL mapping: filename, internal redirects (request/rewrite_phase.cpp)
  http::RequestEnv env;          // the request's environment variables (SetEnvIf, SetEnv, E=, BALANCER_*)
  MetadataState meta;            // mod_headers, mod_setenvif, mod_expires per request (server/metadata)
  ResponseFilters filters;       // between the exchange and the carrier's sink (request/response_filters.h)

  // A request body nobody reads is discarded after the response.
  uint64_t body_left = 0;        // Content-Length bytes still to drop
  bool body_chunked = false;
  http::ChunkedDecoder chunked;
  std::string body_text;         // the body, read whole for a handler with a body_limit()

  // For the logs and server-status.
  uint64_t start_ms = 0, start_us = 0;  // monotonic
  time_t wall = 0;
  uint64_t bytes_in = 0;
  uint64_t body_bytes = 0;       // response body bytes (%B)
  uint64_t out_mark = 0;         // the connection's output position (written + queued) when this request began

  std::unique_ptr<RequestSeed> seed;  // an internal request's (released at its end)

  // A script's local redirect (request/local_redirect.h): the Location the
  // exchange saw, then the storage the head's path and query view.
  std::string redirect_pending;
  std::string redirect_target;
  uint8_t local_redirects = 0;   // so far for this request (bounded as LimitInternalRecursion)

  // A suspended phase's continuation (request/phases.h, PhaseStep::Suspended)
  // and the step the table goes on with after it.
  std::function<PhaseStep(RequestCarrier&)> resume;
  uint8_t resume_at = 0;

  // After the head is parsed: `len` bytes, the request line first.
  void set_head_length(size_t len) {
    head_len = len;
    std::string_view all(head.method_name.data(), len);
    request_line = all.substr(0, all.find('\r'));
  }
};

}  // namespace pillar::server

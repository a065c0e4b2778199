// Strict HTTP/1.1 request-head parser (RFC 9110/9112), zero-copy: it fills a
// RequestHead with views into the caller's buffer and allocates nothing per
// header. The caller keeps the bytes alive until the request completes.
//
// Call it with everything received so far; while the head is incomplete it
// returns Incomplete (and already enforces the size limits, so an endless
// request line or header block is refused before it is complete).
#pragma once
#include <cstddef>
#include <string_view>

#include "http/request.h"

namespace pillar::http {

struct ParseLimits {
  size_t request_line = 8190;   // LimitRequestLine  -> 414 when exceeded
  size_t field_count = 100;     // LimitRequestFields -> 431
  size_t field_size = 8190;     // LimitRequestFieldSize -> 431
};

struct ParseOutcome {
  enum Kind : uint8_t { Complete, Incomplete, Error } kind = Incomplete;
  size_t consumed = 0;       // Complete: bytes of the head including the final CRLF CRLF
  int status = 0;            // Error: the status to answer (400, 414, 431, 501, 505)
  const char* reason = "";   // Error: short text for the error log
};

ParseOutcome parse_request_head(std::string_view buf, const ParseLimits& limits, RequestHead& out);

}  // namespace pillar::http

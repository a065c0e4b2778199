// Strict HTTP/1.x response-head parser for the reverse proxy's upstream side
// (RFC 9110/9112). Zero-copy like parse_request_head(): it fills a
// ResponseHead with views into the caller's buffer and allocates nothing per
// header (the headers vector's capacity is reused). The caller keeps the
// bytes alive while it uses the head.
//
// Call it with everything received from the upstream so far; while the head
// is incomplete it returns Incomplete, but it already enforces the size
// limits and checks the fixed part of the status line, so an endless line or
// a non-HTTP peer is refused before the head ends. Every error carries status
// 502: the proxy answers its client 502 Bad Gateway and closes the upstream
// connection.
//
// Interim (1xx) responses: a 100/102/103 head is returned as Complete with
// Framing::None; `consumed` says where the next response starts, and the
// caller parses again from there until it gets a final (>= 200) response or a
// 101. The parser keeps no state between calls.
//
// Decisions (where the RFC leaves a choice):
//  * Line endings are CRLF only. RFC 9112 §2.2 lets a recipient accept a bare
//    LF, but a proxy that frames differently from the next hop is how response
//    splitting and desync start, so bare LF and bare CR are errors. So are
//    empty lines before the status line (nginx refuses them too).
//  * Status line: "HTTP/1.0" or "HTTP/1.1" (case-sensitive), SP, three digits
//    in 100..599, then SP reason-phrase. The reason may be empty, and the
//    "SP reason" part may be missing entirely ("HTTP/1.1 200\r\n"): RFC 9112
//    §4 requires the SP but real servers omit it, and the reason carries no
//    meaning. Codes outside 100..599 are invalid (RFC 9110 §15).
//  * Header fields follow the request parser: token names, no whitespace
//    before the colon, no obs-fold (RFC 9112 §5.2 lets a proxy either replace
//    it or answer 502; we answer 502), no control characters in values,
//    leading/trailing OWS trimmed from values.
//  * Content-Length is always validated, even where it does not frame a body
//    (HEAD, 204, 304): 1*DIGIT, or a list of identical values ("5, 5");
//    differing values or anything else is an error.
//  * Transfer-Encoding in an HTTP/1.0 response is an error (RFC 9112 §6.1:
//    the framing is faulty). Applying chunked twice, parameters on chunked, or
//    an empty/invalid coding list are errors.
//  * 101 Switching Protocols must be HTTP/1.1 and carry Connection: upgrade
//    and a non-empty Upgrade field, else it is an error (the caller would
//    otherwise wait for a final response that never comes). It sets
//    upgrade=true and keep_alive=false: the connection is no longer HTTP.
//  * A 2xx answer to CONNECT is not recognised here (the proxy does not send
//    CONNECT upstream); the caller would have to treat it as a tunnel itself.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/request.h"         // HeaderField, iequals, has_token
#include "http/request_parser.h"  // ParseOutcome

namespace pillar::http {

struct ResponseLimits {
  size_t status_line = 8190;  // bytes of the status line, without CRLF
  size_t field_count = 100;   // header fields in one head
  size_t field_size = 8190;   // bytes of one field line, without CRLF
};

// Filled by parse_response_head(); all views point into the parsed buffer.
struct ResponseHead {
  // How the body that follows the head is delimited (RFC 9112 §6.3).
  enum class Framing : uint8_t {
    ContentLength,  // exactly content_length bytes (possibly 0)
    Chunked,        // chunked transfer coding, last coding: feed ChunkedDecoder
    UntilClose,     // read until the upstream closes; keep_alive is false
    None,           // no body: 1xx, 204, 304, or an answer to HEAD
  };

  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  int status = 0;                    // 100..599
  std::string_view reason;           // reason-phrase as received, may be empty
  std::vector<HeaderField> headers;  // in order received; capacity reused

  Framing framing = Framing::None;
  uint64_t content_length = 0;  // body bytes when framing == ContentLength, else 0
  bool keep_alive = true;       // may the upstream connection be reused after this response?
  bool upgrade = false;         // 101 with Connection: upgrade and an Upgrade field

  // An interim response the caller skips (1xx other than 101).
  bool interim() const { return status >= 100 && status < 200 && status != 101; }

  // First header with this name (ASCII case-insensitive), or empty view.
  std::string_view find(std::string_view name) const;
  bool has(std::string_view name) const;
  void reset();
};

// Parses one response head from the start of `buf`. `request_was_head` tells
// whether the request this answers was HEAD (then no body follows, whatever
// the framing headers say). On Complete, `consumed` is the size of the head
// including the final CRLF CRLF; the body (or the next response, after a 1xx)
// starts there. On Error, `status` is 502 and `reason` says why; `out` is then
// partially filled and must not be used.
ParseOutcome parse_response_head(std::string_view buf, const ResponseLimits& limits, bool request_was_head,
                                 ResponseHead& out);

}  // namespace pillar::http

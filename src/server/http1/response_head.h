// The HTTP/1.1 response head's frame, written the same way for every
// response (static, built-in, proxied, from the cache): the status line, and
// after the caller's fields the framing fields, Connection and the blank
// line. The body's framing is decided here, once, from what the caller knows
// of its length and what the client speaks.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "http/exchange.h"

namespace pillar::server::http1 {

// Decimal digits of v, for field values.
void append_number(std::string& out, uint64_t v);

// "HTTP/1.1 404 Not Found\r\n"; the standard reason when `reason` is empty.
void begin_head(std::string& out, int status, std::string_view reason = {});

using http::BodyLength;

struct HeadEnd {
  bool chunked = false;     // the body must go out chunked
  bool keep_alive = false;  // the connection stays open after this response
};

// `keep_alive`: whether the connection may stay open as far as the request
// and the server's state go; an Unknown length to an HTTP/1.0 client clears it.
HeadEnd end_head(std::string& out, BodyLength body, uint64_t length, int client_minor, bool keep_alive);

}  // namespace pillar::server::http1

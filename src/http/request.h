// The request as the engine sees it: the parsed head (views into the
// connection's read buffer, valid until the request completes) plus what the
// server derived from it. Kept apart from the connection so handlers never
// touch sockets.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"

namespace pillar::http {

enum class Method : uint8_t { Get, Head, Post, Put, Delete, Options, Trace, Connect, Patch, Purge, Other };

struct HeaderField {
  std::string_view name;
  std::string_view value;  // leading/trailing OWS already trimmed
};

// Filled by parse_request_head(); all views point into the parsed buffer.
struct RequestHead {
  Method method = Method::Other;
  std::string_view method_name;
  std::string_view target;     // request-target exactly as received
  std::string_view path;       // raw (percent-encoded) path of the target; "*" for OPTIONS *
  std::string_view query;      // after '?', without it; empty when none
  std::string_view authority;  // host[:port]: absolute-form authority, else the Host header
  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  std::vector<HeaderField> headers;  // capacity reused across requests

  // Message framing and connection semantics, decided by the parser.
  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool keep_alive = true;       // HTTP/1.1 default on, 1.0 needs "keep-alive"; "close" wins
  bool expect_continue = false; // Expect: 100-continue on HTTP/1.1
  bool upgrade = false;         // Connection: upgrade + Upgrade header present

  // First header with this name (ASCII case-insensitive), or empty view.
  std::string_view find(std::string_view name) const;
  bool has(std::string_view name) const;
  void reset();
};

// ASCII case-insensitive equality, the comparison HTTP field names use
// (core/text.h; named here too, as the HTTP code has always called it).
using core::iequals;

// Does a comma-separated header value contain this token (case-insensitive)?
bool has_token(std::string_view list, std::string_view token);

std::string_view method_name(Method m);

}  // namespace pillar::http

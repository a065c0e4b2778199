// Which header fields go where: the one set of rules the proxy (both
// directions), the cache (what is stored, what a refresh or a sub-request
// carries) and the built-in answers share, so a field never crosses a hop in
// one path and stops in another.
#pragma once
#include <string_view>

#include "http/request.h"  // HeaderField, iequals, has_token

namespace pillar::http {

// Hop-by-hop fields (RFC 9110 §7.6.1, with the legacy Keep-Alive and
// Proxy-Connection) and Proxy-Authorization/-Authenticate, which belong to
// the hop to a proxy (§11.7): never forwarded, never stored.
bool hop_by_hop(std::string_view name);

// The message framing a hop sets itself (RFC 9112 §6): Content-Length,
// Transfer-Encoding, Trailer; and Expect, which the proxy answers itself.
bool framing_field(std::string_view name);

// Either of the two: what a proxy never forwards as it came.
bool hop_or_framing(std::string_view name);

// Conditional request fields (RFC 9110 §13.1) and Range (§14.2): a request
// the server makes on its own (a cache fill, a background refresh, an
// ErrorDocument sub-request) asks for the whole representation without them.
bool conditional_or_range(std::string_view name);

// Fields a 304 carries from the response a 200 would have been (RFC 9110
// §15.4.5): those that matter to caches.
inline constexpr std::string_view kNotModifiedFields[] = {"Cache-Control", "Content-Location", "Date", "ETag",
                                                          "Expires",       "Vary",             "Last-Modified"};

// Is `name` one of the tokens of a Connection field of `fields`? Those are
// hop-by-hop too (RFC 9110 §7.6.1).
template <typename Fields>
bool named_by_connection(const Fields& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (f.name.size() == 10 && iequals(f.name, "Connection") && has_token(f.value, name)) return true;
  }
  return false;
}

}  // namespace pillar::http

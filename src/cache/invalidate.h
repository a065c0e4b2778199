// Invalidation after unsafe requests (RFC 9111 §4.4): which cache keys a
// response to a POST, PUT, DELETE, PATCH or unknown method removes. Pure: the
// caller purges the keys (Store::purge) once the response head is in.
//
//  * Unsafe: every method but GET, HEAD, OPTIONS and TRACE (RFC 9110 §9.2.1;
//    a method whose safety is unknown counts as unsafe). CONNECT names no
//    stored URI and invalidates nothing.
//  * Only after a non-error response, 2xx or 3xx; anything else (4xx, 5xx, a
//    1xx, no response at all) invalidates nothing.
//  * The target URI always (§4.4 MUST). Location and Content-Location too
//    (§4.4 MAY), resolved against the target URI as references (RFC 3986
//    §5.2: "/x", "x", "../x", "?q", "//host/x", absolute URIs; the fragment
//    dropped), but only when their origin (RFC 9110 §4.3.1: scheme, host and
//    port, compared case-insensitively, an absent port being the scheme's
//    default) is the target URI's (§4.4 MUST NOT otherwise).
//  * Keys are primary_key(host, path[?query]) as the request path builds
//    them: host lower-cased without port and trailing dot, IPv6 literals in
//    brackets; the target URI's path as received, a resolved reference's
//    path after dot-segment removal. Each key at most once.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"
#include "http/response_parser.h"

namespace pillar::cache {

// Does a non-error response to this method invalidate (§4.4)?
bool unsafe_method(http::Method m);

// `scheme`: "http" or "https", as the client reached Pillar (the target URI's
// scheme). `req.authority` and `req.path`/`req.query` give the rest of it.
std::vector<std::string> invalidation_keys(const http::RequestHead& req, std::string_view scheme,
                                           const http::ResponseHead& resp);

}  // namespace pillar::cache

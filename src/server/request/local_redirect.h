// A CGI or FastCGI script's local redirect (CGI/1.1, RFC 3875 6.2.2): a
// response head that is only `Location: /path` (no Status:) asks the
// server to answer the request as if the client had asked for /path. As
// Apache's mod_cgi and mod_proxy_fcgi do, the script's body is discarded
// and the request runs through every phase again as a GET (a HEAD stays
// one) without a body
// (routing, access, limits, the handler of the new path), with
// REDIRECT_URL, REDIRECT_QUERY_STRING and REDIRECT_STATUS=200 in its
// environment; nothing of the first answer reaches the client.
//
// The exchange calls ask_local_redirect when it sees such a head and ends
// with Outcome::Kind::Resume once the script is done; the carrier then
// resumes the phases (request/phases.h), and follow_local_redirect runs
// them again from the first step. At most kMaxInternalRedirects per
// request (a script redirecting to itself gets 500, as Apache's
// LimitInternalRecursion).
#pragma once
#include <string_view>

namespace pillar::server {

struct Request;

void ask_local_redirect(Request& req, std::string_view location);

}  // namespace pillar::server

// ServerSignature (core): the address line Apache's ap_psignature() puts
// at the foot of the server's own pages (error pages, directory listings)
// and into SERVER_SIGNATURE for scripts:
//   On     <address>BANNER Server at NAME Port PORT</address>
//   EMail  ... Server at <a href="mailto:ADMIN">NAME</a> Port PORT ...
//   Off    nothing (Apache's default)
// BANNER is ServerTokens' product string (the Server field's), NAME and
// PORT those of the Host the client asked for (UseCanonicalName Off), else
// the vhost's ServerName and the port the request came to. The innermost
// section that sets ServerSignature decides.
#pragma once
#include <string>
#include <string_view>

#include "server/request/request.h"

namespace pillar::server::metadata {

// "" when the request's ServerSignature is Off; else `prefix` and the line.
// The sections collected for the request decide (the vhost's alone when
// none were collected yet: an answer before the request was mapped).
std::string server_signature(const Request& req, std::string_view prefix);

}  // namespace pillar::server::metadata

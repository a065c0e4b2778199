// Which response filters a request gets (response_filters.h). Each filter
// module contributes one line here, asking its own code whether the request
// wants it; none is consulted for a request its route does not configure.
#include "server/request/response_filters.h"

#include "server/request/compression.h"
#include "server/request/request.h"

namespace pillar::server {

void install_response_filters(Request& req) {
  req.filters.clear();
  // Filter modules add themselves here (mod_headers, mod_deflate), innermost first.
  maybe_push_deflate_filter(req);  // mod_deflate (request/compression.cpp)
}

}  // namespace pillar::server

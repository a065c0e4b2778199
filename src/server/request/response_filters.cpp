// Which response filters a request gets (response_filters.h). Each filter
// module contributes one line here, asking its own code whether the request
// wants it; none is consulted for a request its route does not configure.
#include "server/request/response_filters.h"

#include "server/request/request.h"

namespace pillar::server {

void install_response_filters(Request& req) {
  req.filters.clear();
  // Filter modules add themselves here (mod_headers, mod_deflate), innermost first.
}

}  // namespace pillar::server

// Which response filters a request gets (response_filters.h). Each filter
// module contributes one line here, asking its own code whether the request
// wants it; none is consulted for a request its route does not configure.
#include "server/request/response_filters.h"

#include "server/metadata/headers_filter.h"
#include "server/request/bandwidth_filter.h"
#include "server/request/compression.h"
#include "server/request/output_filter_sections.h"
#include "server/request/phases.h"
#include "server/site.h"
#include "server/worker_loop.h"
#include "server/request/request.h"

namespace pillar::server {

void install_response_filters(Request& req, RequestCarrier* carrier) {
  req.filters.clear();
  req.filters.mark_installed();
  // Filter modules add themselves here (mod_headers, mod_deflate), innermost first.
  if (req.site && req.site->cfg->output_filters_anywhere) {
    // The sections that cover the request, merged once for both modules.
    OutputFilterSections sections = output_filter_sections(req);
    if (carrier) maybe_push_bandwidth_filter(req, sections, *carrier, carrier->worker().loop());  // mod_ratelimit: the bytes on the wire
    maybe_push_deflate_filter(req, sections);  // mod_deflate, mod_brotli (request/compression.cpp)
  }
  metadata::maybe_push_headers_filter(req);  // mod_headers, mod_expires: they see the compressed head
}

}  // namespace pillar::server

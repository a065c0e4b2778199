// The metadata modules' two steps of the phase table (request/phases.cpp):
// after routing, when Apache runs its post-read-request hooks (the
// server's SetEnvIf, RequestHeader early), and once the request is mapped
// and let in, before the response filters and the exchange (per-directory
// SetEnvIf, SetEnv, RequestHeader). The work is in
// server/metadata/request_metadata.cpp; here the carrier hands over what
// only it knows and applies nokeepalive and downgrade-1.0.
#include "server/metadata/request_metadata.h"
#include "server/request/phases.h"
#include "server/worker_loop.h"

namespace pillar::server {

PhaseStep phase_metadata_early(RequestCarrier& c) {
  Request& req = c.request();
  metadata::begin_request_metadata(req, {c.local_port(), &c.local_address(), &c.transport(), &c.worker().board_header()});
  if (!metadata::keep_alive_allowed(req)) c.close_after();
  return PhaseStep::Next;
}

PhaseStep phase_metadata_fixups(RequestCarrier& c) {
  Request& req = c.request();
  metadata::fixup_request_metadata(req);
  if (!metadata::keep_alive_allowed(req)) c.close_after();
  return PhaseStep::Next;
}

}  // namespace pillar::server

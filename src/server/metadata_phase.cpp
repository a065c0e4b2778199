// The metadata modules' two steps of the phase table
// (Connection::kRequestPhases): after routing, when Apache runs its
// post-read-request hooks (the server's SetEnvIf, RequestHeader early), and
// once the request is mapped and let in, before the response filters and
// the exchange (per-directory SetEnvIf, SetEnv, RequestHeader). The work is
// in server/metadata/request_metadata.cpp; here the connection hands over
// what only it knows and applies nokeepalive and downgrade-1.0.
#include "server/connection.h"
#include "server/metadata/request_metadata.h"
#include "server/worker_loop.h"

namespace pillar::server {

Connection::PhaseStep Connection::phase_metadata_early() {
  metadata::begin_request_metadata(req_, {local_port_, &local_, transport_.get(), &w_.board_header()});
  if (!metadata::keep_alive_allowed(req_)) keep_alive_ = false;
  return PhaseStep::Next;
}

Connection::PhaseStep Connection::phase_metadata_fixups() {
  metadata::fixup_request_metadata(req_);
  if (!metadata::keep_alive_allowed(req_)) keep_alive_ = false;
  return PhaseStep::Next;
}

}  // namespace pillar::server

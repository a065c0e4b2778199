// The rate-limit step of the limits phase (PillarRateLimit, docs/limits.md):
// each zone the request's vhost and <Location> apply counts one request
// for its key in the node-wide table (core/shm/rate_table.h); the first
// zone over its burst answers 429 Too Many Requests with Retry-After.
#pragma once
#include "server/request/phases.h"

namespace pillar::server {

PhaseStep limit_request_rate(RequestCarrier& c);

// PillarMaxConnectionsPerClient: a connection over its client's limit has
// every request refused, 503, and closes. PillarShedLoad: while the node
// is over its bound, a request whose location or vhost says
// `PillarPriority low` is refused, 503 with Retry-After. Both counted in
// the scoreboard (server-status, /metrics).
PhaseStep limit_overload(RequestCarrier& c);

}  // namespace pillar::server

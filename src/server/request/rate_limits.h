// The rate-limit step of the limits phase (PillarRateLimit, docs/limits.md):
// each zone the request's vhost and <Location> apply counts one request
// for its key in the node-wide table (core/shm/rate_table.h); the first
// zone over its burst answers 429 Too Many Requests with Retry-After.
#pragma once
#include "server/request/phases.h"

namespace pillar::server {

PhaseStep limit_request_rate(RequestCarrier& c);

}  // namespace pillar::server

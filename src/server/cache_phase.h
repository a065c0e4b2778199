// The cache phase of a proxied location (CacheEnable): a GET or HEAD is
// looked up in the node's store before the proxy runs.
//
//   fresh hit ............................. CacheDelivery streams the object
//   being fetched by anyone (any worker) .. wait on it, then stream it as it grows
//   stale within grace and being refreshed  serve the stale copy
//   miss / stale .......................... this request fetches: the proxy
//                                           exchange tees the body into a Busy
//                                           object (CacheFill) others wait on
//   hit-for-pass, Authorization, Range miss  plain proxy, nothing stored
//   conditional request, nothing stored ... plain proxy with its conditionals
//                                           (the origin's 304 is the client's)
//   other methods ......................... plain proxy; an unsafe one
//                                           invalidates after the origin's
//                                           head (ProxyExchange, RFC 9111 §4.4)
//
// Waiters in every worker are woken by a datagram to their loop's socket
// (CacheNotifier) whenever the fetcher stores more, so coalesced clients get
// the body as it arrives, not at the end.
#pragma once
#include <cstdint>

#include "cache/policy.h"
#include "cache/store.h"
#include "config/model.h"
#include "server/cache_delivery.h"
#include "server/cache_fill.h"
#include "server/cache_notifier.h"

namespace pillar::server {

// A location's Cache* directives as the policy takes them.
cache::Settings cache_settings(const config::CacheConfig& c);
// Wall clock in milliseconds: objects are dated to the millisecond.
// Ages run from the moment the object was stored, to the millisecond: an
// object stored late in a second is not a second old at the next one.
cache::Freshness freshness_of(const cache::ObjectMeta& m, int64_t now_ms);
int64_t current_age(const cache::ObjectMeta& m, int64_t now_ms);

}  // namespace pillar::server

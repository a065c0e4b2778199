// The fetcher's side of the cache phase (see cache_exchange.h).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "cache/store.h"
#include "config/model.h"
#include "http/request.h"
#include "http/response_parser.h"

namespace pillar::server {

class WorkerLoop;

// The fetcher's side: decides from the response head whether to store, then
// appends the body as the proxy exchange relays it.
struct CacheFill {
  WorkerLoop* w = nullptr;
  cache::Store* store = nullptr;
  const config::CacheConfig* cfg = nullptr;
  const http::RequestHead* req = nullptr;
  cache::Handle busy;         // the object being filled (pinned by the connection)
  cache::Handle stale;        // a stale copy being revalidated (pinned by the connection), or none
  std::string validators;     // If-None-Match / If-Modified-Since lines for the member
  uint16_t vhost = 0;
  int64_t request_ms = 0;      // when the request went to the member (wall clock)
  bool storing = false;
  bool revalidated = false;   // the member said 304: `busy` holds the refreshed copy
  bool stale_on_error = false;  // a stale copy within stale-if-error answers an origin 5xx
  bool ended = false;
  uint64_t body = 0;

  // `lines`: the header lines the client is sent ("Name: value\r\n"...,
  // hop-by-hop and framing fields already gone). Returns whether the
  // exchange should add "X-Cache: MISS".
  void on_head(const http::ResponseHead& resp, std::string_view lines);
  void on_not_modified(const http::ResponseHead& resp);
  void on_body(std::string_view data);
  void end(bool complete);
  void wake();
};

}  // namespace pillar::server

// `pillarctl cache ...`: the cache store's gauges, `purge URL` (one key, as
// an HTTP PURGE of that URL would) and bans (host, vhost, prefix, regex,
// url), answered by the master from its handle on the node's store. The
// master never waits on the store's lock for long: a busy store is an error
// to retry, not a stall.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cache/store.h"
#include "config/model.h"
#include "server/control/control_commands.h"

namespace pillar::server {

struct CacheCommandSource {
  cache::Store* store = nullptr;                              // not ready(): no CacheEnable
  std::function<const config::ServerConfig&()> config;        // the running one (ban vhost)
};

void add_cache_commands(ControlCommands& table, CacheCommandSource source);

// The cache key parts of a purge URL ("http://Example.COM.:8080/p?q"):
// the host as a request's Host is keyed (http/authority.h) and the target.
// Throws std::runtime_error for a URL without a valid host.
void purge_url_parts(const std::string& url, std::string& host, std::string& target);

}  // namespace pillar::server

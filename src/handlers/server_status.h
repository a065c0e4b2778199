// mod_status on the shared scoreboard: the HTML page (ExtendedStatus adds
// the per-slot table), `?auto` in Apache's machine-readable format (so
// monitoring plugins, exporters and munin read it unchanged), `?refresh=N`,
// and the Prometheus exposition of the same counters (SetHandler metrics).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "config/model.h"
#include "core/shm/client_conn_table.h"
#include "core/shm/rate_table.h"
#include "core/shm/scoreboard.h"
#include "core/shm/vhost_stats.h"
#include "core/shm/vrrp_status.h"
#include "http/handler.h"

namespace pillar::handlers {

// The cache store's gauges, read through the server (handlers and cache are
// sibling layers).
struct CacheGauges {
  uint64_t objects = 0, bytes_used = 0, bytes_total = 0, evictions = 0;
  uint64_t lock_timeouts = 0;  // requests passed because the store's lock was held too long
};

// What built-in handlers may read besides their configuration.
struct BuiltinContext {
  const core::shm::Scoreboard* board = nullptr;  // null outside a master (unit tests)
  const core::shm::VhostStats* vhost_stats = nullptr;
  const core::shm::VrrpStatusTable* vrrp = nullptr;
  core::shm::RateTable* rate_table = nullptr;           // PillarRateLimit's buckets; null: limits not counted
  core::shm::ClientConnTable* client_conns = nullptr;   // PillarMaxConnectionsPerClient's counts; null: not counted
  std::function<CacheGauges()> cache;                  // empty: no cache
  std::function<uint64_t(uint32_t vhost)> cache_evictions;
};

// A snapshot of the scoreboard, summed the way both formats need it.
struct StatusTotals {
  uint64_t accesses = 0, bytes = 0, connections = 0;
  uint64_t sendfile_bytes = 0;  // of `bytes`, those sent by sendfile(2)
  uint64_t cpu_user_ticks = 0, cpu_system_ticks = 0;
  uint64_t log_lines_dropped = 0, log_write_errors = 0;  // access and error logs (full disk...)
  uint32_t busy = 0, idle = 0, processes = 0, stopping = 0;
  uint32_t by_state[128] = {};  // slot count per mod_status key character
  std::string grid;             // the Scoreboard: line
};
StatusTotals collect_status(const core::shm::Scoreboard& board, uint32_t server_limit);

class ServerStatusHandler final : public http::Handler {
 public:
  ServerStatusHandler(const config::ServerConfig& cfg, BuiltinContext ctx) : cfg_(cfg), ctx_(ctx) {}
  void handle(const http::RequestContext& ctx, http::Response& resp) override;

 private:
  void render_auto(const StatusTotals& t, std::string_view host, std::string& out) const;
  void render_html(const StatusTotals& t, std::string& out, int refresh) const;
  const config::ServerConfig& cfg_;
  BuiltinContext ctx_;
};

class MetricsHandler final : public http::Handler {
 public:
  MetricsHandler(const config::ServerConfig& cfg, BuiltinContext ctx) : cfg_(cfg), ctx_(ctx) {}
  void handle(const http::RequestContext& ctx, http::Response& resp) override;

 private:
  const config::ServerConfig& cfg_;
  BuiltinContext ctx_;
};

}  // namespace pillar::handlers

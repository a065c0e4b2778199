#include "server/request/rate_limits.h"

#include <string>

#include "core/clock.h"
#include "core/log.h"
#include "server/request/error_document.h"
#include "server/request/request.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

// The key a zone counts this request under; empty: the zone does not
// count it (a header zone and a request without that field, as nginx's
// empty key).
std::string_view zone_key(const config::RateLimitZone& z, const Request& req) {
  switch (z.key) {
    case config::RateLimitZone::Key::Client: return req.client_ip;
    case config::RateLimitZone::Key::Vhost:  // the main server has no ServerName of its own
      return req.site->cfg->server_name.empty() ? std::string_view("(main)") : std::string_view(req.site->cfg->server_name);
    case config::RateLimitZone::Key::Header: return req.head.find(z.header);
  }
  return {};
}

config::Priority priority_of(const Request& req) {
  if (req.route && req.route->cfg->priority) return *req.route->cfg->priority;
  return req.site->cfg->priority;
}

// Over PillarShedLoad's bound, from what the scoreboard says now.
bool overloaded(const config::ShedLoad& shed, const core::shm::ScoreboardHeader& hdr) {
  if (shed.load_milli && hdr.load_milli.load(std::memory_order_relaxed) >= shed.load_milli) return true;
  const uint64_t max = hdr.max_conns.load(std::memory_order_relaxed);
  return shed.busy_percent && max &&
         uint64_t{hdr.conns_in_use.load(std::memory_order_relaxed)} * 100 >= max * shed.busy_percent;
}

}  // namespace

PhaseStep limit_overload(RequestCarrier& c) {
  Request& req = c.request();
  WorkerLoop& w = c.worker();
  const config::ServerConfig& cfg = w.runtime().config();
  if (c.over_client_limit()) {
    w.node_counters().client_limit_refusals.fetch_add(1, std::memory_order_relaxed);
    core::log(core::LogLevel::Info, "core",
              "[client {}] the client holds more than {} connections (PillarMaxConnectionsPerClient): 503, closed",
              req.client_ip, cfg.max_conns_per_client);
    c.respond_error(503, "over PillarMaxConnectionsPerClient");
    return PhaseStep::Handled;
  }
  if (!cfg.shed.on() || !req.site || priority_of(req) != config::Priority::Low ||
      !overloaded(cfg.shed, w.board_header()))
    return PhaseStep::Next;
  w.node_counters().shed_requests.fetch_add(1, std::memory_order_relaxed);
  // At info: a line per refusal at a higher level would flood the log under the very load being shed.
  core::log(core::LogLevel::Info, "core", "[client {}] node overloaded (PillarShedLoad): low-priority {} refused, 503",
            req.client_ip, req.path);
  close_if_body_unread(c);
  set_error_answer(req, 503);
  req.resp.add_header("Retry-After", std::to_string(cfg.shed.retry_after_s));
  c.respond();
  return PhaseStep::Handled;
}

PhaseStep limit_request_rate(RequestCarrier& c) {
  Request& req = c.request();
  if (!req.site) return PhaseStep::Next;
  const std::vector<config::RateLimitUse>* lists[] = {&req.site->cfg->rate_limits,
                                                      req.route ? &req.route->cfg->rate_limits : nullptr};
  if (lists[0]->empty() && (!lists[1] || lists[1]->empty())) return PhaseStep::Next;
  const Runtime& rt = c.worker().runtime();
  core::shm::RateTable* table = rt.builtin().rate_table;
  if (!table) return PhaseStep::Next;  // no master (a unit test's Runtime)
  const uint64_t now = static_cast<uint64_t>(core::wall_ms());
  for (const auto* uses : lists) {
    if (!uses) continue;
    for (const auto& u : *uses) {
      const config::RateLimitZone& z = rt.config().rate_zones.at(static_cast<size_t>(u.zone_index));
      std::string_view key = zone_key(z, req);
      if (key.empty()) continue;
      const core::shm::RateDecision d = table->take(core::shm::RateTable::hash_key(z.name, key), z.rate_milli, u.burst, now);
      if (d.allowed) continue;
      // At info, as nginx's limit_req_log_level default would flood the log under the very load it limits.
      core::log(core::LogLevel::Info, "ratelimit", "[client {}] limiting requests, excess {}.{:03} by zone \"{}\", key \"{}\"",
                req.client_ip, d.excess / 1000, d.excess % 1000, z.name, key);
      close_if_body_unread(c);
      set_error_answer(req, 429);
      req.resp.add_header("Retry-After", std::to_string(d.retry_after_s));
      c.respond();
      return PhaseStep::Handled;
    }
  }
  return PhaseStep::Next;
}

}  // namespace pillar::server

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

}  // namespace

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

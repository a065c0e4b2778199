#include "server/request/rate_limits.h"

#include <algorithm>
#include <string>

#include "core/clock.h"
#include "core/log.h"
#include "core/timer_wheel.h"
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
    case config::RateLimitZone::Key::Vhost: return req.site->log_name();
    case config::RateLimitZone::Key::Header: return req.head.find(z.header);
  }
  return {};
}

// A request PillarRateLimit holds back to its zone's rate (nginx's delay):
// the exchange waits on the loop's timers, then ends with Resume and the
// phases go on after the limits step. Nothing of the request is read or
// sent meanwhile; a client that leaves aborts it.
class RateDelayExchange final : public http::Exchange, public core::TimerNode {
 public:
  RateDelayExchange(http::ExchangeHost& host, core::EventLoop& loop, uint64_t until_ms)
      : host_(host), loop_(loop), until_ms_(until_ms) {
    loop_.timers().arm(*this, until_ms_);
  }
  ~RateDelayExchange() override { core::TimerWheel::cancel(*this); }
  Step proceed() override { return loop_.now_ms() >= until_ms_ ? Step::Done : Step::Again; }
  Outcome outcome() const override { return {Outcome::Kind::Resume, 0, 0, true}; }
  bool abort(bool) override {
    core::TimerWheel::cancel(*this);
    return false;
  }
  void on_timer() override {
    if (loop_.now_ms() < until_ms_) return loop_.timers().arm(*this, until_ms_);
    host_.wake();
  }

 private:
  http::ExchangeHost& host_;
  core::EventLoop& loop_;
  uint64_t until_ms_;
};

// How long a request with `excess` (thousandths) over a zone of
// `rate_milli` waits: nothing for the first `delay` requests of the burst,
// then the time the excess past them takes to drain (nginx's arithmetic).
uint64_t delay_ms(uint64_t excess, uint64_t rate_milli, uint32_t delay) {
  const uint64_t free = uint64_t{delay} * 1000;
  if (excess <= free) return 0;
  return ((excess - free) * 1000 + rate_milli - 1) / rate_milli;
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
  WorkerLoop& w = c.worker();
  const Runtime& rt = w.runtime();
  core::shm::RateTable* table = rt.builtin().rate_table;
  if (!table) return PhaseStep::Next;  // no master (a unit test's Runtime)
  const uint64_t now = static_cast<uint64_t>(core::wall_ms());
  uint64_t wait_ms = 0;  // the longest delay any zone asks for (nginx)
  const config::RateLimitZone* waited_for = nullptr;
  uint64_t waited_excess = 0;
  for (const auto* uses : lists) {
    if (!uses) continue;
    for (const auto& u : *uses) {
      const config::RateLimitZone& z = rt.config().rate_zones.at(static_cast<size_t>(u.zone_index));
      std::string_view key = zone_key(z, req);
      if (key.empty()) continue;
      const core::shm::RateDecision d = table->take(core::shm::RateTable::hash_key(z.name, key), z.rate_milli, u.burst, now);
      if (d.allowed) {
        if (uint64_t ms = delay_ms(d.excess, z.rate_milli, u.delay); ms > wait_ms) {
          wait_ms = ms;
          waited_for = &z;
          waited_excess = d.excess;
        }
        continue;
      }
      // At info, as nginx's limit_req_log_level default would flood the log under the very load it limits.
      core::log(core::LogLevel::Info, "ratelimit", "[client {}] limiting requests, excess {}.{:03} by zone \"{}\", key \"{}\"",
                req.client_ip, d.excess / 1000, d.excess % 1000, z.name, key);
      w.node_counters().rate_limited.fetch_add(1, std::memory_order_relaxed);
      close_if_body_unread(c);
      set_error_answer(req, 429);
      req.resp.add_header("Retry-After", std::to_string(d.retry_after_s));
      c.respond();
      return PhaseStep::Handled;
    }
  }
  if (wait_ms == 0) return PhaseStep::Next;
  // Held back to the rate: logged one level below a refusal, as nginx does.
  core::log(core::LogLevel::Debug, "ratelimit", "[client {}] delaying request {} ms, excess {}.{:03} by zone \"{}\"",
            req.client_ip, wait_ms, waited_excess / 1000, waited_excess % 1000, waited_for->name);
  w.node_counters().rate_delayed.fetch_add(1, std::memory_order_relaxed);
  // Answers queued ahead of this request (pipelined) leave before it waits.
  if (!c.flush_ahead()) return PhaseStep::Handled;
  core::EventLoop& loop = w.loop();
  req.resume = [](RequestCarrier&) { return PhaseStep::Next; };  // the steps after this one
  c.run_exchange(std::make_unique<RateDelayExchange>(c, loop, loop.now_ms() + wait_ms));
  return PhaseStep::Suspended;
}

}  // namespace pillar::server

#include "server/process/health_polling.h"

#include <algorithm>

#include "core/assert.h"
#include "core/clock.h"
#include "server/site.h"
#include "tls/client_context.h"
#include "tls/tls_transport.h"

namespace pillar::server {

std::vector<proxy::HealthTarget> health_targets(const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& balancers,
                                                const Runtime* rt) {
  std::vector<proxy::HealthTarget> targets;
  for (const auto& b : balancers) {
    auto span = b->span();
    for (size_t i = 0; i < span.size(); ++i) {
      if (b->cfg_index[i] < 0) continue;  // left the configuration
      const auto& mc = b->member_cfg(static_cast<int>(i));
      if (mc.hc_method.empty()) continue;
      proxy::HealthTarget t;
      t.member = &span[i];
      t.name = mc.url;
      t.addr = mc.addr;
      t.addr_len = mc.addr_len;
      t.method = mc.hc_method;
      t.host = mc.host;
      t.uri = mc.hc_uri;
      t.interval_ms = static_cast<uint64_t>(mc.hc_interval.count());
      t.timeout_ms = static_cast<uint64_t>(mc.hc_timeout.count());
      t.passes = mc.hc_passes;
      t.fails = mc.hc_fails;
      t.expect = mc.hc_expect;
      t.body = mc.hc_body;
      if (mc.https && rt) {
        const tls::ClientContext* ctx = rt->member_tls(*b);
        PILLAR_ASSERT(ctx != nullptr);  // the load refuses https members without SSLProxyEngine
        t.tls = [ctx, name = mc.tls_name](core::Fd fd) -> std::unique_ptr<core::Transport> {
          return std::make_unique<tls::TlsTransport>(std::move(fd), *ctx, name);
        };
      }
      targets.push_back(std::move(t));
    }
  }
  return targets;
}

void HealthPolling::refresh(const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& balancers, const Runtime* rt) {
  checker_.set_targets(health_targets(balancers, rt), core::mono_ms());
}

int64_t HealthPolling::wait_ms(int64_t cap) const {
  uint64_t deadline = checker_.deadline();
  if (deadline == UINT64_MAX) return cap;
  int64_t left = static_cast<int64_t>(deadline) - static_cast<int64_t>(core::mono_ms());
  return std::min<int64_t>(cap, std::max<int64_t>(left, 0));
}

void HealthPolling::step(const std::vector<pollfd>& ready) {
  if (checker_.size() > 0) checker_.step(core::mono_ms(), ready);
}

}  // namespace pillar::server

#include "server/metadata/request_format.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>

#include "core/clock.h"
#include "core/shm/scoreboard.h"
#include "core/transport.h"
#include "server/tls_front.h"

namespace pillar::server::metadata {

uint64_t RequestFormatSource::request_time_us() const {
  if (req_.meta.start_wall_us) return req_.meta.start_wall_us;
  return static_cast<uint64_t>(req_.wall) * 1000000u;  // answered before the head was timed (a parse error)
}

uint64_t RequestFormatSource::duration_us() const {
  uint64_t now = core::mono_us();
  return now > req_.start_us ? now - req_.start_us : 0;
}

std::string RequestFormatSource::load() const {
  double avg[3] = {0, 0, 0};
  if (getloadavg(avg, 3) != 3) avg[0] = avg[1] = avg[2] = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f/%.2f/%.2f", avg[0], avg[1], avg[2]);
  return buf;
}

int RequestFormatSource::busy_percent() const {
  const core::shm::ScoreboardHeader* b = req_.meta.board;
  if (!b) return 0;
  uint32_t max = b->max_conns.load(std::memory_order_relaxed);
  uint32_t used = b->conns_in_use.load(std::memory_order_relaxed);
  if (max == 0) return 0;
  return static_cast<int>(std::min<uint64_t>(100, uint64_t{used} * 100 / max));
}

std::string RequestFormatSource::ssl_var(std::string_view name) const {
  const core::Transport* t = req_.meta.transport;
  if (!t || !t->secure()) return {};
  return server::ssl_var(*t, name);
}

}  // namespace pillar::server::metadata

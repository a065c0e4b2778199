#include "server/process/spares.h"

#include <algorithm>
#include "core/assert.h"

namespace pillar::server {

SparePlan plan_spares(const SpareInputs& in) {
  SparePlan plan;
  const uint32_t live = static_cast<uint32_t>(in.workers.size());
  uint64_t idle = 0;
  int least_busy = -1;
  for (size_t i = 0; i < in.workers.size(); ++i) {
    const auto& w = in.workers[i];
    idle += in.threads_per_child > w.active ? in.threads_per_child - w.active : 0;
    if (w.running && (least_busy < 0 || w.active < in.workers[static_cast<size_t>(least_busy)].active))
      least_busy = static_cast<int>(i);
  }
  const uint64_t room = in.max_request_workers > in.conns_in_use ? in.max_request_workers - in.conns_in_use : 0;
  idle = std::min(idle, room);
  const uint32_t cap = in.max_workers;
  uint32_t want = 0;
  if (live < in.start_servers) want = in.start_servers - live;
  if (in.owed > want) want = in.owed;
  const bool short_of_spares = idle < in.min_spare_threads && live < cap && room > idle;
  if (want == 0 && short_of_spares) want = in.spawn_rate;
  plan.spawn_rate = short_of_spares ? std::min(in.spawn_rate * 2, kMaxSpawnPerTick) : 1;
  if (live + want > cap && live < cap) want = cap - live;
  else if (live >= cap && in.owed == 0) want = 0;  // a crashed worker is replaced even at the cap
  want = std::min(want, kMaxSpawnPerTick);
  plan.start = want;
  plan.owed = in.owed > want ? in.owed - want : 0;
  plan.idle = idle;
  if (want == 0 && idle > in.max_spare_threads && live > in.start_servers && least_busy >= 0)
    plan.retire = least_busy;
  PILLAR_ASSERT(plan.start <= kMaxSpawnPerTick && plan.spawn_rate >= 1);
  return plan;
}

RoomPlan plan_make_room(std::span<const RowHolder> children, uint32_t rows, uint32_t want, uint32_t generation) {
  RoomPlan plan;
  const uint32_t used = static_cast<uint32_t>(children.size());
  uint32_t free_rows = rows > used ? rows - used : 0;
  std::vector<bool> hurried(children.size());
  for (size_t i = 0; i < children.size(); ++i) hurried[i] = children[i].hurried;
  while (free_rows < want) {
    uint32_t oldest = UINT32_MAX;
    for (size_t i = 0; i < children.size(); ++i) {
      const auto& c = children[i];
      if (c.retiring && !hurried[i] && c.generation != generation) oldest = std::min(oldest, c.generation);
    }
    if (oldest == UINT32_MAX) break;  // nothing left to hurry: the rows come back as workers exit
    for (size_t i = 0; i < children.size(); ++i) {
      const auto& c = children[i];
      if (c.generation != oldest || !c.retiring || hurried[i]) continue;
      hurried[i] = true;
      plan.hurry.push_back(i);
      ++free_rows;
    }
    plan.generations.push_back(oldest);
  }
  return plan;
}

}  // namespace pillar::server

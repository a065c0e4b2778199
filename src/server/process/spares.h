// How many workers to start or retire, as pure functions of what the master
// sees, so the rules are unit-tested without forking (the master applies
// the plan: supervisor.cpp).
//
// plan_spares, once per maintenance tick, over the serving generation:
//   - never fewer than StartServers workers; crashed workers ("owed") are
//     replaced at once, even at the ServerLimit/MaxRequestWorkers cap;
//   - fewer idle slots than MinSpareThreads: start 1, 2, 4 ... (at most
//     kMaxSpawnPerTick) per tick while the shortage lasts, as Apache does;
//   - more idle than MaxSpareThreads (never below StartServers): retire the
//     least busy running worker, one per tick.
//   Idle slots are free slots of serving workers, bounded by what
//   MaxRequestWorkers leaves node-wide.
//
// plan_make_room, at a reload: a new generation needs StartServers rows of
// the scoreboard; when fewer are free, whole draining generations, oldest
// first, are hurried (told to close their idle connections now) until
// enough rows are on their way back.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace pillar::server {

constexpr uint32_t kMaxSpawnPerTick = 8;

struct ServingWorker {
  uint32_t active = 0;   // connection slots in use (its scoreboard row)
  bool running = false;  // past its start: may be retired
};

struct SpareInputs {
  std::span<const ServingWorker> workers;  // this generation's, not retiring
  uint32_t threads_per_child = 0;
  uint32_t max_request_workers = 0;
  uint32_t start_servers = 0;
  uint32_t min_spare_threads = 0;
  uint32_t max_spare_threads = 0;
  uint32_t max_workers = 0;   // config::max_workers: ServerLimit and MaxRequestWorkers
  uint32_t conns_in_use = 0;  // node-wide, from the scoreboard header
  uint32_t owed = 0;          // crashed workers not yet replaced
  uint32_t spawn_rate = 1;    // this tick's rate while short of spares
};

struct SparePlan {
  uint32_t start = 0;       // workers to fork now
  uint32_t owed = 0;        // still owed after those
  uint32_t spawn_rate = 1;  // the next tick's
  int retire = -1;          // index into `workers` to retire gracefully, or -1
  uint64_t idle = 0;        // idle slots counted (for the log)
};

SparePlan plan_spares(const SpareInputs& in);

struct RowHolder {
  uint32_t generation = 0;
  bool retiring = false;  // told to stop
  bool hurried = false;   // already told to close its idle connections
};

struct RoomPlan {
  std::vector<size_t> hurry;             // indices into `children`
  std::vector<uint32_t> generations;     // the generations hurried, oldest first
};

// `rows`: the scoreboard's; every child holds one.
RoomPlan plan_make_room(std::span<const RowHolder> children, uint32_t rows, uint32_t want, uint32_t generation);

}  // namespace pillar::server

// Per-virtual-host request counters in shared memory, for the metrics
// handler: requests by status class, bytes and a latency histogram. One
// stripe per scoreboard row, so workers never write the same cache lines;
// readers sum the stripes. Virtual hosts are identified by name, so their
// counters survive graceful reloads that reorder or add vhosts.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pillar::core::shm {

class SharedMemory;

// Upper bounds of the latency buckets, in microseconds (the last is +Inf).
inline constexpr uint64_t kLatencyBucketsUs[] = {1000,   5000,   10000,   25000,   50000,   100000,
                                                 250000, 500000, 1000000, 2500000, 5000000, 10000000};
inline constexpr size_t kLatencyBuckets = sizeof kLatencyBucketsUs / sizeof kLatencyBucketsUs[0] + 1;

struct alignas(64) VhostCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> status_class[6]{};  // [1]..[5] = 1xx..5xx, [0] other
  std::atomic<uint64_t> latency[kLatencyBuckets]{};  // not cumulative; the handler sums
  std::atomic<uint64_t> latency_sum_us{0};
  // The cache phase (evictions are counted by the store, per vhost).
  std::atomic<uint64_t> cache_hits{0};
  std::atomic<uint64_t> cache_misses{0};       // this request fetched for the cache
  std::atomic<uint64_t> cache_passes{0};       // went to the origin without the cache
  std::atomic<uint64_t> cache_coalesced{0};    // waited for another request's fetch
  std::atomic<uint64_t> cache_grace_hits{0};   // served stale (grace or stale-if-error)

  void record(int status, uint64_t bytes_sent, uint64_t duration_us) {
    requests.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(bytes_sent, std::memory_order_relaxed);
    int cls = status / 100;
    status_class[cls >= 1 && cls <= 5 ? cls : 0].fetch_add(1, std::memory_order_relaxed);
    size_t b = 0;
    while (b < kLatencyBuckets - 1 && duration_us > kLatencyBucketsUs[b]) ++b;
    latency[b].fetch_add(1, std::memory_order_relaxed);
    latency_sum_us.fetch_add(duration_us, std::memory_order_relaxed);
  }
};

// Sized at start from the configuration (as the scoreboard): room for twice
// the vhosts the first configuration names, at least kMinVhosts, so reloads
// can add vhosts. The pages of unused entries are never touched.
class VhostStats {
 public:
  static constexpr uint32_t kMinVhosts = 512;
  static constexpr size_t kNameSize = 64;

  static uint32_t capacity_for(size_t configured_vhosts);
  static size_t bytes_needed(uint32_t rows, uint32_t capacity);
  bool create(SharedMemory& mem, uint32_t rows, uint32_t capacity = kMinVhosts);
  // Master only: the id of `name`, adding it when new; 0 (the shared
  // "(other)" entry) when the table is full.
  uint32_t id_for(std::string_view name) const;
  uint32_t capacity() const { return capacity_; }
  uint32_t count() const { return count_->load(std::memory_order_acquire); }
  std::string_view name(uint32_t id) const;
  VhostCounters& at(uint32_t row, uint32_t id) const { return counters_[static_cast<size_t>(row) * capacity_ + id]; }
  uint32_t rows() const { return rows_; }
  // Master: a row's stripe is zeroed when a new worker takes the row, after
  // its totals were folded into the retired stripe (row index `rows()`).
  void retire_row(uint32_t row) const;

 private:
  std::atomic<uint32_t>* count_ = nullptr;
  char (*names_)[kNameSize] = nullptr;
  VhostCounters* counters_ = nullptr;  // (rows + 1) stripes: the last holds exited workers' totals
  uint32_t rows_ = 0;
  uint32_t capacity_ = 0;
  mutable std::unordered_map<std::string, uint32_t> ids_;  // the master's index of names_ (workers never add)
};

}  // namespace pillar::core::shm

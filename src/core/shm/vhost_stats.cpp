#include "core/shm/vhost_stats.h"

#include <cstring>
#include <new>

#include "core/shm/shared_memory.h"

namespace pillar::core::shm {

bool VhostStats::create(SharedMemory& mem, uint32_t rows) {
  void* c = mem.allocate(sizeof(std::atomic<uint32_t>));
  void* n = mem.allocate(kMaxVhosts * kNameSize);
  void* s = mem.allocate(sizeof(VhostCounters) * kMaxVhosts * (rows + 1));
  if (!c || !n || !s) return false;
  count_ = new (c) std::atomic<uint32_t>(0);
  names_ = static_cast<char (*)[kNameSize]>(n);
  counters_ = static_cast<VhostCounters*>(s);
  for (size_t i = 0; i < static_cast<size_t>(kMaxVhosts) * (rows + 1); ++i) new (&counters_[i]) VhostCounters();
  rows_ = rows;
  id_for("(other)");  // id 0 collects what no name fits
  return true;
}

uint32_t VhostStats::id_for(std::string_view name) const {
  if (name.size() >= kNameSize) name = name.substr(0, kNameSize - 1);
  uint32_t n = count();
  for (uint32_t i = 0; i < n; ++i) {
    if (name == names_[i]) return i;
  }
  if (n >= kMaxVhosts) return 0;
  std::memcpy(names_[n], name.data(), name.size());
  names_[n][name.size()] = '\0';
  count_->store(n + 1, std::memory_order_release);
  return n;
}

std::string_view VhostStats::name(uint32_t id) const { return id < count() ? std::string_view(names_[id]) : ""; }

void VhostStats::retire_row(uint32_t row) const {
  for (uint32_t id = 0; id < kMaxVhosts; ++id) {
    VhostCounters& from = at(row, id);
    VhostCounters& to = at(rows_, id);
    auto move = [](std::atomic<uint64_t>& a, std::atomic<uint64_t>& b) { b.fetch_add(a.exchange(0)); };
    move(from.requests, to.requests);
    move(from.bytes, to.bytes);
    for (size_t i = 0; i < 6; ++i) move(from.status_class[i], to.status_class[i]);
    for (size_t i = 0; i < kLatencyBuckets; ++i) move(from.latency[i], to.latency[i]);
    move(from.latency_sum_us, to.latency_sum_us);
    move(from.cache_hits, to.cache_hits);
    move(from.cache_misses, to.cache_misses);
    move(from.cache_passes, to.cache_passes);
    move(from.cache_coalesced, to.cache_coalesced);
    move(from.cache_grace_hits, to.cache_grace_hits);
  }
}

}  // namespace pillar::core::shm

#include "core/shm/vhost_stats.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <new>

#include "core/shm/shared_memory.h"

namespace pillar::core::shm {

uint32_t VhostStats::capacity_for(size_t configured_vhosts) {
  size_t want = configured_vhosts * 2 + 2;  // + "(other)" and "(main)"
  return static_cast<uint32_t>(std::clamp<size_t>(want, kMinVhosts, 1u << 20));
}

size_t VhostStats::bytes_needed(uint32_t rows, uint32_t capacity) {
  return 3 * 64 + sizeof(std::atomic<uint32_t>) + size_t{capacity} * kNameSize +
         sizeof(VhostCounters) * capacity * (rows + 1);
}

bool VhostStats::create(SharedMemory& mem, uint32_t rows, uint32_t capacity) {
  void* c = mem.allocate(sizeof(std::atomic<uint32_t>));
  void* n = mem.allocate(size_t{capacity} * kNameSize);
  void* s = mem.allocate(sizeof(VhostCounters) * capacity * (rows + 1));
  if (!c || !n || !s) return false;
  count_ = new (c) std::atomic<uint32_t>(0);
  names_ = static_cast<char (*)[kNameSize]>(n);
  // The counters are left as the kernel's zero pages, which is what a zeroed
  // lock-free atomic is, so a table sized for 10 000 vhosts costs memory only
  // for the entries in use.
  static_assert(std::is_trivially_destructible_v<VhostCounters> && std::atomic<uint64_t>::is_always_lock_free);
  counters_ = static_cast<VhostCounters*>(s);
  rows_ = rows;
  capacity_ = capacity;
  ids_.clear();
  id_for("(other)");  // id 0 collects what no name fits
  return true;
}

uint32_t VhostStats::id_for(std::string_view name) const {
  if (name.size() >= kNameSize) name = name.substr(0, kNameSize - 1);
  if (auto it = ids_.find(std::string(name)); it != ids_.end()) return it->second;
  uint32_t n = count();
  if (n >= capacity_) return 0;
  std::memcpy(names_[n], name.data(), name.size());
  names_[n][name.size()] = '\0';
  ids_.emplace(std::string(name), n);
  count_->store(n + 1, std::memory_order_release);
  return n;
}

std::string_view VhostStats::name(uint32_t id) const { return id < count() ? std::string_view(names_[id]) : ""; }

void VhostStats::retire_row(uint32_t row) const {
  for (uint32_t id = 0, n = count(); id < n; ++id) {  // entries never used are still zero
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

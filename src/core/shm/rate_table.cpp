#include "core/shm/rate_table.h"

#include <algorithm>
#include <new>

#include "core/assert.h"
#include "core/shm/shared_memory.h"

namespace pillar::core::shm {

namespace {

constexpr uint64_t kTimeMask = (uint64_t{1} << RateTable::kTimeBits) - 1;
constexpr uint64_t kExcessMax = (uint64_t{1} << RateTable::kExcessBits) - 1;

uint64_t pack(uint64_t excess, uint64_t t) { return (std::min(excess, kExcessMax) << RateTable::kTimeBits) | (t & kTimeMask); }
uint64_t excess_of(uint64_t s) { return s >> RateTable::kTimeBits; }
uint64_t time_of(uint64_t s) { return s & kTimeMask; }

}  // namespace

bool RateTable::create(SharedMemory& mem, size_t buckets, uint64_t epoch_ms) {
  void* p = mem.allocate(bytes_needed(buckets));
  if (!p) return false;
  auto* b = static_cast<RateBucket*>(p);
  for (size_t i = 0; i < buckets; ++i) new (&b[i]) RateBucket();
  attach(b, buckets, epoch_ms);
  return true;
}

void RateTable::attach(RateBucket* buckets, size_t n, uint64_t epoch_ms) {
  PILLAR_ASSERT(n >= kProbe);
  b_ = buckets;
  n_ = n;
  epoch_ms_ = epoch_ms;
}

uint64_t RateTable::hash_key(std::string_view zone, std::string_view key) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across processes and builds
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  };
  mix(zone);
  h = (h ^ 0xff) * 1099511628211ull;  // a separator no name or key byte sequence can fake
  mix(key);
  return h ? h : 1;
}

RateDecision RateTable::take(uint64_t key, uint64_t rate_milli, uint32_t burst, uint64_t now_ms) {
  PILLAR_ASSERT(b_ && key != 0 && rate_milli > 0);
  const uint64_t now = now_ms > epoch_ms_ ? now_ms - epoch_ms_ : 0;
  // The key's bucket in its window: its own, else an empty one claimed,
  // else the one let through longest ago taken over.
  const size_t start = static_cast<size_t>(key % n_);
  RateBucket* bucket = nullptr;
  RateBucket* oldest = nullptr;
  uint64_t oldest_t = UINT64_MAX;
  for (size_t i = 0; i < kProbe && !bucket; ++i) {
    RateBucket& b = b_[(start + i) % n_];
    uint64_t k = b.key.load(std::memory_order_acquire);
    if (k == 0) {
      if (b.key.compare_exchange_strong(k, key, std::memory_order_acq_rel)) {
        b.state.store(pack(0, now), std::memory_order_release);
        return {true, 0, 0};  // a key's first request: let through, nothing owed (nginx)
      }
      // Another process claimed it just now: for this key too?
    }
    if (k == key) {
      bucket = &b;
      break;
    }
    const uint64_t t = time_of(b.state.load(std::memory_order_relaxed));
    if (t < oldest_t) {
      oldest_t = t;
      oldest = &b;
    }
  }
  if (!bucket) {
    PILLAR_ASSERT(oldest);
    uint64_t k = oldest->key.load(std::memory_order_acquire);
    if (oldest->key.compare_exchange_strong(k, key, std::memory_order_acq_rel)) {
      oldest->state.store(pack(0, now), std::memory_order_release);
      return {true, 0, 0};
    }
    bucket = oldest;  // lost the race: count with the winner for this request (approximate, never stuck)
  }

  const uint64_t limit = uint64_t{burst} * 1000;
  for (int attempt = 0; attempt < 64; ++attempt) {
    uint64_t s = bucket->state.load(std::memory_order_acquire);
    const uint64_t last = time_of(s);
    const uint64_t elapsed = now > last ? now - last : 0;
    const uint64_t drained = elapsed >= UINT64_MAX / rate_milli ? UINT64_MAX : rate_milli * elapsed / 1000;
    // What was owed plus this request, drained by the time since (nginx:
    // a request a full interval after the last one owes nothing).
    const uint64_t owed = excess_of(s) + 1000;
    const uint64_t excess = owed > drained ? owed - drained : 0;
    if (excess > limit) {
      // Refused: the bucket stays as it was (nginx). One more request fits
      // once the excess has drained to the burst.
      const uint64_t over = excess - limit;
      const uint64_t wait_ms = (over * 1000 + rate_milli - 1) / rate_milli;
      return {false, static_cast<uint32_t>(std::max<uint64_t>(1, (wait_ms + 999) / 1000)), excess};
    }
    if (bucket->state.compare_exchange_weak(s, pack(excess, std::max(now, last)), std::memory_order_acq_rel))
      return {true, 0, excess};
  }
  return {true, 0, 0};  // contended past all reason: let it through rather than spin
}

}  // namespace pillar::core::shm

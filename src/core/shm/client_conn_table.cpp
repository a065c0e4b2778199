#include "core/shm/client_conn_table.h"

#include <new>

#include "core/assert.h"
#include "core/shm/shared_memory.h"

namespace pillar::core::shm {

namespace {

// A bucket: tag << kCountBits | count. A record: (index + 1) << 40 | tag.
constexpr int kTagBits = 64 - ClientConnTable::kCountBits;  // 40
constexpr uint64_t kTagMask = (uint64_t{1} << kTagBits) - 1;
constexpr uint64_t kCountMask = ClientConnTable::kCountMax;

uint64_t tag_of_key(uint64_t key) { return (key & kTagMask) | 1; }  // never 0: an empty bucket has tag 0
uint64_t bucket_tag(uint64_t w) { return w >> ClientConnTable::kCountBits; }
uint32_t bucket_count(uint64_t w) { return static_cast<uint32_t>(w & kCountMask); }
uint64_t bucket(uint64_t tag, uint32_t count) { return tag << ClientConnTable::kCountBits | count; }
uint64_t record_of(size_t index, uint64_t tag) { return (static_cast<uint64_t>(index) + 1) << kTagBits | tag; }

}  // namespace

bool ClientConnTable::create(SharedMemory& mem, size_t buckets) {
  void* p = mem.allocate(bytes_needed(buckets));
  if (!p) return false;
  auto* b = static_cast<std::atomic<uint64_t>*>(p);
  for (size_t i = 0; i < buckets; ++i) new (&b[i]) std::atomic<uint64_t>(0);
  attach(b, buckets);
  return true;
}

void ClientConnTable::attach(std::atomic<uint64_t>* buckets, size_t n) {
  PILLAR_ASSERT(n >= kProbe && n % kProbe == 0 && n < (size_t{1} << 23));
  b_ = buckets;
  n_ = n;
}

uint64_t ClientConnTable::hash_address(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across processes and builds
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 29;  // the window comes from the high bits, the tag from the low ones
  return h ? h : 1;
}

ClientConnTable::Take ClientConnTable::take(uint64_t key, uint32_t limit, std::atomic<uint64_t>& record) {
  PILLAR_ASSERT(b_ && record.load(std::memory_order_relaxed) == 0 && limit > 0);
  const uint64_t tag = tag_of_key(key);
  const size_t first = static_cast<size_t>((key >> kTagBits) % (n_ / kProbe)) * kProbe;
  // Bounded: each retry follows another process's successful change.
  for (int attempt = 0; attempt < 64; ++attempt) {
    size_t mine = n_, free_one = n_;
    uint64_t seen = 0;
    for (size_t i = first; i < first + kProbe; ++i) {
      uint64_t w = b_[i].load(std::memory_order_acquire);
      if (bucket_tag(w) == tag && bucket_count(w) > 0) {
        mine = i;
        seen = w;
        break;
      }
      if (free_one == n_ && bucket_count(w) == 0) {
        free_one = i;
        seen = w;
      }
    }
    const size_t i = mine != n_ ? mine : free_one;
    if (i == n_) return Take::Untracked;  // the window is held by other live keys
    const uint32_t c = mine != n_ ? bucket_count(seen) : 0;
    if (c >= limit || c >= kCountMax) return Take::Over;
    record.store(record_of(i, tag), std::memory_order_release);  // before the count: see the header
    uint64_t expected = seen;
    if (b_[i].compare_exchange_strong(expected, bucket(tag, c + 1), std::memory_order_acq_rel)) return Take::Taken;
    record.store(0, std::memory_order_release);
  }
  return Take::Untracked;
}

void ClientConnTable::give_back(std::atomic<uint64_t>& record) {
  // The count first, the record after: killed between the two, the
  // record is given back twice (a count one too low, clamped), never not
  // at all (a leak).
  const uint64_t r = record.load(std::memory_order_acquire);
  if (r == 0 || !b_) return;
  const size_t i = static_cast<size_t>((r >> kTagBits) - 1);
  const uint64_t tag = r & kTagMask;
  if (i < n_) {  // else not a record of this table (a stale slot word)
    uint64_t w = b_[i].load(std::memory_order_acquire);
    while (bucket_tag(w) == tag && bucket_count(w) > 0) {
      if (b_[i].compare_exchange_weak(w, bucket(tag, bucket_count(w) - 1), std::memory_order_acq_rel)) break;
    }
  }
  record.store(0, std::memory_order_release);
}

uint32_t ClientConnTable::count(uint64_t key) const {
  const uint64_t tag = tag_of_key(key);
  const size_t first = static_cast<size_t>((key >> kTagBits) % (n_ / kProbe)) * kProbe;
  uint32_t total = 0;
  for (size_t i = first; i < first + kProbe; ++i) {
    uint64_t w = b_[i].load(std::memory_order_acquire);
    if (bucket_tag(w) == tag) total += bucket_count(w);
  }
  return total;
}

}  // namespace pillar::core::shm

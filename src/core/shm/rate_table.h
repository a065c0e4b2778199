// Request-rate buckets in shared memory, node-wide: every worker of every
// generation counts into the same table, so a limit holds for the node and
// not per process (PillarRateLimit, docs/limits.md). The algorithm is
// nginx's limit_req (a leaky bucket): each bucket keeps its excess in
// thousandths of a request and the time it was last let through; a request
// drains rate × elapsed from the excess and adds one request; beyond the
// burst it is refused, and the bucket is left as it was.
//
// Killed at any instruction: a bucket is two 64-bit words, each changed by
// one compare-and-swap; no lock is ever held, so a process that dies mid
// update leaves every bucket as it was before or after its own change. A
// bucket taken over for a new key (the probe window is full) can keep the
// old key's excess for one request if its claimer dies between the two
// words: bounded and harmless.
//
// Fixed size, chosen at start: keys hash to a window of kProbe buckets;
// when all are taken by other keys, the one let through longest ago is
// reused (an approximate LRU), so a flood of new keys (a scan from many
// addresses) cannot make the table refuse, only forget idle keys sooner.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pillar::core::shm {

class SharedMemory;

struct RateBucket {
  std::atomic<uint64_t> key{0};    // 0: empty
  std::atomic<uint64_t> state{0};  // excess (thousandths, kExcessBits) << kTimeBits | ms since the table's epoch
};

struct RateDecision {
  bool allowed = true;
  uint32_t retry_after_s = 0;  // refused: when one request will be let through again
  uint64_t excess = 0;         // thousandths of a request over the rate, after this one (allowed) or as it would be
};

class RateTable {
 public:
  static constexpr size_t kDefaultBuckets = 65536;  // 1 MiB
  static constexpr size_t kProbe = 8;
  static constexpr int kTimeBits = 38;    // ms: 8.7 years from the epoch
  static constexpr int kExcessBits = 26;  // thousandths: bursts up to 67 000 requests

  static size_t bytes_needed(size_t buckets) { return sizeof(RateBucket) * buckets; }
  bool create(SharedMemory& mem, size_t buckets, uint64_t epoch_ms);
  // Over plain memory (unit tests: an mmap shared with forked children).
  void attach(RateBucket* buckets, size_t n, uint64_t epoch_ms);

  // One request for `key` (hash_key) at `now_ms` (wall clock), under
  // `rate_milli` thousandths of a request per second and `burst` requests.
  RateDecision take(uint64_t key, uint64_t rate_milli, uint32_t burst, uint64_t now_ms);

  static uint64_t hash_key(std::string_view zone, std::string_view key);  // never 0
  size_t buckets() const { return n_; }

 private:
  RateBucket* b_ = nullptr;
  size_t n_ = 0;
  uint64_t epoch_ms_ = 0;
};

}  // namespace pillar::core::shm

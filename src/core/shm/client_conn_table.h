// Connections held per client address, node-wide, in shared memory
// (PillarMaxConnectionsPerClient, docs/limits.md): every worker of every
// generation counts into the same table, so a client is limited on the
// node, not per process.
//
// Each bucket is one 64-bit word, a key tag and a count, changed only by
// compare-and-swap: no lock is held, so a process killed at any
// instruction leaves every bucket as it was before or after its change.
// What a connection holds is recorded in its scoreboard slot (a word that
// names the bucket and the tag) *before* the count is taken, so the master
// gives back a dead worker's connections from its slots; a give-back
// lowers the count before it clears the record. A worker killed between
// the two steps of either leaves a record without a count: the master's
// give-back then lowers the key's count by one too many, which is clamped
// at 0 and heals when the key's connections close. The other orders would
// leak a count, and a leak would lock a client out for good.
//
// A key hashes to a window of kProbe buckets; a bucket whose count is 0 is
// free for any key. When the whole window is held by other live keys the
// connection is not counted (Untracked): the table never refuses for want
// of room.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pillar::core::shm {

class SharedMemory;

class ClientConnTable {
 public:
  static constexpr size_t kDefaultBuckets = 16384;  // 128 KiB
  static constexpr size_t kProbe = 8;
  static constexpr int kCountBits = 24;
  static constexpr uint32_t kCountMax = (1u << kCountBits) - 1;

  static size_t bytes_needed(size_t buckets) { return sizeof(std::atomic<uint64_t>) * buckets; }
  bool create(SharedMemory& mem, size_t buckets);
  void attach(std::atomic<uint64_t>* buckets, size_t n);  // plain shared memory (unit tests)

  enum class Take : uint8_t { Taken, Over, Untracked };
  // One more connection for `key` (hash_address) unless `limit` are held.
  // Taken: `record` (the connection's slot word, 0 before) says what to give back.
  Take take(uint64_t key, uint32_t limit, std::atomic<uint64_t>& record);
  // Gives back what `record` holds, if anything, and clears it. The owner
  // at close, or the master for a dead worker's slot.
  void give_back(std::atomic<uint64_t>& record);
  // Connections `key` holds now (server-status, tests).
  uint32_t count(uint64_t key) const;

  // The address bytes (IPv4, or IPv6 whole); never 0.
  static uint64_t hash_address(std::string_view address_bytes);
  size_t buckets() const { return n_; }

 private:
  std::atomic<uint64_t>* b_ = nullptr;
  size_t n_ = 0;
};

}  // namespace pillar::core::shm

// Session-ticket keys in shared memory: written by the master only (at start
// and at each rotation), read by every worker on each handshake that issues
// or opens a ticket. Lock-free on both sides, and safe against a writer
// that stops or dies at any instruction:
//
// two slots (a double buffer), each guarded by its own sequence counter
// (odd: being written), and `active_`, the slot readers use. The writer
// only ever writes the slot that is not active, and publishes it by storing
// `active_` last. A writer killed mid-write leaves `active_` on the complete
// previous set, so readers never see a torn or half-made key set; the next
// writer simply rewrites the inactive slot. A reader that raced a
// rotation (it read `active_`, then the writer started on that slot for the
// rotation after) sees its sequence change and retries on the new slot.
//
// Everything is plain data (no pointers); the words are atomics read and
// written relaxed, ordered by the sequence counter's fences (no data race
// in the C++ sense, so the table is also safe under ThreadSanitizer).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace pillar::core::shm {

struct TicketKey {
  uint8_t name[16];    // sent in the ticket: which key opens it
  uint8_t aes[32];     // AES-256-CBC
  uint8_t hmac[32];    // HMAC-SHA256
  uint64_t created_ms; // CLOCK_MONOTONIC (system-wide) when it was made
};

struct TicketKeySet {
  static constexpr uint32_t kMax = 2;  // [0] the current key (issues), [1] the previous one (opens only)
  uint32_t count = 0;
  uint32_t pad = 0;
  uint64_t generation = 0;   // keys made so far (1 at start, +1 per rotation)
  uint64_t lifetime_ms = 0;  // a key older than this opens no ticket (two rotation periods)
  TicketKey keys[kMax]{};
};

class TicketKeyTable {
 public:
  // The writer's stores, in order: the slot's sequence made odd, each word,
  // the sequence made even, `active_`. A test stops the writer before any
  // of them (`step(i)` returning false stops before store i) to check that
  // readers still get a whole key set.
  static constexpr size_t kWords = (sizeof(TicketKeySet) + 7) / 8;
  static constexpr size_t kSteps = kWords + 3;

  // Writer (one at a time: the master). Returns false when `step` stopped it.
  bool publish(const TicketKeySet& set, const std::function<bool(size_t)>& step = {});
  // Readers: a whole set. False when nothing was ever published, or when
  // no whole set could be read in kMaxTries attempts (only rotations back
  // to back could do that; a reader never spins on a stalled writer).
  static constexpr int kMaxTries = 1000;
  bool read(TicketKeySet& out) const;

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> seq{0};  // 0: never written; odd: being written
    std::atomic<uint64_t> words[kWords]{};
  };
  std::atomic<uint32_t> active_{0};
  Slot slots_[2];
};

}  // namespace pillar::core::shm

#include "core/shm/ticket_key_table.h"

#include <cstring>
#include <type_traits>


namespace pillar::core::shm {

static_assert(std::is_trivially_copyable_v<TicketKeySet>);

bool TicketKeyTable::publish(const TicketKeySet& set, const std::function<bool(size_t)>& step) {
  uint64_t words[kWords] = {};
  std::memcpy(words, &set, sizeof set);
  size_t at = 0;
  auto go = [&] { return !step || step(at++); };

  Slot& s = slots_[1 - active_.load(std::memory_order_relaxed)];
  // Odd and above whatever a writer that died here may have left.
  const uint64_t begin = (s.seq.load(std::memory_order_relaxed) + 1) | 1;
  if (!go()) return false;
  s.seq.store(begin, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);  // the odd sequence is seen before any word
  for (size_t i = 0; i < kWords; ++i) {
    if (!go()) return false;
    s.words[i].store(words[i], std::memory_order_relaxed);
  }
  if (!go()) return false;
  s.seq.store(begin + 1, std::memory_order_release);
  if (!go()) return false;
  active_.store(static_cast<uint32_t>(&s - slots_), std::memory_order_release);
  return true;
}

bool TicketKeyTable::read(TicketKeySet& out) const {
  uint64_t words[kWords];
  for (int tries = 0; tries < kMaxTries; ++tries) {
    const Slot& s = slots_[active_.load(std::memory_order_acquire)];
    const uint64_t before = s.seq.load(std::memory_order_acquire);
    if (before == 0) return false;  // nothing published yet
    if (before & 1) continue;       // the writer moved on: `active_` names the other slot now
    for (size_t i = 0; i < kWords; ++i) words[i] = s.words[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);  // the words are read before the check
    if (s.seq.load(std::memory_order_relaxed) != before) continue;
    std::memcpy(&out, words, sizeof out);
    return true;
  }
  return false;  // never a spin: the caller does without a ticket this once
}

}  // namespace pillar::core::shm

#include "core/idle_connections.h"

#include <algorithm>

namespace pillar::core {

IdleConnections::~IdleConnections() { TimerWheel::cancel(*this); }

std::unique_ptr<Transport> IdleConnections::take(const void* peer, int index) {
  auto it = idle_.find({peer, index});
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  while (!list.empty()) {
    std::unique_ptr<Transport> t = std::move(list.back().t);
    list.pop_back();
    char probe;
    if (t->read(&probe, 1).again()) return t;  // open and quiet: reusable
    // closed by the peer, or bytes nobody asked for: dropped (closed) here
  }
  idle_.erase(it);
  return nullptr;
}

void IdleConnections::give(const void* peer, int index, std::unique_ptr<Transport> t) {
  if (closed_ || max_per_peer_ == 0) return;  // closed as it goes
  auto& list = idle_[{peer, index}];
  if (list.size() >= max_per_peer_) list.erase(list.begin());  // the oldest makes room
  list.push_back({std::move(t), loop_.now_ms()});
  if (idle_ms_ > 0 && !armed()) arm();
}

size_t IdleConnections::idle() const {
  size_t n = 0;
  for (const auto& [peer, list] : idle_) n += list.size();
  return n;
}

void IdleConnections::close_all() {
  closed_ = true;
  idle_.clear();
  TimerWheel::cancel(*this);
}

void IdleConnections::on_timer() {
  const uint64_t now = loop_.now_ms();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    auto fresh = std::find_if(list.begin(), list.end(), [&](const Idle& e) { return e.since_ms + idle_ms_ > now; });
    list.erase(list.begin(), fresh);
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
  if (!idle_.empty()) arm();
}

void IdleConnections::arm() {
  uint64_t oldest = UINT64_MAX;
  for (const auto& [peer, list] : idle_)
    if (!list.empty()) oldest = std::min(oldest, list.front().since_ms);
  if (oldest != UINT64_MAX) loop_.timers().arm(*this, oldest + idle_ms_);
}

}  // namespace pillar::core

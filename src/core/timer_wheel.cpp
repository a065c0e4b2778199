#include "core/timer_wheel.h"

namespace pillar::core {

TimerNode::~TimerNode() { TimerWheel::cancel(*this); }

TimerWheel::TimerWheel(uint64_t now_ms) : current_tick_(now_ms / kTickMs) {
  heads_ = std::make_unique<Sentinel[]>(kSlots);
  for (size_t i = 0; i < kSlots; ++i) heads_[i].prev_ = heads_[i].next_ = &heads_[i];
}

TimerWheel::~TimerWheel() {
  for (size_t i = 0; i < kSlots; ++i) {
    TimerNode& h = heads_[i];
    while (h.next_ != &h) cancel(*h.next_);
    h.prev_ = h.next_ = nullptr;
  }
}

void TimerWheel::arm(TimerNode& node, uint64_t expires_ms) {
  cancel(node);
  node.expires_ms_ = expires_ms;
  uint64_t tick = (expires_ms + kTickMs - 1) / kTickMs;
  if (tick <= current_tick_) tick = current_tick_ + 1;
  TimerNode& head = heads_[tick % kSlots];
  node.prev_ = head.prev_;
  node.next_ = &head;
  head.prev_->next_ = &node;
  head.prev_ = &node;
}

void TimerWheel::cancel(TimerNode& node) {
  if (!node.armed()) return;
  node.prev_->next_ = node.next_;
  node.next_->prev_ = node.prev_;
  node.prev_ = node.next_ = nullptr;
}

void TimerWheel::advance(uint64_t now_ms) {
  uint64_t target = now_ms / kTickMs;
  // After a long stall, one full turn visits every slot once.
  if (target > current_tick_ + kSlots) current_tick_ = target - kSlots;
  while (current_tick_ < target) {
    ++current_tick_;
    TimerNode& head = heads_[current_tick_ % kSlots];
    // Move due nodes out first so callbacks that re-arm into this slot are safe.
    Sentinel due;
    due.prev_ = due.next_ = &due;
    for (TimerNode* n = head.next_; n != &head;) {
      TimerNode* next = n->next_;
      if (n->expires_ms_ <= now_ms) {
        n->prev_->next_ = n->next_;
        n->next_->prev_ = n->prev_;
        n->prev_ = due.prev_;
        n->next_ = &due;
        due.prev_->next_ = n;
        due.prev_ = n;
      }
      n = next;
    }
    while (due.next_ != &due) {
      TimerNode* n = due.next_;
      cancel(*n);
      n->on_timer();
    }
    due.prev_ = due.next_ = nullptr;
  }
}

}  // namespace pillar::core

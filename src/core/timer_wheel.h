// A hashed timing wheel: O(1) arm, re-arm and cancel, no allocation. Each
// connection embeds one TimerNode and re-arms it on every state change, so a
// busy keep-alive connection costs two pointer swaps per request, not a heap
// push. Granularity is one tick (kTickMs); timeouts are never early.
#pragma once
#include <cstdint>
#include <memory>

namespace pillar::core {

class TimerNode {
 public:
  virtual ~TimerNode();
  virtual void on_timer() = 0;
  bool armed() const { return prev_ != nullptr; }
  uint64_t expires_ms() const { return expires_ms_; }

 private:
  friend class TimerWheel;
  TimerNode* prev_ = nullptr;
  TimerNode* next_ = nullptr;
  uint64_t expires_ms_ = 0;
};

class TimerWheel {
 public:
  static constexpr uint64_t kTickMs = 50;
  static constexpr size_t kSlots = 1024;  // one turn = 51.2 s; longer timers wait extra turns

  explicit TimerWheel(uint64_t now_ms);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  void arm(TimerNode& node, uint64_t expires_ms);
  static void cancel(TimerNode& node);
  // Fire every node whose time has come. Callbacks may arm/cancel any node.
  void advance(uint64_t now_ms);

 private:
  struct Sentinel final : TimerNode {
    void on_timer() override {}
  };
  std::unique_ptr<Sentinel[]> heads_;  // one circular list per slot
  uint64_t current_tick_;
};

}  // namespace pillar::core

// One epoll loop per thread (h2o's model): the loop owns its connections,
// timers and buffers; nothing on the request path is shared or locked.
// Watchers are registered edge-triggered unless they ask otherwise.
#pragma once
#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "core/fd.h"
#include "core/timer_wheel.h"

namespace pillar::core {

class IoWatcher {
 public:
  virtual ~IoWatcher() = default;
  virtual void on_io(uint32_t events) = 0;  // EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP / EPOLLRDHUP
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  bool add(int fd, uint32_t events, IoWatcher* w);
  bool modify(int fd, uint32_t events, IoWatcher* w);
  void remove(int fd);

  // Runs until stop(); `after_batch` runs after each batch of events (flush logs...).
  void run();
  void stop();  // thread-safe
  // Run `fn` on the loop's thread at its next wake-up (thread-safe).
  void post(std::function<void()> fn);
  void set_after_batch(std::function<void()> fn) { after_batch_ = std::move(fn); }

  TimerWheel& timers() { return timers_; }
  uint64_t now_ms() const { return now_ms_; }   // monotonic, refreshed per wake-up
  time_t wall_time() const { return wall_sec_; }
  // "Date: ..." value for the current second, formatted once per second.
  std::string_view http_date();

 private:
  void refresh_clock();
  void drain_posted();

  Fd epfd_;
  Fd wakefd_;
  std::unique_ptr<IoWatcher> wake_watcher_;
  std::atomic<bool> stopping_{false};
  uint64_t now_ms_ = 0;
  time_t wall_sec_ = 0;
  time_t date_sec_ = 0;
  char date_[32] = {};
  size_t date_len_ = 0;
  TimerWheel timers_;
  std::function<void()> after_batch_;
  std::vector<std::function<void()>> posted_;     // guarded by posted_lock_
  std::atomic_flag posted_lock_ = ATOMIC_FLAG_INIT;
  std::vector<std::function<void()>> running_;
};

}  // namespace pillar::core

#include "core/event_loop.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "core/clock.h"

namespace pillar::core {

namespace {
// The wake-up eventfd's watcher: nothing to do but clear the counter.
struct WakeWatcher final : IoWatcher {
  int fd;
  explicit WakeWatcher(int f) : fd(f) {}
  void on_io(uint32_t) override {
    uint64_t v;
    while (::read(fd, &v, sizeof v) > 0) {
    }
  }
};

void format_imf_date(time_t t, char* out, size_t& len) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&t, &tm);
  int n = std::snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                        kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  len = n > 0 ? static_cast<size_t>(n) : 0;
}
}  // namespace

EventLoop::EventLoop() : timers_(mono_coarse_ms()) {
  epfd_.reset(epoll_create1(EPOLL_CLOEXEC));
  wakefd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!epfd_ || !wakefd_) throw std::runtime_error(std::string("epoll/eventfd: ") + strerror(errno));
  wake_watcher_ = std::make_unique<WakeWatcher>(wakefd_.get());
  struct epoll_event ev {};
  ev.events = EPOLLIN;
  ev.data.ptr = wake_watcher_.get();
  epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, wakefd_.get(), &ev);
  refresh_clock();
}

EventLoop::~EventLoop() {
  // The wake watcher is the only watcher the loop owns.
  struct epoll_event ev {};
  epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, wakefd_.get(), &ev);
}

bool EventLoop::add(int fd, uint32_t events, IoWatcher* w) {
  struct epoll_event ev {};
  ev.events = events;
  ev.data.ptr = w;
  return epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modify(int fd, uint32_t events, IoWatcher* w) {
  struct epoll_event ev {};
  ev.events = events;
  ev.data.ptr = w;
  return epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) {
  struct epoll_event ev {};
  epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, &ev);
}

void EventLoop::refresh_clock() {
  now_ms_ = mono_coarse_ms();
  wall_sec_ = wall_coarse_s();
}

std::string_view EventLoop::http_date() {
  if (wall_sec_ != date_sec_ || date_len_ == 0) {
    date_sec_ = wall_sec_;
    format_imf_date(wall_sec_, date_, date_len_);
  }
  return {date_, date_len_};
}

void EventLoop::stop() {
  stopping_.store(true, std::memory_order_release);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakefd_.get(), &one, sizeof one);
}

void EventLoop::post(std::function<void()> fn) {
  while (posted_lock_.test_and_set(std::memory_order_acquire)) {
  }
  posted_.push_back(std::move(fn));
  posted_lock_.clear(std::memory_order_release);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wakefd_.get(), &one, sizeof one);
}

void EventLoop::drain_posted() {
  while (posted_lock_.test_and_set(std::memory_order_acquire)) {
  }
  running_.swap(posted_);
  posted_lock_.clear(std::memory_order_release);
  for (auto& fn : running_) fn();
  running_.clear();
}

void EventLoop::run() {
  constexpr int kMaxEvents = 256;
  struct epoll_event events[kMaxEvents];
  while (!stopping_.load(std::memory_order_acquire)) {
    int n = epoll_wait(epfd_.get(), events, kMaxEvents, static_cast<int>(TimerWheel::kTickMs));
    refresh_clock();
    for (int i = 0; i < n; ++i) static_cast<IoWatcher*>(events[i].data.ptr)->on_io(events[i].events);
    drain_posted();
    timers_.advance(now_ms_);
    if (after_batch_) after_batch_();
  }
  drain_posted();
}

}  // namespace pillar::core

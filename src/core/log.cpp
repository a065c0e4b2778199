#include "core/log.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

namespace pillar::core {

namespace {

constexpr size_t kMaxPending = 8u << 20;  // per sink; beyond it lines are dropped

// Set once the writer is destroyed at exit: sinks owned by other static
// objects are destroyed later, in no order we choose, and must not reach it
// (ASan saw that use-after-free). Constant-initialised, so it outlives them all.
std::atomic<bool> writer_gone{false};

// The single writer thread: flushes every registered sink every 100 ms.
class Writer {
 public:
  static Writer& get() {
    static Writer w;
    return w;
  }
  void add(LogSink* s) {
    std::lock_guard<std::mutex> g(mu_);
    sinks_.push_back(s);
  }
  void start() {
    std::lock_guard<std::mutex> g(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  }
  void remove(LogSink* s) {
    if (writer_gone.load()) return;
    std::lock_guard<std::mutex> g(mu_);
    sinks_.erase(std::remove(sinks_.begin(), sinks_.end(), s), sinks_.end());
  }
  void flush_all() {
    std::lock_guard<std::mutex> g(mu_);
    for (auto* s : sinks_) s->flush_now();
  }
  void stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    flush_all();
  }
  ~Writer() {
    stop();
    writer_gone.store(true);
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> g(mu_);
    while (!stop_) {
      cv_.wait_for(g, std::chrono::milliseconds(100));
      for (auto* s : sinks_) s->flush_now();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<LogSink*> sinks_;
  std::thread thread_;
  bool stop_ = false;
};

std::atomic<bool> g_async{false};
std::shared_ptr<LogSink> g_error_sink;
std::mutex g_error_mu;

const char* level_name(LogLevel l) {
  static const char* const kNames[] = {"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"};
  return kNames[static_cast<int>(l)];
}

}  // namespace

std::atomic<LogLevel> ErrorLog::level_{LogLevel::Warn};

void start_async_logging() {
  g_async.store(true);
  Writer::get().start();
}

bool async_logging() { return g_async.load(std::memory_order_relaxed); }

std::shared_ptr<LogSink> LogSink::open(const std::string& path, std::string& error) {
  int fd = 2;
  if (!path.empty() && path != "stderr") {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      error = path + ": " + strerror(errno);
      return nullptr;
    }
  }
  std::shared_ptr<LogSink> s(new LogSink(path, fd));
  Writer::get().add(s.get());
  return s;
}

LogSink::~LogSink() {
  Writer::get().remove(this);
  flush_now();
  if (fd_ > 2) ::close(fd_);
}

void LogSink::append(std::string_view line) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (pending_.size() + line.size() > kMaxPending) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    pending_.append(line);
  }
  if (!g_async.load(std::memory_order_relaxed)) flush_now();
}

bool LogSink::reopen(std::string& error) {
  if (fd_ <= 2) return true;
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = path_ + ": " + strerror(errno);
    return false;
  }
  flush_now();
  ::dup2(fd, fd_);  // atomic swap under any concurrent flush
  ::close(fd);
  return true;
}

// Appenders hold mu_ only to append; the I/O happens under io_mu_ so a slow
// disk never blocks them.
void LogSink::flush_now() {
  std::lock_guard<std::mutex> io(io_mu_);
  {
    std::lock_guard<std::mutex> g(mu_);
    if (pending_.empty()) return;
    writing_.swap(pending_);
  }
  write_out();
}

void LogSink::write_out() {
  size_t off = 0;
  while (off < writing_.size()) {
    ssize_t n = ::write(fd_, writing_.data() + off, writing_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    off += static_cast<size_t>(n);
  }
  writing_.clear();
}

void ErrorLog::configure(std::shared_ptr<LogSink> sink, LogLevel level) {
  std::lock_guard<std::mutex> g(g_error_mu);
  g_error_sink = std::move(sink);
  level_.store(level, std::memory_order_relaxed);
}

void ErrorLog::write(LogLevel level, std::string_view module, std::string_view message) {
  // Apache's layout: [Tue Nov 24 14:14:31.123456 2026] [core:error] [pid 1:tid 2] message
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char when[64];
  size_t n = strftime(when, sizeof when, "%a %b %d %H:%M:%S", &tm);
  std::string line = fmt::format("[{}.{:06d} {}] [{}:{}] [pid {}:tid {}] {}\n", std::string_view(when, n),
                                 static_cast<long>(tv.tv_usec), tm.tm_year + 1900, module, level_name(level),
                                 getpid(), static_cast<long>(syscall(SYS_gettid)), message);
  std::shared_ptr<LogSink> sink;
  {
    std::lock_guard<std::mutex> g(g_error_mu);
    sink = g_error_sink;
  }
  if (sink) {
    sink->append(line);
  } else {
    [[maybe_unused]] ssize_t w = ::write(2, line.data(), line.size());
  }
}

void ErrorLog::flush() { Writer::get().flush_all(); }

void ErrorLog::shutdown() {
  Writer::get().flush_all();
}

}  // namespace pillar::core

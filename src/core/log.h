// Logging that never blocks an event loop: lines are appended to an
// in-memory queue per destination and a single writer thread does the I/O.
// A full or failing disk drops lines (counted), it never stalls serving.
#pragma once
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace pillar::core {

// Same order as Apache's LogLevel (and config::LogLevel).
enum class LogLevel : uint8_t { Emerg, Alert, Crit, Error, Warn, Notice, Info, Debug };

class LogSink {
 public:
  // "" or "stderr" writes to fd 2; otherwise the file is opened for append.
  static std::shared_ptr<LogSink> open(const std::string& path, std::string& error);
  ~LogSink();

  void append(std::string_view line);  // line must end with '\n'
  bool reopen(std::string& error);     // logrotate: reopen the path
  void flush_now();                    // writer thread (and shutdown) only
  const std::string& path() const { return path_; }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

 private:
  LogSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  void write_out();
  std::string path_;
  int fd_;
  std::mutex mu_;     // guards pending_
  std::mutex io_mu_;  // guards writing_ and the writes
  std::string pending_;
  std::string writing_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> write_errors_{0};
};

// Until start_async_logging() is called (by each worker after fork), lines
// are written synchronously: the master never serves, and it must not own a
// writer thread when it forks.
void start_async_logging();
bool async_logging();

// The process's error log (Apache's ErrorLog + LogLevel).
class ErrorLog {
 public:
  static void configure(std::shared_ptr<LogSink> sink, LogLevel level);
  static bool enabled(LogLevel level) { return level <= level_.load(std::memory_order_relaxed); }
  static void write(LogLevel level, std::string_view module, std::string_view message);
  static void flush();  // synchronous flush (shutdown, tests)
  static void shutdown();

 private:
  static std::atomic<LogLevel> level_;
};

template <typename... Args>
void log(LogLevel level, std::string_view module, fmt::format_string<Args...> f, Args&&... args) {
  if (!ErrorLog::enabled(level)) return;
  ErrorLog::write(level, module, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace pillar::core

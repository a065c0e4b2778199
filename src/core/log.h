// Logging that never blocks an event loop: lines are appended to an
// in-memory queue per destination and a single writer thread does the I/O.
// A full or failing disk drops lines (counted), it never stalls serving, and
// a file only ever holds whole lines: a short write's fragment of a line is
// taken back. Failures are reported in the error log naming the file, at
// most once per kReportIntervalS per file, and again when writes succeed.
#pragma once
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.h"

namespace pillar::core {

// Same order as Apache's LogLevel (and config::LogLevel).
enum class LogLevel : uint8_t { Emerg, Alert, Crit, Error, Warn, Notice, Info, Debug };

class LogSink {
 public:
  // "" or "stderr" writes to fd 2; otherwise the file is opened for append.
  // One sink (one descriptor) per path in the process: a path some runtime
  // already has open is shared, unless the file there is no longer the one
  // open (rotated: renamed or deleted), which gets a new sink. So a reload
  // opens only the logs whose path or file changed, and old runtimes keep
  // theirs until they go.
  static std::shared_ptr<LogSink> open(const std::string& path, std::string& error);
  // In a new worker: every sink not in `keep` (the old runtimes' ones, which
  // it inherited) closes its descriptor and drops what it is given.
  static void keep_only(const std::vector<const LogSink*>& keep);
  // The descriptor written to: 2 for stderr, -1 once detached by keep_only.
  int fd() const { return to_stderr_ ? 2 : file_.get(); }
  ~LogSink();

  void append(std::string_view line);  // line must end with '\n'
  bool reopen(std::string& error);     // logrotate: reopen the path
  void flush_now();                    // writer thread (and shutdown) only
  const std::string& path() const { return path_; }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

  static constexpr int kReportIntervalS = 10;

 private:
  LogSink(std::string path, Fd file, bool to_stderr)
      : path_(std::move(path)), file_(std::move(file)), to_stderr_(to_stderr) {}
  bool still_at_path() const;  // the open file is still the one named by path_
  // Writes writing_ (whole lines); returns the error-log report due, if any
  // (is_error: a failure; otherwise the recovery after one).
  std::string write_out(bool& is_error);
  bool take_back(size_t fragment);
  void count_dropped(uint64_t lines);
  std::string path_;
  Fd file_;          // the open log file (none for stderr, or once detached)
  bool to_stderr_;   // writes go to fd 2, which the sink does not own
  std::mutex mu_;     // guards pending_
  std::mutex io_mu_;  // guards writing_, the writes and the failure state below
  std::string pending_;
  std::string writing_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> write_errors_{0};
  bool failing_ = false;        // the last write failed
  bool needs_newline_ = false;  // a fragment could not be taken back: end it first
  int64_t last_report_s_ = 0;   // monotonic seconds of the last failure report
};

// This process's totals over every sink (workers publish them in their
// scoreboard row for /metrics and server-status).
struct LogTotals {
  uint64_t lines_dropped = 0;
  uint64_t write_errors = 0;
};
LogTotals log_totals();

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

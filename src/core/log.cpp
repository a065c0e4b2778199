#include "core/log.h"

#include "core/assert.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <map>
#include <thread>
#include <vector>

#include "core/clock.h"

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
  std::vector<LogSink*> all() {
    std::lock_guard<std::mutex> g(mu_);
    return sinks_;
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
std::atomic<uint64_t> g_lines_dropped{0};
std::atomic<uint64_t> g_write_errors{0};

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

// Sinks by path, for sharing (weak: a sink lives as long as a runtime uses it).
std::mutex g_registry_mu;
std::map<std::string, std::weak_ptr<LogSink>> g_registry;

bool LogSink::still_at_path() const {
  struct stat open_st, path_st;
  return file_ && ::fstat(file_.get(), &open_st) == 0 && ::stat(path_.c_str(), &path_st) == 0 &&
         open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

void LogSink::keep_only(const std::vector<const LogSink*>& keep) {
  for (LogSink* s : Writer::get().all()) {
    if (std::find(keep.begin(), keep.end(), s) != keep.end()) continue;
    std::lock_guard<std::mutex> io(s->io_mu_);
    s->file_.reset();
    s->to_stderr_ = false;
  }
}

std::shared_ptr<LogSink> LogSink::open(const std::string& path, std::string& error) {
  bool file = !path.empty() && path != "stderr";
  std::lock_guard<std::mutex> reg(g_registry_mu);
  if (file) {
    auto it = g_registry.find(path);
    if (it != g_registry.end()) {
      if (auto s = it->second.lock(); s && s->still_at_path()) return s;
    }
  }
  Fd fd;
  if (file) {
    fd.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) {
      error = path + ": " + strerror(errno);
      return nullptr;
    }
  }
  std::shared_ptr<LogSink> s(new LogSink(path, std::move(fd), !file));
  Writer::get().add(s.get());
  if (file) g_registry[path] = s;
  return s;
}

LogSink::~LogSink() {
  Writer::get().remove(this);
  flush_now();  // file_ closes after it
}

LogTotals log_totals() { return {g_lines_dropped.load(), g_write_errors.load()}; }

void LogSink::count_dropped(uint64_t lines) {
  dropped_.fetch_add(lines, std::memory_order_relaxed);
  g_lines_dropped.fetch_add(lines, std::memory_order_relaxed);
}

void LogSink::append(std::string_view line) {
  PILLAR_ASSERT(!line.empty() && line.back() == '\n');
  {
    std::lock_guard<std::mutex> g(mu_);
    if (pending_.size() + line.size() > kMaxPending) {
      count_dropped(1);
      return;
    }
    pending_.append(line);
  }
  if (!g_async.load(std::memory_order_relaxed)) flush_now();
}

bool LogSink::reopen(std::string& error) {
  if (!file_) return true;
  Fd fresh(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (!fresh) {
    error = path_ + ": " + strerror(errno);
    return false;
  }
  flush_now();
  ::dup2(fresh.get(), file_.get());  // atomic swap under any concurrent flush
  return true;
}

// Appenders hold mu_ only to append; the I/O happens under io_mu_ so a slow
// disk never blocks them. A failure report goes to the error log after
// io_mu_ is released (the error log may be this very sink).
void LogSink::flush_now() {
  std::string report;
  bool is_error = false;
  {
    std::lock_guard<std::mutex> io(io_mu_);
    {
      std::lock_guard<std::mutex> g(mu_);
      if (pending_.empty()) return;
      writing_.swap(pending_);
    }
    report = write_out(is_error);
  }
  LogLevel level = is_error ? LogLevel::Error : LogLevel::Warn;  // the recovery says what was lost
  if (report.empty() || !ErrorLog::enabled(level)) return;
  bool is_error_log;
  {
    std::lock_guard<std::mutex> g(g_error_mu);
    is_error_log = g_error_sink.get() == this;
  }
  if (is_error_log && fd() != 2) {  // its own failure would be lost in it: stderr too
    std::string line = "pillar: " + report + "\n";
    [[maybe_unused]] ssize_t w = ::write(2, line.data(), line.size());
  }
  ErrorLog::write(level, "core", report);
}

// A short write ended inside a line: cut that fragment off the end of the
// file, unless something was appended after it meanwhile (another worker
// writing the same file), in which case it cannot be taken back.
bool LogSink::take_back(size_t fragment) {
  off_t end = ::lseek(fd(), 0, SEEK_CUR);  // O_APPEND: the end of our write
  struct stat st;
  if (end < static_cast<off_t>(fragment) || ::fstat(fd(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != end)
    return false;
  return ::ftruncate(fd(), end - static_cast<off_t>(fragment)) == 0;
}

std::string LogSink::write_out(bool& is_error) {
  if (fd() < 0) {  // detached (keep_only): not this process's log
    writing_.clear();
    return {};
  }
  // A fragment left by an earlier failure is ended first, so what follows
  // starts a line of its own.
  size_t lead = needs_newline_ ? 1 : 0;
  if (needs_newline_) writing_.insert(writing_.begin(), '\n');
  needs_newline_ = false;
  size_t off = 0;  // what is in the file, always at a line boundary
  int err = 0;
  while (off < writing_.size()) {
    ssize_t n = ::write(fd(), writing_.data() + off, writing_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n == static_cast<ssize_t>(writing_.size() - off)) {
      off = writing_.size();
      break;
    }
    // A failure, or a short write (the disk or the file size limit is full):
    // keep the whole lines that got in, take back a fragment of the next one.
    err = n < 0 ? errno : 0;
    size_t done = n > 0 ? static_cast<size_t>(n) : 0;
    size_t whole = done;
    while (whole > 0 && writing_[off + whole - 1] != '\n') --whole;
    if (whole < done && !take_back(done - whole)) {
      needs_newline_ = true;  // the fragment stays: the next write ends it
      off += done;
      break;
    }
    off += whole;
    if (whole == 0) break;  // nothing more gets in now
  }
  if (off < lead) needs_newline_ = true;  // the fragment before is still open
  off = std::max(off, lead);
  uint64_t lost = static_cast<uint64_t>(std::count(writing_.begin() + static_cast<std::ptrdiff_t>(off), writing_.end(), '\n'));
  writing_.clear();
  std::string report;
  if (lost == 0) {
    if (failing_) {
      failing_ = false;
      report = fmt::format("log file {}: writing again; {} line(s) dropped and {} failed write(s) so far", path_,
                           dropped(), write_errors());
    }
    return report;
  }
  count_dropped(lost);
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  g_write_errors.fetch_add(1, std::memory_order_relaxed);
  int64_t now = mono_s();
  if (!failing_ || now - last_report_s_ >= kReportIntervalS) {
    last_report_s_ = now;
    report = fmt::format("log file {}: write failed ({}); {} line(s) dropped and {} failed write(s) so far", path_,
                         err ? strerror(err) : "short write: disk or file size limit full", dropped(),
                         write_errors());
  }
  failing_ = true;
  is_error = true;
  return report;
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

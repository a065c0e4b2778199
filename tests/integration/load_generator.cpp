#include "load_generator.h"

#include <dirent.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace itest {
namespace {
using Clock = std::chrono::steady_clock;
constexpr size_t kMaxSamples = 20;

// Reads /proc/PID/stat: state and ppid (the fields after the last ')').
bool read_stat(pid_t pid, char& state, pid_t& ppid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(f, s)) return false;
  size_t rp = s.rfind(')');
  if (rp == std::string::npos) return false;
  std::istringstream in(s.substr(rp + 1));
  long pp = 0;
  if (!(in >> state >> pp)) return false;
  ppid = static_cast<pid_t>(pp);
  return true;
}
}  // namespace

// ---- LoadStats ---------------------------------------------------------------------------

uint64_t LoadStats::failures() const {
  uint64_t n = 0;
  for (const auto& [k, v] : failures_by_kind) n += v;
  return n;
}

std::string LoadStats::summary() const {
  std::string s = "ok=" + std::to_string(ok) + " failed=" + std::to_string(failures());
  for (const auto& [k, v] : failures_by_kind) s += " " + k + "=" + std::to_string(v);
  s += " connections=" + std::to_string(connections) + " server_closes=" + std::to_string(server_closes);
  return s;
}

// ---- LoadGenerator -------------------------------------------------------------------------

LoadGenerator::LoadGenerator(LoadOptions opts) : opts_(std::move(opts)) {}

LoadGenerator::~LoadGenerator() { stop(); }

void LoadGenerator::start() {
  if (!threads_.empty()) return;
  stop_ = false;
  started_ = Clock::now();
  for (int i = 0; i < opts_.threads; ++i) threads_.emplace_back([this] { run_thread(); });
}

LoadStats LoadGenerator::stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
  return snapshot();
}

LoadStats LoadGenerator::snapshot() const {
  LoadStats s;
  s.ok = ok_.load();
  s.server_closes = server_closes_.load();
  s.connections = connections_.load();
  std::lock_guard<std::mutex> lk(mu_);
  s.failures_by_kind = failures_;
  s.failure_samples = samples_;
  return s;
}

bool LoadGenerator::wait_progress(uint64_t n, Millis timeout) const {
  uint64_t target = ok_.load() + n;
  return eventually([&] { return ok_.load() >= target; }, timeout);
}

void LoadGenerator::fail(const std::string& kind, const std::string& detail) {
  auto ms = std::chrono::duration_cast<Millis>(Clock::now() - started_).count();
  std::lock_guard<std::mutex> lk(mu_);
  ++failures_[kind];
  if (samples_.size() < kMaxSamples) samples_.push_back("t+" + std::to_string(ms) + "ms " + kind + ": " + detail);
}

void LoadGenerator::run_thread() {
  std::string req = "GET " + opts_.target + " HTTP/1.1\r\nHost: " + opts_.host + "\r\n" +
                    (opts_.keep_alive ? "" : "Connection: close\r\n") + "\r\n";
  std::unique_ptr<RawConnection> conn;
  uint64_t on_conn = 0;  // requests already answered on `conn`
  while (!stop_.load()) {
    if (!conn) {
      conn = std::make_unique<RawConnection>(opts_.port, 3s);
      if (!conn->connected()) {
        fail("connect", std::string("connect failed: ") + std::strerror(errno));
        conn.reset();
        std::this_thread::sleep_for(10ms);
        continue;
      }
      connections_.fetch_add(1);
      on_conn = 0;
    }
    std::string where = " (request " + std::to_string(on_conn + 1) + " on its connection)";
    if (!conn->send(req)) {
      fail("send", "send failed: " + std::string(std::strerror(errno)) + where);
      conn.reset();
      continue;
    }
    HttpResponse r = conn->read_response(opts_.response_timeout);
    if (r.status == 0) {
      CloseKind k = conn->close_kind();
      std::string kind = k == CloseKind::Timeout ? "timeout"
                         : !conn->buffered().empty() ? "partial-response"
                         : k == CloseKind::Reset     ? "reset-before-response"
                                                     : "closed-before-response";
      fail(kind, std::string("close=") + to_string(k) + " buffered=" + std::to_string(conn->buffered().size()) +
                     " bytes" + where);
      conn.reset();
      continue;
    }
    ++on_conn;
    if (r.status != 200) fail("status-" + std::to_string(r.status), r.version + " " + std::to_string(r.status) + " " + r.reason + where);
    else ok_.fetch_add(1);
    bool server_close = iequals(r.header("Connection"), "close");
    if (!opts_.keep_alive || server_close) {
      if (opts_.keep_alive) server_closes_.fetch_add(1);
      conn.reset();
    }
    if (opts_.pause.count() > 0) std::this_thread::sleep_for(opts_.pause);
  }
}

// ---- observing a master ---------------------------------------------------------------------

std::vector<pid_t> child_pids(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || !end || *end) continue;
    char state = 0;
    pid_t ppid = 0;
    if (read_stat(static_cast<pid_t>(pid), state, ppid) && ppid == parent && state != 'Z' && state != 'X')
      out.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool process_alive(pid_t pid) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) return false;
  char state = 0;
  pid_t ppid = 0;
  if (!read_stat(pid, state, ppid)) return false;
  return state != 'Z' && state != 'X';
}

long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 && line[field.size()] == ':')
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

bool rss_returned(pid_t pid, long rss_before, Millis timeout, long* rss_after, long* anon_after) {
  return eventually(
      [&] {
        *anon_after = proc_status_kb(pid, "RssAnon");
        *rss_after = proc_status_kb(pid, "VmRSS");
        return *rss_after >= 0 && *rss_after <= rss_before + rss_before / 5;
      },
      timeout);
}

StatusMap fetch_status_auto(uint16_t port, std::string* raw, const std::string& path) {
  StatusMap m;
  RawExchange x = raw_exchange(port,
                               "GET " + path + "?auto HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 3s);
  if (x.first().status != 200) return m;
  const std::string& body = x.first().body;
  if (raw) *raw = body;
  std::istringstream in(body);
  bool first = true;
  for (std::string line; std::getline(in, line);) {
    size_t sep = line.find(": ");
    if (first && sep == std::string::npos) {
      m[""] = line;  // mod_status prints the server name first
    } else if (sep != std::string::npos) {
      m[line.substr(0, sep)] = line.substr(sep + 2);
    }
    first = false;
  }
  return m;
}

long long status_num(const StatusMap& m, const std::string& key, long long fallback) {
  auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return fallback;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  return end && *end == 0 ? v : fallback;
}

long long metric_value(uint16_t port, const std::string& name, const std::string& path) {
  CurlResult r = curl_get("http://127.0.0.1:" + std::to_string(port) + path);
  if (r.status != 200) return -1;
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::atoll(line.c_str() + name.size() + 1);
  }
  return -1;
}

std::string process_config(const std::string& docroot, const std::string& dir, const std::string& extra) {
  return "Listen 127.0.0.1:0\n"
         "ServerName localhost\n"
         "DocumentRoot \"" + docroot + "\"\n"
         "PidFile \"" + dir + "/pillar.pid\"\n"
         "<Location /server-status>\n"
         "  SetHandler server-status\n"
         "</Location>\n"
         "<Location /metrics>\n"
         "  SetHandler pillar-metrics\n"
         "</Location>\n" + extra + "\n";
}

std::string status_brief(const StatusMap& m) {
  if (m.empty()) return "(no status)";
  std::string s;
  for (const char* k : {"ParentServerMPMGeneration", "Processes", "Stopping", "BusyWorkers", "IdleWorkers",
                        "ConnsTotal", "Scoreboard"}) {
    auto it = m.find(k);
    s += std::string(s.empty() ? "" : ", ") + k + "=" + (it == m.end() ? "?" : it->second);
  }
  return s;
}

}  // namespace itest

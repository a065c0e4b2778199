// A small concurrent load generator for the process-model integration tests,
// plus helpers to observe a running master: its worker pids (from /proc) and
// /server-status?auto.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace itest {

struct LoadOptions {
  uint16_t port = 0;
  int threads = 4;
  std::string target = "/index.html";
  std::string host = "localhost";
  // true: one connection per thread reused for GETs (reconnecting when the
  // server answers `Connection: close`); false: every request on a new
  // connection with `Connection: close`.
  bool keep_alive = true;
  Millis response_timeout = 5s;  // no complete response within it: a failure ("timeout")
  Millis pause = 0ms;            // between two requests of one thread
};

// What happened to the requests. A failed request is one that got no complete
// response (connect error, send error, reset/EOF before or in the middle of
// the response, timeout) or a status other than 200.
struct LoadStats {
  uint64_t ok = 0;
  uint64_t server_closes = 0;  // keep-alive connections the server ended with `Connection: close` (not failures)
  uint64_t connections = 0;    // connections opened
  std::map<std::string, uint64_t> failures_by_kind;
  std::vector<std::string> failure_samples;  // the first few failures, with details

  uint64_t failures() const;
  std::string summary() const;  // one line: ok, failures by kind, connections
};

class LoadGenerator {
 public:
  explicit LoadGenerator(LoadOptions opts);
  ~LoadGenerator();  // stops and joins
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  void start();
  LoadStats stop();  // stops the threads (each finishes its request in flight) and returns the totals
  LoadStats snapshot() const;
  uint64_t ok_count() const { return ok_.load(); }
  // Waits (bounded) until at least `n` more requests than now succeeded.
  bool wait_progress(uint64_t n, Millis timeout = 5s) const;

 private:
  void run_thread();
  void fail(const std::string& kind, const std::string& detail);

  LoadOptions opts_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ok_{0}, server_closes_{0}, connections_{0};
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> failures_;
  std::vector<std::string> samples_;
  std::vector<std::thread> threads_;
  std::chrono::steady_clock::time_point started_{};
};

// ---- observing a master -------------------------------------------------------------

// Pids whose parent is `parent` (scans /proc/*/stat), sorted. Zombies excluded.
std::vector<pid_t> child_pids(pid_t parent);

// True when `pid` exists and is not a zombie.
bool process_alive(pid_t pid);

// A field of /proc/PID/status in kB ("RssAnon"), -1 when unreadable.
long proc_status_kb(pid_t pid, const std::string& field);

// After a flood has left: polls until `pid`'s VmRSS (text, shared pages and
// all) is back within 20 % of `rss_before` (issue 16's bound), at most
// `timeout`. The last VmRSS and RssAnon read go to *rss_after / *anon_after.
bool rss_returned(pid_t pid, long rss_before, Millis timeout, long* rss_after, long* anon_after);

// /server-status?auto, parsed: "Key: value" lines into the map. The first
// line (the server name, as in mod_status) is stored under "" . Empty when the
// request failed or did not answer 200. `raw` gets the body.
using StatusMap = std::map<std::string, std::string>;
StatusMap fetch_status_auto(uint16_t port, std::string* raw = nullptr, const std::string& path = "/server-status");

// The numeric value of `key`, or `fallback` when missing / not a number.
long long status_num(const StatusMap& m, const std::string& key, long long fallback = -1);

// The value of an unlabelled counter or gauge on `path` (Prometheus text),
// -1 when the page or the metric is missing.
long long metric_value(uint16_t port, const std::string& name, const std::string& path = "/metrics");

// Polls ?auto every 20 ms until pred(map) holds or `timeout` passes; the last
// map read goes to *last. Never sleeps longer than the deadline.
template <typename Pred>
bool wait_status(uint16_t port, Pred pred, Millis timeout, StatusMap* last = nullptr) {
  StatusMap m;
  bool ok = eventually(
      [&] {
        m = fetch_status_auto(port);
        return !m.empty() && pred(m);
      },
      timeout);
  if (last) *last = m;
  return ok;
}

// A configuration for the process tests: Listen 127.0.0.1:0, ServerName
// localhost, DocumentRoot `docroot`, a PidFile in `dir`,
// <Location /server-status> SetHandler server-status and
// <Location /metrics> SetHandler pillar-metrics, then `extra`.
std::string process_config(const std::string& docroot, const std::string& dir, const std::string& extra);

// "key=value, key=value" of the ?auto fields most useful in failure messages.
std::string status_brief(const StatusMap& m);

}  // namespace itest

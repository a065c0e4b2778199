#include "config/process_limits.h"

#include <algorithm>

namespace pillar::config {

namespace {
std::string n(uint64_t v) { return std::to_string(v); }
}  // namespace

uint32_t max_workers(const ProcessConfig& p) {
  uint32_t w = (p.max_request_workers + p.threads_per_child - 1) / p.threads_per_child;
  return std::clamp<uint32_t>(w, 1, p.server_limit);
}

void settle_process_config(ProcessConfig& p, std::vector<std::string>& warnings) {
  if (p.threads_per_child > p.thread_limit) {
    if (p.set_threads_per_child) {
      warnings.push_back("WARNING: ThreadsPerChild of " + n(p.threads_per_child) + " exceeds ThreadLimit of " +
                         n(p.thread_limit) + ", decreasing to " + n(p.thread_limit) +
                         ". To increase, please see the ThreadLimit directive.");
    }
    p.threads_per_child = p.thread_limit;
  }
  if (!p.set_max_request_workers) {
    p.max_request_workers = p.server_limit * p.threads_per_child;
  } else {
    // Honoured exactly. A small limit needs no more slots per worker than it allows.
    if (p.max_request_workers < p.threads_per_child && !p.set_threads_per_child)
      p.threads_per_child = p.max_request_workers;
    uint64_t capacity = uint64_t{p.server_limit} * p.threads_per_child;
    if (p.max_request_workers > capacity) {
      warnings.push_back("WARNING: MaxRequestWorkers of " + n(p.max_request_workers) + " would require " +
                         n((p.max_request_workers + p.threads_per_child - 1) / p.threads_per_child) +
                         " servers and would exceed ServerLimit of " + n(p.server_limit) + ", decreasing to " +
                         n(capacity) + ". To increase, please see the ServerLimit directive.");
      p.max_request_workers = static_cast<uint32_t>(capacity);
    }
  }
  uint32_t workers = max_workers(p);
  if (p.start_servers > workers) {
    if (p.set_start_servers) {
      warnings.push_back("WARNING: StartServers of " + n(p.start_servers) + " would exceed the " + n(workers) +
                         " workers MaxRequestWorkers and ServerLimit allow, decreasing to " + n(workers) + ".");
    }
    p.start_servers = workers;
  }
  if (!p.set_min_spare) p.min_spare_threads = std::min(p.threads_per_child, p.max_request_workers);
  if (!p.set_max_spare) p.max_spare_threads = (p.start_servers + 1) * p.threads_per_child;
  if (p.max_spare_threads < p.min_spare_threads + p.threads_per_child) {
    // Apache raises it silently; otherwise the master would start and retire
    // the same worker forever.
    p.max_spare_threads = p.min_spare_threads + p.threads_per_child;
  }
}

}  // namespace pillar::config

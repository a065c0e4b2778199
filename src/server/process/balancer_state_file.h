// ProxyStateFile: what run-time control changed about balancer members
// (drain, disable, weight) survives a full restart, as HAProxy's
// server-state-file. One rule: the configuration defines the members; the
// file restores drain, disable and weight of the members it names (by
// balancer and URL) and nothing else. Graceful reloads do not need it (the
// states live in shared memory).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "proxy/balancer_runtime.h"

namespace pillar::server {

// One line per member: "BALANCER URL FLAGS WEIGHT" (FLAGS: "-" or D and/or N).
std::string render_balancer_state(const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& balancers);
// Writes atomically (temporary file + rename). False with `error`.
bool write_balancer_state(const std::string& path, const std::string& text, std::string& error);
// Applies a state file to the members the configuration has; returns how
// many members were restored (a missing file restores none).
size_t restore_balancer_state(const std::string& path, const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& balancers);

}  // namespace pillar::server

// File descriptors are a per-process budget (RLIMIT_NOFILE). A connection
// needs more than its socket (the file it is sent, an upstream socket, a
// pipe), so a worker stops accepting while fewer than fd_reserve()
// descriptors are left: the connections it has can always open what they
// need, and new ones wait in the listen backlog instead of being accepted
// into a request that fails with 500. A descriptor shortage that still
// happens is answered 503 with Retry-After.
#pragma once
#include <cstdint>
#include <string_view>

namespace pillar::core {

// The soft RLIMIT_NOFILE now (it can be changed at run time: prlimit).
uint64_t fd_limit();
// Descriptors kept free: limit/16, between 16 and 256.
uint64_t fd_reserve(uint64_t limit);
// True when `fd` (just allocated: the lowest free number, so at least that
// many are open) eats into the reserve.
bool fd_in_reserve(int fd, uint64_t limit);
// Logs the shortage once (again at most once a minute while it lasts), so a
// flood of refused work does not flood the error log.
void report_fd_shortage(std::string_view what, uint64_t limit);

}  // namespace pillar::core

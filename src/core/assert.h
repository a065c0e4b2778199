// PILLAR_ASSERT: an invariant the design relies on. Unlike assert() it stays
// in release builds (which define NDEBUG): a broken invariant in a server is
// a bug to stop at, with its place on stderr (the error log of a worker, and
// the master restarts the worker), not undefined behaviour to serve on. Keep
// the checked expressions cheap: they run on every request.
#pragma once

namespace pillar::core {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const char* func);
}  // namespace pillar::core

#define PILLAR_ASSERT(expr) \
  (static_cast<bool>(expr) ? void(0) : ::pillar::core::assert_failed(#expr, __FILE__, __LINE__, __func__))

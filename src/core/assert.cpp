#include "core/assert.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace pillar::core {

void assert_failed(const char* expr, const char* file, int line, const char* func) {
  // stderr directly: the logger's queue and writer thread may be what broke.
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "pillar: invariant failed: %s (%s:%d, %s); aborting\n", expr, file, line, func);
  if (n > 0) (void)!::write(2, buf, static_cast<size_t>(n) < sizeof buf ? static_cast<size_t>(n) : sizeof buf - 1);
  std::abort();
}

}  // namespace pillar::core

#include "core/fault_point.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <string>

#include "core/fd.h"

namespace pillar::core {
namespace {

struct Armed {
  const char* point = nullptr;  // PILLAR_FAULT_POINT, or null
  const char* action = "stop";
  long count = 1;
  const char* once = nullptr;  // PILLAR_FAULT_ONCE
  Armed() {
    if (const char* o = std::getenv("PILLAR_FAULT_ONCE"); o && *o) once = o;
    point = std::getenv("PILLAR_FAULT_POINT");
    if (point && !*point) point = nullptr;
    if (const char* a = std::getenv("PILLAR_FAULT_ACTION"); a && *a) action = a;
    if (const char* c = std::getenv("PILLAR_FAULT_COUNT"); c && *c) count = std::max(1L, std::strtol(c, nullptr, 10));
  }
};

const Armed& armed() {
  static const Armed a;
  return a;
}

std::atomic<long> passes{0};

}  // namespace

bool fault_points_armed() {
  static const bool on = armed().point != nullptr;
  return on;
}

void fault_point_slow(std::string_view name) {
  const Armed& a = armed();
  if (!a.point || name != a.point) return;
  if (passes.fetch_add(1) + 1 != a.count) return;
  if (a.once) {  // another process of the node took the fault already
    if (!Fd(open(a.once, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600))) return;  // only to create it
  }
  if (std::strcmp(a.action, "kill") == 0) raise(SIGKILL);
  if (std::strcmp(a.action, "exit") == 0) _exit(3);
  if (std::strcmp(a.action, "spin") == 0) {
    signal(SIGTERM, SIG_IGN);
    for (;;) asm volatile("" ::: "memory");  // a busy loop the compiler cannot remove
  }
  raise(SIGSTOP);
}

}  // namespace pillar::core

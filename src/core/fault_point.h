// Test-only fault injection at named points in the code. A test starts a
// process with PILLAR_FAULT_POINT=name (and optionally PILLAR_FAULT_ACTION);
// the first time that process reaches PILLAR_FAULT_POINT("name") it does the
// action, so a test can stop or kill a process at an exact instruction
// instead of racing it with sleeps:
//   stop  (default) raise(SIGSTOP): the holder of a lock stays stalled
//   kill  raise(SIGKILL): the holder dies where it stands
//   spin  loop forever ignoring signals it can ignore (a worker stuck in code)
//   exit  _exit(3)
// PILLAR_FAULT_COUNT=N fires at the Nth pass instead of the first.
// PILLAR_FAULT_ONCE=FILE fires only in the first process to get there (the
// one that creates FILE): workers forked later, replacements of a killed
// one included, pass the point unharmed, so a node takes the fault once.
// Unset (production), a fault point costs one predictable branch on a
// process-wide flag read once.
#pragma once
#include <string_view>

namespace pillar::core {

// True when PILLAR_FAULT_POINT is set at all (read once per process).
bool fault_points_armed();
// Fires the configured action when `name` is the armed point.
void fault_point_slow(std::string_view name);

}  // namespace pillar::core

#define PILLAR_FAULT_POINT(name)                                          \
  do {                                                                    \
    if (__builtin_expect(::pillar::core::fault_points_armed(), 0))        \
      ::pillar::core::fault_point_slow(name);                             \
  } while (0)

// User and Group: who the workers run as when the master starts as root
// (the master keeps root for binding and signals). "#N" is a numeric id.
#pragma once
#include <sys/types.h>

#include <string>

#include "config/model.h"

namespace pillar::server {

struct WorkerIdentity {
  bool drop = false;  // false: workers keep the master's identity
  uid_t uid = 0;
  gid_t gid = 0;
};

// Resolves `p.user`/`p.group` into `id` (only when running as root and one
// is set). False with `error` for an unknown name.
bool resolve_worker_identity(const config::ProcessConfig& p, WorkerIdentity& id, std::string& error);

// The warning for a server started as root with no User line: its workers
// would serve as root (Apache refuses; Pillar warns, so `make run` as root
// still works). Empty when there is nothing to say. Said at start (stderr
// and the error log) and by `pillar -t`.
std::string root_without_user_warning(const config::ProcessConfig& p);

}  // namespace pillar::server

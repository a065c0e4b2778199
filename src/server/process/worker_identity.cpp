#include "server/process/worker_identity.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace pillar::server {

bool resolve_worker_identity(const config::ProcessConfig& p, WorkerIdentity& id, std::string& error) {
  id.drop = false;
  if (geteuid() != 0 || (p.user.empty() && p.group.empty())) return true;
  auto id_of = [](const std::string& s, bool& numeric) -> long {
    numeric = !s.empty() && s[0] == '#';
    return numeric ? std::strtol(s.c_str() + 1, nullptr, 10) : -1;
  };
  bool numeric;
  if (!p.user.empty()) {
    long n = id_of(p.user, numeric);
    if (numeric) {
      id.uid = static_cast<uid_t>(n);
    } else {
      passwd* pw = getpwnam(p.user.c_str());
      if (!pw) return error = "User " + p.user + " does not exist", false;
      id.uid = pw->pw_uid;
      id.gid = pw->pw_gid;
    }
  }
  if (!p.group.empty()) {
    long n = id_of(p.group, numeric);
    if (numeric) {
      id.gid = static_cast<gid_t>(n);
    } else {
      group* gr = getgrnam(p.group.c_str());
      if (!gr) return error = "Group " + p.group + " does not exist", false;
      id.gid = gr->gr_gid;
    }
  }
  id.drop = true;
  return true;
}

std::string root_without_user_warning(const config::ProcessConfig& p) {
  if (geteuid() != 0 || !p.user.empty()) return {};
  return "pillar: running as root with no User directive: the workers will serve requests as root; "
         "set User and Group (for example User www-data, Group www-data)";
}

}  // namespace pillar::server

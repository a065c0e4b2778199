// suexec's checks (Apache's support/suexec.c), run by the CGI launcher
// before it forks a script that SuexecUserGroup or UserDir runs as another
// user. Each failure names its check, for the error log:
//   - the target user and group exist, are not root and not below
//     kSuexecMinUid / kSuexecMinGid (system accounts);
//   - the program's path is absolute and does not climb with "..";
//   - its directory is under the root (the vhost's DocumentRoot, or the
//     user's UserDir directory), both resolved with realpath;
//   - neither the directory nor the program is writable by group or
//     others; the program is a regular file (not a symlink), not setuid
//     or setgid, executable by its owner;
//   - the target user and group own both the directory and the program.
// As suexec, the launcher trusts the request's user and root as suexec
// trusts its caller (the server's user), and enforces these on it.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "server/cgi_launch.h"

namespace pillar::server {

struct SuexecTarget {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // the user's supplementary groups (initgroups)
  std::string user;           // the name, for the log
};

struct SuexecLimits {
  uint32_t min_uid = config::kSuexecMinUid;
  uint32_t min_gid = config::kSuexecMinGid;
};

// For a request whose identity is Suexec or UserDir. False with `why`.
bool suexec_check(const LaunchRequest& r, SuexecTarget& t, std::string& why, const SuexecLimits& lim = {});

}  // namespace pillar::server

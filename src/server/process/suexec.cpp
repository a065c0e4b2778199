#include "server/process/suexec.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>

namespace pillar::server {
namespace {

bool numeric(const std::string& s, long& v) {
  if (s.size() < 2 || s[0] != '#') return false;
  char* end = nullptr;
  v = std::strtol(s.c_str() + 1, &end, 10);
  return end && !*end && v >= 0;
}

std::string real(const std::string& p) {
  char buf[PATH_MAX];
  return realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}

bool under(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path.compare(0, root.size(), root) == 0 && (path.size() == root.size() || path[root.size()] == '/');
}

}  // namespace

bool suexec_check(const LaunchRequest& r, SuexecTarget& t, std::string& why, const SuexecLimits& lim) {
  using Identity = LaunchRequest::Identity;
  if (r.identity == Identity::Server) return why = "not a suexec request", false;
  // The target user and group.
  passwd pw{}, *found = nullptr;
  char buf[8192];
  long n = 0;
  int rc = numeric(r.user, n) ? getpwuid_r(static_cast<uid_t>(n), &pw, buf, sizeof buf, &found)
                              : getpwnam_r(r.user.c_str(), &pw, buf, sizeof buf, &found);
  if (rc != 0 || !found) return why = "target user " + r.user + " does not exist", false;
  t.uid = pw.pw_uid;
  t.user = pw.pw_name;
  t.gid = pw.pw_gid;
  if (r.identity == Identity::Suexec) {
    group gr{}, *gfound = nullptr;
    char gbuf[8192];
    rc = numeric(r.group, n) ? getgrgid_r(static_cast<gid_t>(n), &gr, gbuf, sizeof gbuf, &gfound)
                             : getgrnam_r(r.group.c_str(), &gr, gbuf, sizeof gbuf, &gfound);
    if (rc != 0 || !gfound) return why = "target group " + r.group + " does not exist", false;
    t.gid = gr.gr_gid;
  }
  if (t.uid == 0 || t.uid < lim.min_uid)
    return why = "target uid " + std::to_string(t.uid) + " (" + t.user + ") is root or below the minimum uid " +
                 std::to_string(lim.min_uid),
           false;
  if (t.gid == 0 || t.gid < lim.min_gid)
    return why = "target gid " + std::to_string(t.gid) + " is root or below the minimum gid " + std::to_string(lim.min_gid),
           false;
  int ngroups = 64;
  t.groups.assign(static_cast<size_t>(ngroups), 0);
  if (getgrouplist(t.user.c_str(), t.gid, t.groups.data(), &ngroups) < 0) {
    t.groups.assign(static_cast<size_t>(ngroups), 0);
    if (getgrouplist(t.user.c_str(), t.gid, t.groups.data(), &ngroups) < 0) ngroups = 0;
  }
  t.groups.resize(static_cast<size_t>(std::max(ngroups, 0)));
  if (t.groups.empty()) t.groups.push_back(t.gid);

  // The program's path and where it is.
  const std::string& prog = r.program;
  if (prog.empty() || prog[0] != '/' || prog.find("/../") != std::string::npos || prog.find("/./") != std::string::npos ||
      (prog.size() >= 3 && prog.compare(prog.size() - 3, 3, "/..") == 0))
    return why = "invalid command path " + prog + " (not absolute, or it climbs with ..)", false;
  std::string dir = prog.substr(0, prog.rfind('/'));
  if (dir.empty()) dir = "/";
  std::string real_dir = real(dir), real_root = real(r.root);
  if (r.root.empty() || real_root.empty()) return why = "the root " + r.root + " the script must be under does not exist", false;
  if (real_dir.empty()) return why = "cannot resolve the script's directory " + dir, false;
  if (!under(real_dir, real_root))
    return why = "the script's directory " + real_dir + " is not under " +
                 (r.identity == Identity::UserDir ? "the user's directory " : "the vhost's DocumentRoot ") + real_root,
           false;

  struct stat ds {}, ps {};
  if (lstat(real_dir.c_str(), &ds) != 0) return why = "cannot stat the directory " + real_dir, false;
  if (ds.st_mode & (S_IWGRP | S_IWOTH)) return why = "the directory " + real_dir + " is writable by group or others", false;
  if (lstat(prog.c_str(), &ps) != 0) return why = std::string("cannot stat the program: ") + strerror(errno), false;
  if (!S_ISREG(ps.st_mode)) return why = "the program is not a regular file (a symlink or a directory)", false;
  if (ps.st_mode & (S_IWGRP | S_IWOTH)) return why = "the program is writable by group or others", false;
  if (ps.st_mode & (S_ISUID | S_ISGID)) return why = "the program is setuid or setgid", false;
  if (t.uid != ds.st_uid || t.gid != ds.st_gid || t.uid != ps.st_uid || t.gid != ps.st_gid)
    return why = "target uid/gid (" + std::to_string(t.uid) + "/" + std::to_string(t.gid) +
                 ") does not own the directory (" + std::to_string(ds.st_uid) + "/" + std::to_string(ds.st_gid) +
                 ") and the program (" + std::to_string(ps.st_uid) + "/" + std::to_string(ps.st_gid) + ")",
           false;
  if (!(ps.st_mode & S_IXUSR)) return why = "the program has no execute permission for its owner", false;
  return true;
}

}  // namespace pillar::server

#include "server/request/userdir.h"

#include <pwd.h>
#include <sys/stat.h>

#include <string>

namespace pillar::server {

bool map_userdir(const config::UserDirConfig& u, std::string_view path, RewriteState& st) {
  if (path.size() < 3 || path.substr(0, 2) != "/~" || u.dirs.empty()) return false;
  size_t slash = path.find('/', 2);
  std::string user(path.substr(2, slash == std::string_view::npos ? std::string_view::npos : slash - 2));
  std::string_view rest = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  if (user.empty() || user == "." || user == ".." || !u.allows(user)) return false;
  std::string base;
  for (size_t i = 0; i < u.dirs.size(); ++i) {
    const std::string& d = u.dirs[i];
    if (d[0] != '/') {
      passwd pw{}, *found = nullptr;
      char buf[4096];
      if (getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &found) != 0 || !found || !pw.pw_dir) continue;
      base = std::string(pw.pw_dir) + "/" + d;
    } else if (size_t star = d.find('*'); star != std::string::npos) {
      base = d.substr(0, star) + user + d.substr(star + 1);
    } else {
      base = d + "/" + user;
    }
    struct stat sb {};
    if (::stat(base.c_str(), &sb) == 0 || i + 1 == u.dirs.size()) break;
    base.clear();
  }
  if (base.empty()) return false;
  st.filename = base + std::string(rest);
  st.userdir_user = std::move(user);
  st.userdir_base = std::move(base);
  return true;
}

}  // namespace pillar::server

// What the configuration says about CGI programs (mod_cgid, mod_suexec,
// mod_userdir and core's RLimit* directives), one CgiSettings per section:
// the vhost, each <Directory>, <Files> and <Location>. Which field a
// section may set is the directive table's business (directives/cgi.cpp);
// the server layer merges them per request (server/cgi_route.cpp): the
// vhost, then the <Directory> sections holding the script (shortest first),
// then its <Files>, then the <Location> (Apache's merge order).
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pillar::config {

// suexec's AP_UID_MIN / AP_GID_MIN as Debian builds it: scripts never run
// as a user or group below these (system accounts).
constexpr uint32_t kSuexecMinUid = 100;
constexpr uint32_t kSuexecMinGid = 100;

// RLimitCPU / RLimitMEM / RLimitNPROC SOFT [HARD] (Apache's core syntax):
// a number or "max" (the launcher's own hard limit). With one value only the
// soft limit is set and the hard one stays the server's (a script may then
// raise its soft limit again, as in Apache: give both to forbid it).
struct RLimitValue {
  static constexpr uint64_t kMax = UINT64_MAX;  // "max"
  bool set = false;
  uint64_t soft = 0;
  std::optional<uint64_t> hard;
};

struct RLimits {
  RLimitValue cpu;    // seconds of CPU (RLIMIT_CPU: SIGXCPU at the soft limit)
  RLimitValue mem;    // bytes of address space (RLIMIT_AS, as Apache on Linux)
  RLimitValue nproc;  // processes of the script's user (RLIMIT_NPROC; root is exempt)
  // The innermost section that sets a limit wins, limit by limit.
  void merge_from(const RLimits& inner) {
    if (inner.cpu.set) cpu = inner.cpu;
    if (inner.mem.set) mem = inner.mem;
    if (inner.nproc.set) nproc = inner.nproc;
  }
};

// UserDir (mod_userdir): /~user/rest is served from the user's directory.
struct UserDirConfig {
  // "public_html" (relative: under the user's home), "/home/*/www" (the *
  // is the user name), "/srv/users" (absolute: /srv/users/USER). Tried in
  // order, the first that exists wins. Empty: UserDir is off.
  std::vector<std::string> dirs;
  bool all_disabled = false;       // "UserDir disabled" (then only `enabled` users)
  std::set<std::string> disabled;  // "UserDir disabled root ..."
  std::set<std::string> enabled;   // "UserDir enabled alice ..."
  bool allows(const std::string& user) const {
    if (dirs.empty()) return false;
    if (all_disabled) return enabled.count(user) > 0;
    return disabled.count(user) == 0;
  }
};

struct CgiSettings {
  // SetHandler cgi-script (true) or None / default-handler (false) in this
  // section; unset: inherited.
  std::optional<bool> handler;
  // AddHandler cgi-script .EXT in a <Directory> (".ext" lower-case ->
  // handler name; the vhost's own are VirtualHost::add_handlers).
  std::map<std::string, std::string> add_handlers;
  RLimits rlimits;
  // Per vhost (server and <VirtualHost>):
  bool runs_scripts = false;  // some section has a cgi-script handler (SetHandler, AddHandler): requests look for scripts
  std::string suexec_user, suexec_group;  // SuexecUserGroup (as written; "#N" numeric)
  std::chrono::milliseconds script_timeout{0};  // CGIDScriptTimeout; 0: Timeout
  UserDirConfig userdir;
};

}  // namespace pillar::config

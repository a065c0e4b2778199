// The CGI directive table: mod_cgid (CGIDScriptTimeout, ScriptSock),
// mod_suexec (SuexecUserGroup), mod_userdir (UserDir) and core's RLimitCPU,
// RLimitMEM, RLimitNPROC; SetHandler cgi-script comes through content.cpp.
// Values land in CgiSettings (config/cgi_model.h). Listed in
// directives/registry.cpp; docs/cgi.md documents each directive.
#include <grp.h>
#include <pwd.h>

#include <cstdlib>

#include "config/directives/tables.h"
#include "http/request.h"

namespace pillar::config {
namespace {

CgiSettings& scope_cgi(Scope& s) {
  if (s.files) return s.files->cgi;
  if (s.loc) return s.loc->cgi;
  if (s.dir) return s.dir->cgi;
  return s.vhost.cgi;
}

void d_script_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  Millis t;
  std::string why;
  if (!parse_duration(n.args[0], t, why) || t.count() <= 0)
    return out.error(n, "CGIDScriptTimeout " + n.args[0] + ": " + (why.empty() ? "must be above zero" : why));
  s.vhost.cgi.script_timeout = t;
}

void d_script_sock(DirectiveSink& out, const ConfigNode& n, Scope&) {
  out.notice(n, "ScriptSock ignored: Pillar's CGI launcher listens on a socket of its own (docs/cgi.md)");
}

// "name" or "#N" into an id; false when no such account exists.
bool user_id(const std::string& name, uid_t& uid) {
  if (!name.empty() && name[0] == '#') {
    char* end = nullptr;
    long v = std::strtol(name.c_str() + 1, &end, 10);
    if (!end || *end || v < 0) return false;
    passwd* pw = getpwuid(static_cast<uid_t>(v));
    if (!pw) return false;
    uid = pw->pw_uid;
    return true;
  }
  passwd* pw = getpwnam(name.c_str());
  if (!pw) return false;
  uid = pw->pw_uid;
  return true;
}

bool group_id(const std::string& name, gid_t& gid) {
  if (!name.empty() && name[0] == '#') {
    char* end = nullptr;
    long v = std::strtol(name.c_str() + 1, &end, 10);
    if (!end || *end || v < 0) return false;
    group* gr = getgrgid(static_cast<gid_t>(v));
    if (!gr) return false;
    gid = gr->gr_gid;
    return true;
  }
  group* gr = getgrnam(name.c_str());
  if (!gr) return false;
  gid = gr->gr_gid;
  return true;
}

// Refused at load what suexec would refuse for every script of the vhost.
void d_suexec_user_group(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uid_t uid = 0;
  gid_t gid = 0;
  if (!user_id(n.args[0], uid))
    return out.error(n, "SuexecUserGroup: user " + n.args[0] + " does not exist; create it or name an existing one");
  if (!group_id(n.args[1], gid))
    return out.error(n, "SuexecUserGroup: group " + n.args[1] + " does not exist; create it or name an existing one");
  if (uid == 0 || gid == 0)
    return out.error(n, "SuexecUserGroup " + n.args[0] + " " + n.args[1] + ": suexec never runs scripts as root");
  if (uid < kSuexecMinUid || gid < kSuexecMinGid)
    return out.error(n, "SuexecUserGroup " + n.args[0] + " " + n.args[1] + ": suexec runs scripts only as a uid and gid of at least " +
                            std::to_string(kSuexecMinUid) + " (not system accounts)");
  s.vhost.cgi.suexec_user = n.args[0];
  s.vhost.cgi.suexec_group = n.args[1];
}

// UserDir DIR... | disabled [USER...] | enabled USER...
void d_user_dir(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  UserDirConfig& u = s.vhost.cgi.userdir;
  std::string first = core::lowercase(n.args[0]);
  if (first == "disabled" || first == "enabled") {
    if (n.args.size() == 1) {
      if (first == "enabled") return out.error(n, "UserDir enabled needs user names, e.g. UserDir enabled alice bob");
      u.all_disabled = true;
      u.enabled.clear();
      return;
    }
    for (size_t i = 1; i < n.args.size(); ++i) {
      if (first == "disabled") {
        u.disabled.insert(n.args[i]);
        u.enabled.erase(n.args[i]);
      } else {
        u.enabled.insert(n.args[i]);
        u.disabled.erase(n.args[i]);
      }
    }
    return;
  }
  u.dirs.clear();
  for (const auto& a : n.args) {
    if (a.find("://") != std::string::npos)
      return out.error(n, "UserDir " + a + ": redirecting to a URL is not supported; give a directory such as public_html");
    if (a.empty() || a.find("..") != std::string::npos)
      return out.error(n, "UserDir " + a + ": give a directory such as public_html or /home/*/www");
    if (a[0] != '/' && a.find('*') != std::string::npos)
      return out.error(n, "UserDir " + a + ": a * stands for the user only in an absolute path (/home/*/www)");
    std::string d = a;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    u.dirs.push_back(std::move(d));
  }
}

// SOFT [HARD]: numbers (Parse) or "max".
template <bool Size>
bool rlimit_number(std::string_view a, uint64_t& v, std::string& why) {
  if (http::iequals(a, "max")) {
    v = RLimitValue::kMax;
    return true;
  }
  if constexpr (Size) return parse_size(a, v, why);
  return parse_uint(a, 0, UINT32_MAX, v, why);
}

template <RLimitValue RLimits::*Field, bool Size>
void d_rlimit(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  RLimitValue v;
  std::string why;
  uint64_t x = 0;
  if (!rlimit_number<Size>(n.args[0], x, why))
    return out.error(n, n.name + " " + n.args[0] + ": " + why + " (or max); syntax: " + n.name + " SOFT|max [HARD|max]");
  v.soft = x;
  if (n.args.size() > 1) {
    if (!rlimit_number<Size>(n.args[1], x, why))
      return out.error(n, n.name + " " + n.args[1] + ": " + why + " (or max); syntax: " + n.name + " SOFT|max [HARD|max]");
    if (v.soft != RLimitValue::kMax && x != RLimitValue::kMax && v.soft > x)
      return out.error(n, n.name + ": the soft limit " + n.args[0] + " is above the hard limit " + n.args[1]);
    if (v.soft == RLimitValue::kMax && x != RLimitValue::kMax)
      return out.error(n, n.name + ": the soft limit max is above the hard limit " + n.args[1]);
    v.hard = x;
  }
  v.set = true;
  scope_cgi(s).rlimits.*Field = v;
}

constexpr DirectiveSpec kTable[] = {
    {"CGIDScriptTimeout", 1, 1, kSV, false, d_script_timeout, "CGIDScriptTimeout SECONDS"},
    {"ScriptSock", 1, 1, kServer, false, d_script_sock, "ScriptSock PATH"},
    {"SuexecUserGroup", 2, 2, kSV, false, d_suexec_user_group, "SuexecUserGroup USER GROUP"},
    {"UserDir", 1, -1, kSV, false, d_user_dir, "UserDir DIRECTORY... | disabled [USER...] | enabled USER..."},
    {"RLimitCPU", 1, 2, kSV | kPerDir, false, d_rlimit<&RLimits::cpu, false>, "RLimitCPU SECONDS|max [SECONDS|max]"},
    {"RLimitMEM", 1, 2, kSV | kPerDir, false, d_rlimit<&RLimits::mem, true>, "RLimitMEM BYTES|max [BYTES|max]"},
    {"RLimitNPROC", 1, 2, kSV | kPerDir, false, d_rlimit<&RLimits::nproc, false>, "RLimitNPROC NUMBER|max [NUMBER|max]"},
};

}  // namespace

std::span<const DirectiveSpec> cgi_directives() { return kTable; }

void cgi_set_handler(Scope& s) {
  scope_cgi(s).handler = true;
  s.vhost.cgi.runs_scripts = true;
  if (s.files) {  // replaces a FastCGI handler of the same section
    s.files->fcgi.reset();
    s.files->handler_none = false;
  }
  if (s.loc && s.loc->handler != HandlerKind::Proxy) {  // ProxyPass keeps the location (Apache translates first)
    s.loc->handler = HandlerKind::Default;
    s.loc->fcgi.reset();
  }
}

}  // namespace pillar::config

// The authentication directive table: mod_auth_basic (AuthType Basic,
// AuthName, AuthBasicProvider), mod_authn_file (AuthUserFile) and
// mod_authz_groupfile (AuthGroupFile); Require's user rules are in
// access.cpp. Per directory (Directory, Files, Location), as in Apache. The
// files are read at request time (src/auth, re-read when they change), so
// a missing one is a notice here and a 500 for the request, as in Apache.
// Listed in directives/registry.cpp; docs/auth.md documents each directive.
#include <sys/stat.h>

#include "config/directives/tables.h"
#include "http/request.h"

namespace pillar::config {
namespace {

AuthConfig& scope_auth(Scope& s) {
  s.vhost.auth_anywhere = true;
  if (s.files) return s.files->auth;
  if (s.loc) return s.loc->auth;
  return s.dir->auth;  // the table allows these only in per-directory sections
}

void d_auth_type(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  const std::string& t = n.args[0];
  if (http::iequals(t, "Basic")) {
    scope_auth(s).type = "Basic";
  } else if (http::iequals(t, "None")) {
    scope_auth(s).type = "";
  } else if (http::iequals(t, "Digest") || http::iequals(t, "Form")) {
    out.error(n, "AuthType " + t + " is not supported (mod_auth_" + core::lowercase(t) +
                     "); use AuthType Basic, over TLS so the password is not sent in the clear");
  } else {
    out.error(n, "AuthType " + t + " is unknown; use AuthType Basic (or None)");
  }
}

void d_auth_name(DirectiveSink&, const ConfigNode& n, Scope& s) { scope_auth(s).name = n.args[0]; }

void d_basic_provider(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& p : n.args) {
    if (!http::iequals(p, "file"))
      return out.error(n, "AuthBasicProvider " + p + " is not supported; Pillar has the file provider "
                              "(mod_authn_file): AuthBasicProvider file with AuthUserFile");
  }
  scope_auth(s);
}

// A file read at request time: resolved against ServerRoot; a notice now
// when it is missing (Apache starts too, and answers 500 there).
void file_setting(DirectiveSink& out, const ConfigNode& n, Scope& s, std::optional<std::string>& field,
                  SourceLocation& where) {
  field = fs_path(s, n.args[0]);
  where = {n.file, n.line};
  struct stat st {};
  if (::stat(field->c_str(), &st) != 0)
    out.notice(n, n.name + " " + *field + " does not exist: requests that need it will be answered 500 until it does");
}

void d_user_file(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  AuthConfig& a = scope_auth(s);
  file_setting(out, n, s, a.user_file, a.user_file_where);
}

void d_group_file(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  AuthConfig& a = scope_auth(s);
  file_setting(out, n, s, a.group_file, a.group_file_where);
}

constexpr DirectiveSpec kTable[] = {
    {"AuthType", 1, 1, kPerDir, false, d_auth_type, "AuthType Basic|None", kOrAuthConfig},
    {"AuthName", 1, 1, kPerDir, false, d_auth_name, "AuthName \"REALM\"", kOrAuthConfig},
    {"AuthBasicProvider", 1, -1, kPerDir, false, d_basic_provider, "AuthBasicProvider file", kOrAuthConfig},
    {"AuthUserFile", 1, 1, kPerDir, false, d_user_file, "AuthUserFile PATH", kOrAuthConfig},
    {"AuthGroupFile", 1, 1, kPerDir, false, d_group_file, "AuthGroupFile PATH", kOrAuthConfig},
};

}  // namespace

std::span<const DirectiveSpec> auth_directives() { return kTable; }

}  // namespace pillar::config

// What URL mapping (mod_rewrite, mod_alias, FallbackResource) decided for
// one request, kept in the Request: the filename when something other than
// DocumentRoot + path names it, the rewritten path and query the head's
// views point at after an internal redirect, the [P] target. E= writes the
// request's environment (Request::env). Reset by the rewrite phase at the
// start of each request.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pillar::server {

struct Site;

struct RewriteState {
  std::string filename;       // mapped by Alias or a server-context rule; empty: DocumentRoot + path
  std::string target_path;    // storage for head.path after an internal redirect (encoded)
  std::string target_query;   // storage for head.query when a rule changed it
  std::string proxy_target;   // [P]: the member's path and query
  std::string forced_type;    // T=
  std::vector<std::string> set_cookies;                   // CO=
  std::vector<std::string> vary;                          // request headers rules' conditions read (Vary)
  bool script = false;        // ScriptAlias: the CGI handler's
  std::string userdir_user;   // UserDir mapped /~USER: the user (suexec runs its scripts as them)
  std::string userdir_base;   // and the user's directory it mapped to
  bool end = false;           // [END]: no more rewriting
  int redirects = 0;          // internal redirects so far (bounded as LimitInternalRecursion)
  std::string handler;        // RewriteRule [H=handler]: the handler that answers (empty: the configured one)
  // The per-directory Site the .htaccess files made (Request::site points
  // at it after the walk); held so that it outlives the request even when
  // the thread's cache lets it go (server/htaccess.h).
  std::shared_ptr<const Site> dir_site;
  // The Site that merges the request's true <If> sections (server/if_sections.h), held likewise.
  std::shared_ptr<const Site> if_site;

  void reset() {
    filename.clear();
    proxy_target.clear();
    forced_type.clear();
    set_cookies.clear();
    vary.clear();
    userdir_user.clear();
    userdir_base.clear();
    script = end = false;
    redirects = 0;
    handler.clear();
    dir_site.reset();
    if_site.reset();
  }
};

}  // namespace pillar::server

// Which requests FastCGI answers, and which it refuses so that a script's
// source is never sent (ScriptSourceGuard).
//
// The file is found as Apache's core finds it: DocumentRoot + the decoded
// path, walked segment by segment to the first regular file; what follows
// is PATH_INFO (Apache's AcceptPathInfo Default for handlers); a directory
// with a trailing slash takes the first DirectoryIndex entry that exists.
// A <Files>/<FilesMatch> section matching the file's basename with
// SetHandler "proxy:..." runs it (the last matching section wins, vhost
// sections first, then those of the <Directory> sections holding the file,
// shortest first; SetHandler None takes it back). A <Location> with
// SetHandler "proxy:..." runs whatever file its path maps to; ProxyPass and
// ProxyPassMatch to fcgi:// build the script path from their template.
//
// Not run by FastCGI and served by the static handler instead, a file with
// a script extension is refused (403, logged) unless ScriptSourceGuard Off
// applies (its <Location>, else the vhost).
//
// The walk stats a few paths on the loop's thread, as the static handler
// does; it runs only when a path segment can match (an extension or a
// FastCGI <Files> pattern), so static requests cost one scan of the path.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace pillar::server {

struct Site;
struct LocationRoute;

struct FastcgiRoute {
  enum class Kind : uint8_t {
    None,       // not FastCGI's, and nothing to refuse
    Run,        // the FastCGI exchange answers
    Forbidden,  // a <Directory>/<Files> Require refuses the script (403)
    Refuse,     // a script nobody runs: its source is not sent (403, ScriptSourceGuard)
  } kind = Kind::None;
  const config::FcgiBackend* backend = nullptr;
  config::FcgiBackendType backend_type = config::FcgiBackendType::Fpm;
  bool pass_auth = false;  // CGIPassAuth
  std::vector<config::FcgiSetEnv> set_env;  // PHP_VALUE/PHP_ADMIN_VALUE, then the vhost's, the location's, the <Files>'
  std::string script_filename;  // the file, or ProxyPass(Match)'s script path
  std::string script_name;      // URL path of the script
  std::string path_info;        // decoded; empty: none
  std::string fcgi_prefix;      // "proxy:fcgi://AUTHORITY" (the FPM form of SCRIPT_FILENAME)
  std::vector<config::PhpSetting> php;  // php_value & co. merged (vhost, location, <Directory>/.htaccess, <Files>)
};

// `path`: the decoded, normalized request path; `who`: the client (and
// the user Basic authentication found) for the script's Require;
// `rewrite_handler`: RewriteRule [H=...] ("" none).
FastcgiRoute route_fastcgi(const Site& site, const LocationRoute* route, const std::string& path,
                           const config::AccessSubject& who, std::string_view rewrite_handler = {});
// The vhost's FastCGI application configured (in httpd.conf) with this URL
// ("unix:/run/php.sock|fcgi://localhost"), or null.
const config::FcgiBackend* configured_backend(const config::VirtualHost& vh, std::string_view url);

// Whether a file name ends with one of `exts` (lower-case, with the dot), case-insensitively.
bool has_script_extension(std::string_view name, const std::vector<std::string>& exts);

}  // namespace pillar::server

// Which requests a CGI script answers (mod_cgid's handler, "cgi-script"),
// and with which settings. A request runs a script when:
//   - ScriptAlias / ScriptAliasMatch mapped it (no Options ExecCGI needed);
//   - or its file has the cgi-script handler: SetHandler cgi-script in its
//     <Location> (which wins, merged last as in Apache), else in the last
//     matching <Files>/<FilesMatch>, else in the deepest <Directory> holding
//     it; else AddHandler cgi-script .EXT for an extension of its name (the
//     deepest <Directory>'s AddHandler, then the vhost's; as mod_mime, any
//     extension after the first dot counts: "a.cgi.txt" is a script) -- and
//     Options ExecCGI is on where the file is (403 otherwise, logged).
// The file is found as Apache's core does: the mapped filename (Alias,
// UserDir or DocumentRoot + path) walked to its first component that is not
// a directory; a regular file there is the script and what follows is
// PATH_INFO. A ScriptAlias'ed path with no such file is 404, a directory
// 403 (both logged); without suexec, a file the server cannot execute is 403
// ("file permissions deny server execution", as Apache).
//
// The identity: the /~user/ of a UserDir path runs as that user, else the
// vhost's SuexecUserGroup, else the workers' User/Group. RLimit* merge per
// limit: vhost, <Directory> sections (shortest first), <Files>, <Location>.
//
// Like the FastCGI route it stats on the loop's thread, and only for paths
// that can be scripts (a vhost with no CGI configuration pays nothing).
#pragma once
#include <chrono>
#include <string>

#include "config/model.h"
#include "server/cgi_launch.h"
#include "server/request/request.h"

namespace pillar::server {

struct CgiRoute {
  enum class Kind : uint8_t {
    None,    // not CGI's
    Run,     // the CGI exchange answers
    Refuse,  // answered `status` (403, 404, 500) and logged with `why`
  } kind = Kind::None;
  int status = 0;
  std::string why;
  std::string script_filename;  // the file
  std::string script_name;      // its URL path
  std::string path_info;        // decoded; empty: none
  LaunchRequest::Identity identity = LaunchRequest::Identity::Server;
  std::string user, group, root;  // for suexec (cgi_launch.h)
  config::RLimits limits;
  std::chrono::milliseconds timeout{0};  // CGIDScriptTimeout (Timeout by default)
};

CgiRoute route_cgi(const Request& req, std::chrono::milliseconds server_timeout);

}  // namespace pillar::server

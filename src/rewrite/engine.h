// The rewrite engine: runs a RuleSet against one request through an
// abstract Context (variables, headers, environment, file tests), so it is
// tested without sockets. It follows mod_rewrite's apply_rewrite_list and
// its two hooks:
//  - server context (translate_name): the pattern sees the URL-path; a
//    result is a filename (its first component exists on disk, or the
//    DocumentRoot is prepended), a URL-path with [PT], a redirect, a proxy
//    target, or a status (F, G, R=4xx/5xx);
//  - per-directory (fixup): the pattern sees the filename with the
//    directory's prefix removed; a relative result gets the prefix back,
//    then RewriteBase (or the DocumentRoot, stripped) makes it a URL-path
//    and the request is internally redirected to it; the caller re-runs
//    its routing (bounded, like LimitInternalRecursion).
// A regex that hits core::Regex's match limit ends the run with Error (500).
#pragma once
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "rewrite/rules.h"

namespace pillar::rewrite {

struct FileInfo {
  bool exists = false, directory = false, regular = false, symlink = false, executable = false;
  uint64_t size = 0;
};

class Context {
 public:
  virtual ~Context() = default;
  // A server variable by its mod_rewrite name (REQUEST_URI, QUERY_STRING,
  // HTTPS, REMOTE_ADDR, SERVER_NAME, THE_REQUEST, TIME_HOUR...); "" when unknown.
  // HTTP_*, HTTP:name and ENV:name are resolved by the engine through header() and env().
  virtual std::string variable(std::string_view name) = 0;
  virtual std::string_view header(std::string_view name) = 0;  // "" when absent
  virtual std::string env(std::string_view name) = 0;
  virtual void set_env(std::string_view name, std::string_view value) = 0;
  virtual void unset_env(std::string_view name) = 0;
  virtual FileInfo file_info(const std::string& path) = 0;   // lstat + stat
  virtual std::string url_to_file(std::string_view url_path) = 0;  // -U: where the URL maps
  virtual void trace(std::string_view line) { (void)line; }  // rewrite:trace (when enabled)
  int trace_level = 0;
};

// The standard variables that need only the clock: TIME, TIME_YEAR...
// ("" for other names, `known` false).
std::string time_variable(std::string_view name, time_t now, bool& known);

struct Input {
  std::string_view path;         // server: the decoded URL-path; per-directory: the filename (the walk's: up to
                                 // the file found or the first missing component, as Apache's r->filename)
  std::string_view path_info;    // per-directory: the rest of the path after `path` (Apache's r->path_info); each
                                 // rule's pattern sees path + path_info, until a rule with [DPI] matched
  std::string_view query;        // the query string as received (encoded)
  std::string_view document_root;
  std::string_view server_url;   // "http://host[:port]" for redirects
  bool subrequest = false;       // NS rules are skipped in subrequests
};

struct Outcome {
  enum class Action : uint8_t {
    None,      // nothing rewritten (flags such as E=, T= may still have applied)
    Filename,  // server context: serve this filename (`filename`)
    Uri,       // server context with [PT], or per-directory: route this URL-path again (`uri`)
    Redirect,  // answer `status` with Location `location`
    Status,    // answer `status` (F: 403, G: 410, R=4xx)
    Proxy,     // [P]: hand `proxy_url` (absolute, query included) to the proxy
    Error,     // a regex hit the match limit: 500
  };
  Action action = Action::None;
  std::string filename, uri;
  std::string query;             // the new query (encoded), when query_set
  bool query_set = false;
  int status = 0;
  std::string location;
  std::string proxy_url;
  bool end = false;              // [END]: no more rewriting for this request
  std::string type, handler;     // T=, H=
  std::vector<std::string> set_cookies;  // CO=, as Set-Cookie values
  // Request headers that conditions of the rules that applied read and that
  // held (%{HTTP_USER_AGENT}, %{HTTP:X}; not with [NV]): the response
  // varies on them, as mod_rewrite merges them into Vary.
  std::vector<std::string> vary;
  std::string error;             // Action::Error: which rule
};

// Runs `set` in server context (set.directory empty) or per-directory.
Outcome run(const RuleSet& set, Context& ctx, const Input& in);

// Percent-encodes what is not allowed in a URL path (Apache's ap_escape_uri).
std::string escape_uri(std::string_view s);

}  // namespace pillar::rewrite

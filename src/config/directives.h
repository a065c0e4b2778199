// The directive tables: every directive Pillar accepts, where it may appear,
// how many arguments it takes, and the function that validates them into the
// typed model. The loader walks the section tree and dispatches through them.
// Each module keeps its own table in directives/<module>.cpp (core, mpm, log,
// access, content, proxy, cache, vrrp, remoteip, ssl), as nginx keeps a module's
// directives in its file; directives/registry.cpp lists the tables.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/model.h"
#include "config/section_tree.h"

namespace pillar::config {

enum Context : uint8_t {
  kServer = 1,     // top level
  kVHost = 2,      // <VirtualHost>
  kDirectory = 4,  // <Directory>
  kFiles = 8,      // <Files>, <FilesMatch>
  kLocation = 16,  // <Location>
  kVrrp = 32,      // <Vrrp NAME>
  kProxy = 64,     // <Proxy balancer://NAME>
};

// Apache's override classes (OR_AUTHCFG, OR_FILEINFO...): the category a
// directive belongs to for AllowOverride, as the Apache manual's
// "Override:" line gives it. kOrNone: never in .htaccess; kOrAll: in any
// .htaccess that overrides are enabled for (the manual's "Override: All").
enum Override : uint8_t {
  kOrNone = 0,
  kOrAuthConfig = 1,
  kOrFileInfo = 2,
  kOrIndexes = 4,
  kOrLimit = 8,
  kOrOptions = 16,
  kOrAll = 31,
};

// Reading an .htaccess file (Scope::htaccess): what its directory's
// AllowOverride and AllowOverrideList let it hold.
struct HtaccessPermissions {
  AllowOverride allow;            // categories 0: only the list
  std::vector<std::string> list;  // AllowOverrideList
  SourceLocation list_where;
};

// Where a directive is being applied.
struct Scope {
  ServerConfig& server;
  VirtualHost& vhost;              // main_server at top level
  DirectorySection* dir = nullptr;
  FilesSection* files = nullptr;
  LocationSection* loc = nullptr;
  Context ctx = kServer;
  VrrpInstance* vrrp = nullptr;
  BalancerConfig* balancer = nullptr;
  // Inside <RequireAll>/<RequireAny>/<RequireNone>: Require lines go into
  // this container's children (only Require lines and containers may appear).
  std::vector<RequireRule>* require_into = nullptr;
  bool require_all = false;          // the container is an AND (<RequireAll>)
  bool custom_logs_replaced = false;  // first CustomLog in a vhost drops the inherited ones
  bool ssl_certs_replaced = false;    // first SSLCertificateFile (or KeyFile) in a vhost drops the inherited ones
  const HtaccessPermissions* htaccess = nullptr;  // set: an .htaccess file (dir is its section, vhost a copy)
  // Inside an <If>/<ElseIf>/<Else> body (dir is a scratch section when the
  // configuration is read, the request's copy when server/if_sections.cpp
  // merges it): only per-directory directives, and nested <If> sections go
  // into `if_into`.
  bool in_if = false;
  std::vector<IfSection>* if_into = nullptr;
};

struct DirectiveSink {
  std::vector<ConfigError> errors;
  std::vector<std::string> notices;
  void error(const ConfigNode& n, std::string msg) { errors.push_back({n.file, n.line, std::move(msg)}); }
  void notice(const ConfigNode& n, std::string msg) {
    notices.push_back(n.file + ":" + std::to_string(n.line) + ": " + std::move(msg));
  }
};

using DirectiveFn = void (*)(DirectiveSink&, const ConfigNode&, Scope&);

struct DirectiveSpec {
  std::string_view name;
  int min_args;
  int max_args;         // -1: unlimited
  uint8_t contexts;     // Context bits where it is accepted
  bool server_wide;     // Apache allows it per vhost; Pillar applies it server-wide
  DirectiveFn apply;
  std::string_view syntax;  // for messages: "Timeout SECONDS"
  // The AllowOverride category (kOr*) that lets it into .htaccess; kOrNone:
  // not there. Adding a directive to .htaccess is declaring this.
  uint8_t overrides = kOrNone;
};

// One module's table. A name appears in one table only (a unit test checks).
struct DirectiveTable {
  std::string_view module;  // "core", "proxy", ... (the file under directives/)
  std::span<const DirectiveSpec> specs;
};
std::span<const DirectiveTable> directive_tables();

// The directive called `name` (case-insensitive), or nullptr.
const DirectiveSpec* find_directive(std::string_view name);

// "http://host[:port][/path]" -> member host, port, resolved address and the
// path (empty when none). False with `why` for other schemes or names that
// do not resolve.
bool parse_member_url(std::string_view url, BalancerMemberConfig& m, std::string& path, std::string& why);
// Key=value parameters of BalancerMember (member) or ProxySet/ProxyPass (balancer).
bool apply_member_param(std::string_view kv, BalancerMemberConfig& m, std::string& why);
bool apply_balancer_param(std::string_view kv, BalancerConfig& b, std::string& why);
std::string context_name(Context c);
// After the whole file (directives/ratelimit.cpp): each PillarRateLimit
// names a defined zone; the errors name its line.
void resolve_rate_limits(ServerConfig& sc, DirectiveSink& out);

// The AccessPolicy of the section a Scope points at (Directory, Files or Location).
AccessPolicy* scope_access(Scope& s);

}  // namespace pillar::config

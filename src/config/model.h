// The validated, typed configuration. Built once by load_config() from
// httpd.conf text; read-only afterwards. Everything the request path needs is
// already parsed here (addresses, CIDRs, durations, enums), so no directive is
// looked up by name while serving.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "config/metadata.h"
#include "config/cgi_model.h"
#include "core/regex.h"

namespace pillar::config {

using Millis = std::chrono::milliseconds;

// Where a directive came from, for messages.
struct SourceLocation {
  std::string file;
  int line = 0;
};

// ---- addresses -------------------------------------------------------------

struct ListenAddress {
  std::string text;          // as written, e.g. "127.0.0.1:0", "[::1]:80", "8080"
  sockaddr_storage addr{};   // resolved; port may be 0 (ephemeral)
  socklen_t addr_len = 0;
  bool any_address = false;  // "8080" / "*:8080" / "0.0.0.0": all IPv4 (and IPv6) addresses
  uint16_t port = 0;
  bool https = false;        // Listen's protocol: https (written, or port 443 as Apache) terminates TLS
  SourceLocation where;      // the Listen line (a <VirtualHost> address: unset)
};

// One IPv4 or IPv6 network (an address with a prefix length).
struct IpNetwork {
  int family = AF_INET;        // AF_INET or AF_INET6
  uint8_t bytes[16]{};         // network address, network byte order
  uint8_t prefix = 32;         // bits
  bool contains(const sockaddr_storage& client) const;  // IPv4-mapped IPv6 clients match IPv4 nets
};

// ---- access control (mod_authz_core + mod_access_compat) -------------------

// Who asks: the client's address and, once Basic authentication has run
// (server/request/authorization.cpp), the user and the groups it is in.
struct AccessSubject {
  // Implicit from an address: a client no one has authenticated.
  AccessSubject(const sockaddr_storage& c, const std::string* u = nullptr, const std::vector<std::string>* g = nullptr)
      : client(c), user(u), groups(g) {}
  const sockaddr_storage& client;
  const std::string* user;                 // null: no authenticated user (yet)
  const std::vector<std::string>* groups;  // the user's groups (AuthGroupFile); may be null
};

// mod_authz_core's results: DeniedNoUser means a rule needs a user to
// decide (Require valid-user/user/group before authentication).
enum class AuthzResult : uint8_t { Granted, Denied, DeniedNoUser, Neutral };

struct RequireRule {
  enum class Kind : uint8_t {
    AllGranted, AllDenied, Ip, NotIp, Local,  // mod_authz_core, mod_authz_host
    ValidUser, User, Group,                   // mod_authz_user, mod_authz_groupfile
    All, Any, None,                           // <RequireAll>, <RequireAny>, <RequireNone>
  };
  Kind kind = Kind::AllGranted;
  std::vector<IpNetwork> networks;  // Ip / NotIp
  std::vector<std::string> names;   // User / Group
  bool negate = false;              // Require not user|group|valid-user|ip (ip inside a container; NotIp at top)
  std::vector<RequireRule> children;  // All / Any / None
  AuthzResult evaluate(const AccessSubject& who) const;
  bool needs_user() const;          // a user rule here or below
};

struct AccessPolicy {
  // Require lines of one section; Apache's implicit <RequireAny>: granted if
  // any rule grants. "Require not ip" lines veto (as inside <RequireAll>).
  std::vector<RequireRule> require;
  // Legacy Order/Allow/Deny (mod_access_compat), used when `legacy` is set.
  bool legacy = false;
  enum class Order : uint8_t { DenyAllow, AllowDeny, MutualFailure } order = Order::DenyAllow;
  bool allow_all = false, deny_all = false;
  std::vector<IpNetwork> allow, deny;

  bool empty() const { return require.empty() && !legacy; }
  // Both parts, when present, must grant (Apache's Satisfy All).
  bool allows(const AccessSubject& who) const { return evaluate(who) == AuthzResult::Granted; }
  // Granted, Denied, or DeniedNoUser (authentication would decide).
  AuthzResult evaluate(const AccessSubject& who) const;
  bool needs_user() const;
};

// mod_auth_basic, mod_authn_file, mod_authz_groupfile: what one section says
// (Directory, Files, Location); a request takes the innermost of each.
struct AuthConfig {
  std::optional<std::string> type;        // AuthType: "Basic"; "" for None
  std::optional<std::string> name;        // AuthName: the realm
  std::optional<std::string> user_file;   // AuthUserFile (absolute: resolved against ServerRoot)
  std::optional<std::string> group_file;  // AuthGroupFile
  SourceLocation user_file_where, group_file_where;
  bool empty() const { return !type && !name && !user_file && !group_file; }
};

// ---- output filters (mod_filter, mod_mime, core) and mod_deflate -----------

// What one section (or the server/vhost level) says about the DEFLATE
// filter, the one output filter Pillar has. A request merges every section
// that covers it (request/compression.cpp): the types add up, the innermost
// SetOutputFilter wins, and each extension's innermost mapping wins.
// Where one output filter (DEFLATE, BROTLI_COMPRESS or RATE_LIMIT) is put on responses.
struct FilterSelection {
  std::vector<std::string> types;  // AddOutputFilterByType FILTER TYPE...: media types, lower-case, no parameters
  std::optional<bool> set;         // SetOutputFilter: whether the filter is in the list (unset: not written here)
  // AddOutputFilter FILTER .EXT (true) and RemoveOutputFilter .EXT (false),
  // in file order: ".ext" lower-case.
  std::vector<std::pair<std::string, bool>> extensions;
  bool empty() const { return types.empty() && !set && extensions.empty(); }
};

struct OutputFilters {
  FilterSelection deflate;     // mod_deflate's DEFLATE (gzip)
  FilterSelection brotli;      // mod_brotli's BROTLI_COMPRESS
  FilterSelection rate_limit;  // mod_ratelimit's RATE_LIMIT (the rate is the rate-limit variable's)
  bool empty() const { return deflate.empty() && brotli.empty() && rate_limit.empty(); }
};

// mod_deflate's settings (server and vhost; Apache's defaults).
struct DeflateSettings {
  enum class AlterETag : uint8_t { AddSuffix, NoChange, Remove };
  int level = 6;                 // DeflateCompressionLevel 1-9 (zlib's default, as Apache's Z_DEFAULT_COMPRESSION)
  int mem_level = 9;             // DeflateMemLevel 1-9
  int window_bits = 15;          // DeflateWindowSize 1-15 (zlib takes 9-15: smaller ones use 9)
  uint32_t buffer_size = 8096;   // DeflateBufferSize: bytes compressed and passed on at a time
  AlterETag alter_etag = AlterETag::AddSuffix;  // DeflateAlterETag: "-gzip" inside the quotes
};

// mod_brotli's settings (server and vhost; Apache's defaults).
struct BrotliSettings {
  int quality = 5;               // BrotliCompressionQuality 0-11
  int window = 18;               // BrotliCompressionWindow 10-24
  int max_input_block = 0;       // BrotliCompressionMaxInputBlock 16-24 (0: the library's choice)
  DeflateSettings::AlterETag alter_etag = DeflateSettings::AlterETag::AddSuffix;  // BrotliAlterETag: "-br"
};

// ---- <If>, <ElseIf>, <Else> (core) -----------------------------------------

class Expr;
struct ConfigNode;

// One <If>/<ElseIf>/<Else> section, kept where it was written (the
// server/vhost, a <Directory>, <Files>, <Location> or an .htaccess file's
// section, or the body of another <If>). Its condition is compiled and its
// directives checked when the configuration is read; the request path
// (server/if_sections.h) picks the true ones of a request's sections and
// serves it with a copy of the vhost in which their bodies are merged last,
// as Apache merges If sections after every other section.
struct IfSection {
  enum class Kind : uint8_t { If, ElseIf, Else };
  Kind kind = Kind::If;
  std::shared_ptr<const Expr> cond;                    // null for <Else>
  std::shared_ptr<const std::vector<ConfigNode>> body;  // its directives, without the nested <If> sections
  std::vector<IfSection> nested;                       // <If> sections inside this one, in order
  SourceLocation where;
};

// ---- per-path sections -----------------------------------------------------

// Options as written in one section: absolute ("Options Indexes") replaces
// what is inherited, relative ("+Indexes -FollowSymLinks") edits it.
struct Options {
  enum Bit : uint8_t { Indexes = 1, FollowSymLinks = 2, ExecCGI = 4, Includes = 8, MultiViews = 16, SymLinksIfOwnerMatch = 32 };
  bool present = false;   // an Options directive appeared in this section
  bool replace = false;   // absolute form
  uint8_t add = 0, remove = 0;
  uint8_t apply(uint8_t inherited) const {
    if (!present) return inherited;
    return static_cast<uint8_t>(((replace ? 0 : inherited) | add) & ~remove);
  }
};
constexpr uint8_t kDefaultOptions = Options::FollowSymLinks;  // Apache 2.4's default

// ---- FastCGI (mod_proxy_fcgi) ------------------------------------------------

enum class FcgiBackendType : uint8_t { Fpm, Generic };  // ProxyFCGIBackendType

// ProxyFCGISetEnvIf CONDITION [!]NAME [VALUE]: the condition is "true" or
// "false" (the simple form of ap_expr); VALUE may use %{reqenv:NAME}.
struct FcgiSetEnv {
  bool condition = true;
  bool unset = false;  // "!NAME"
  std::string name, value;
};

// A FastCGI application: "unix:/run/php/php8.2-fpm.sock|fcgi://localhost"
// or "fcgi://127.0.0.1:9000" (SetHandler "proxy:..." or ProxyPassMatch).
struct FcgiBackend {
  std::string url;                 // as written, without "proxy:"
  std::string authority;           // the fcgi:// part's host[:port] ("localhost", "127.0.0.1:9000")
  sockaddr_storage addr{};         // sockaddr_un for a unix socket
  socklen_t addr_len = 0;
  bool unix_socket = false;
  std::string socket_path;         // unix socket
  std::string path;                // ProxyPassMatch: the script path, $N from the regex ("/var/www/$1"); else empty
  // "balancer://NAME": a pool of fcgi:// BalancerMembers (the address is
  // the chosen member's); `balancer` indexes ServerConfig::balancers once
  // the whole configuration is read.
  std::string balancer_name;
  int balancer = -1;
  SourceLocation where;            // the directive that named it
};

// What a section says about FastCGI requests it covers; the innermost
// section that sets a value wins (Files over Location over the vhost).
// php_value / php_flag (admin: php_admin_value / php_admin_flag), mod_php's
// directives, sent to PHP-FPM as the PHP_VALUE / PHP_ADMIN_VALUE parameters.
struct PhpSetting {
  std::string name, value;  // php_flag: value "1" or "0"; "none": "" (as mod_php)
  bool admin = false;
};

struct FcgiOptions {
  std::optional<FcgiBackendType> backend;
  std::optional<bool> pass_auth;  // CGIPassAuth: Authorization reaches the script as HTTP_AUTHORIZATION
  std::vector<FcgiSetEnv> set_env;
  std::vector<PhpSetting> php;    // in order; a later one of the same name wins
};

struct FilesSection {
  std::string pattern;            // <Files "x"> wildcard, or regex for <FilesMatch>/<Files ~>
  bool regex = false;
  std::shared_ptr<const core::Regex> fast;  // regex sections: PCRE2 (Apache's syntax), JIT
  std::shared_ptr<const FcgiBackend> fcgi;  // SetHandler "proxy:..." in this section
  bool handler_none = false;                // SetHandler None: no handler for these files
  FcgiOptions fcgi_opts;
  CgiSettings cgi;                          // SetHandler cgi-script, RLimit* (cgi_model.h)
  AccessPolicy access;
  Metadata meta;                            // SetEnvIf, SetEnv, Header, Expires*, ServerSignature here
  AuthConfig auth;                // AuthType, AuthName, AuthUserFile, AuthGroupFile
  OutputFilters output_filters;   // AddOutputFilterByType, SetOutputFilter, AddOutputFilter
  std::vector<IfSection> ifs;     // <If> sections inside it
  SourceLocation where;
  bool matches(std::string_view filename) const;
};

// One mod_rewrite directive as written (RewriteEngine, RewriteRule...). The
// config layer checks where it may appear; src/rewrite compiles the lines
// of each context into rules (it sits above config, so it cannot be called
// from the directive tables).
struct RewriteLine {
  std::string name;
  std::vector<std::string> args;
  SourceLocation where;
};

// mod_alias. Alias/ScriptAlias map a URL prefix (or a regex) to a filesystem
// path; Redirect* answer with a redirect. `to` of a *Match rule is a $N template.
struct AliasRule {
  std::string from;                    // URL-path prefix, or the pattern of a *Match rule
  std::shared_ptr<core::Regex> regex;  // *Match rules
  std::string to;                      // filesystem path / URL; empty: Redirect gone (410) etc.
  int status = 0;                      // redirects: 301, 302, 303, 410...; 0 for Alias
  bool script = false;                 // ScriptAlias: the target is CGI (run by the CGI handler)
  bool whole = false;                  // Redirect URL in a <Location> without a URL-path: URL is the whole target
  SourceLocation where;
};

// AllowOverride of a <Directory>: which directive categories (Apache's
// override classes, config/directives.h kOr*) its .htaccess files may hold.
struct AllowOverride {
  uint8_t categories = 0;         // kOr* bits; 0: None
  uint8_t options = 0xff;         // Options=...: the Options bits .htaccess may set (all by default)
  bool nonfatal_override = false; // Nonfatal=Override|All: a directive not allowed is ignored with a warning
  bool nonfatal_unknown = false;  // Nonfatal=Unknown|All: an unknown directive is ignored with a warning
  SourceLocation where;
};

struct DirectorySection {
  std::string path;               // absolute, normalised, no trailing slash ("/" for root)
  std::optional<AllowOverride> allow_override;                 // unset: the enclosing section's (None at the root)
  std::optional<std::vector<std::string>> allow_override_list;  // AllowOverrideList (names as written); unset: inherited
  bool htaccess = false;          // this section is an .htaccess file's (where: the file), not httpd.conf's
  // This section is the body of an <If> that holds for the request (only in
  // the per-request copy server/if_sections.cpp makes): its path is "/" and
  // it sits after every other <Directory>, so it is merged last.
  bool from_if = false;
  std::vector<IfSection> ifs;     // <If> sections inside it
  std::vector<RewriteLine> rewrite;  // mod_rewrite lines of this section (per-directory rules)
  std::vector<AliasRule> redirects;  // Redirect URL in a <Directory> (no URL-path argument: the whole section)
  std::optional<std::string> fallback_resource;  // FallbackResource (mod_dir); "" after "disabled"
  Options options;
  AccessPolicy access;
  AuthConfig auth;                  // AuthType, AuthName, AuthUserFile, AuthGroupFile
  OutputFilters output_filters;     // AddOutputFilterByType, SetOutputFilter, AddOutputFilter
  std::vector<FilesSection> files;  // <Files> nested in this <Directory>
  bool force_type_set = false;      // ForceType appeared (None sets it with an empty type)
  std::string force_type;           // ForceType MEDIA-TYPE: every file below is served as it
  std::optional<std::vector<std::string>> precompressed;  // PillarPrecompressed here (codings in order; empty: off)
  std::optional<std::string> index_header_name;  // HeaderName here (mod_autoindex); unset: the enclosing one's
  std::optional<std::string> index_readme_name;  // ReadmeName here
  Metadata meta;                    // SetEnvIf, SetEnv, Header, Expires*, ServerSignature here
  FcgiOptions fcgi_opts;            // php_value & co. for scripts below (fastcgi_route)
  CgiSettings cgi;                  // SetHandler cgi-script, AddHandler, RLimit* (cgi_model.h)
  SourceLocation where;
};

enum class HandlerKind : uint8_t { Default, ServerStatus, Metrics, Welcome, Proxy, BalancerManager, FastCgi };

// ---- reverse proxy (mod_proxy, mod_proxy_balancer) ---------------------------

struct SslFile {
  std::string path;  // resolved against ServerRoot
  SourceLocation where;
};

// mod_ssl's client side, toward https:// balancer members (SSLProxy*): in
// the server, a vhost (inherited from the server) or a <Proxy> section
// (inherited from where it is written). A balancer takes its <Proxy>
// section's; what that leaves unset comes from the first vhost whose
// ProxyPass uses it (Apache merges the request's vhost and the section).
struct SslProxyConfig {
  enum class Verify : uint8_t { None, Optional, OptionalNoCa, Require };
  // Which fields were given where they stand (for the vhost fill-in).
  static constexpr uint16_t kEngine = 1, kVerify = 2, kDepth = 4, kCa = 8, kPeerName = 16, kPeerExpire = 32,
                            kProtocol = 64, kCiphers = 128, kSuites = 256, kMachineCert = 512;
  uint16_t given = 0;
  bool engine = false;                 // SSLProxyEngine
  SourceLocation engine_where;
  Verify verify = Verify::None;        // SSLProxyVerify (Apache's default none)
  int verify_depth = 1;                // SSLProxyVerifyDepth
  SslFile ca;                          // SSLProxyCACertificateFile
  bool check_peer_name = true;         // SSLProxyCheckPeerName (also SSLProxyCheckPeerCN)
  bool check_peer_expire = true;       // SSLProxyCheckPeerExpire
  uint8_t protocols = 4 | 8;           // SSLProxyProtocol (SslConfig's bits): TLS 1.2 and 1.3
  std::string ciphers;                 // SSLProxyCipherSuite (empty: OpenSSL's client default)
  std::string ciphersuites;            // SSLProxyCipherSuite TLSv1.3 ...
  SslFile machine_cert;                // SSLProxyMachineCertificateFile: a client certificate and its key (PEM)
  // Fields `o` gave that this one did not.
  void fill_from(const SslProxyConfig& o);
};

struct BalancerMemberConfig {
  std::string url;                  // as written: "http://10.0.0.5:8080"
  bool https = false;               // https://: TLS to the member (the balancer's SslProxyConfig)
  std::shared_ptr<const FcgiBackend> fcgi;  // fcgi:// or unix:...|fcgi://: a FastCGI member (SetHandler "proxy:balancer://...")
  std::string tls_name;             // the member's host, for SNI and SSLProxyCheckPeerName
  std::string host;                 // for the Host header when ProxyPreserveHost is Off
  uint16_t port = 80;
  sockaddr_storage addr{};          // resolved at load
  socklen_t addr_len = 0;
  std::string route;                // route= (sticky sessions)
  uint32_t loadfactor = 1;          // loadfactor= 1..100
  bool disabled = false, hot_standby = false, stopped = false, ignore_errors = false;  // status=+D +H +S +I
  Millis connect_timeout{5000};     // connectiontimeout=
  Millis timeout{0};                // timeout= (0: ProxyTimeout)
  uint32_t max = 0;                 // max= connections node-wide (0: unlimited)
  Millis retry{60000};              // retry=: back-off before an errored member is tried again
  uint32_t failures = 1;            // failures=: consecutive failures (refused, reset, timeout, garbage) that eject it
  // Active health check (mod_proxy_hcheck's parameter names); off when hcmethod is empty.
  std::string hc_method;            // hcmethod= GET|HEAD|OPTIONS|TCP
  std::string hc_uri = "/";         // hcuri=
  Millis hc_interval{2000};         // hcinterval=
  uint32_t hc_passes = 2;           // hcpasses=: successes to come back (rise)
  uint32_t hc_fails = 3;            // hcfails=: failures to be taken out (fall)
  int hc_expect = 0;                // hcexpect=STATUS (0: any 2xx or 3xx)
  std::string hc_body;              // hcbody=: a substring the response must contain
  Millis hc_timeout{2000};          // hctimeout=
  uint8_t proxy_protocol = 0;       // proxy_protocol=v1|v2: sent before each new connection's first request
};

enum class LbMethod : uint8_t { ByRequests, ByTraffic, ByBusyness, SourceHash, ConsistentHash };

struct BalancerConfig {
  std::string name;                 // "balancer://app" -> "app"; "" for a direct ProxyPass target
  std::vector<BalancerMemberConfig> members;
  LbMethod lbmethod = LbMethod::ByRequests;
  std::string hash_header;          // ConsistentHash key: a request header; empty: the URL
  std::string stickysession;        // "JSESSIONID|jsessionid"
  char stickysession_sep = '.';     // stickysessionsep=: what precedes the route in the value; '\0' (Off): the whole value
  bool nofailover = false;
  Millis persistence{0};            // client-IP persistence (IPVS -p)
  uint32_t max_attempts = 3;        // maxattempts=: members tried for one request
  Millis queue_timeout{0};          // timeout=: wait this long for a member below its max= (0: 503 at once)
  SslProxyConfig ssl_proxy;         // toward https:// members
  SourceLocation where;
  bool fastcgi() const { return !members.empty() && members[0].fcgi != nullptr; }
  bool any_https() const {
    for (const auto& m : members)
      if (m.https) return true;
    return false;
  }
};

struct ProxyTarget {
  int balancer = -1;                // index into ServerConfig::balancers
  std::string balancer_name;        // as written, resolved after the whole file is read
  std::vector<std::string> params;  // balancer parameters on the ProxyPass line (stickysession=...), applied then
  std::string path;                 // replaces the location prefix ("/" or "/app/")
};  // Welcome: "SetHandler pillar-welcome", the built-in default page

// PillarRateLimitZone NAME KEY RATE (server): a request rate counted
// node-wide per key (docs/limits.md); PillarRateLimit applies it.
struct RateLimitZone {
  enum class Key : uint8_t { Client, Vhost, Header };
  std::string name;
  Key key = Key::Client;
  std::string header;        // Key::Header: the request field whose value is the key
  uint64_t rate_milli = 0;   // thousandths of a request per second
  SourceLocation where;
};

// PillarRateLimit ZONE [burst=N] [nodelay] (server, vhost, <Location>).
struct RateLimitUse {
  std::string zone;
  uint32_t burst = 0;
  // Requests over the rate that pass at once; the rest of the burst is
  // delayed to the rate (nginx's delay=N; 0 by default: every excess
  // request is delayed; nodelay: the whole burst passes at once).
  uint32_t delay = 0;
  int zone_index = -1;       // into ServerConfig::rate_zones, resolved at the end of the load
  SourceLocation where;
};

// PillarPriority: what PillarShedLoad refuses first when the node is overloaded.
enum class Priority : uint8_t { Normal, Low };

// PillarShedLoad [loadavg=N] [busy=P%] [retry-after=S] (server).
struct ShedLoad {
  uint32_t load_milli = 0;    // the 1-minute load average bound x 1000 (0: not checked)
  uint32_t busy_percent = 0;  // connections in use over MaxRequestWorkers, percent (0: not checked)
  uint32_t retry_after_s = 30;
  bool on() const { return load_milli != 0 || busy_percent != 0; }
};

struct LocationSection {
  std::string prefix;             // URL-path prefix ("/server-status")
  std::vector<RateLimitUse> rate_limits;  // PillarRateLimit in this <Location> (after the vhost's)
  std::optional<Priority> priority;       // PillarPriority here (unset: the vhost's)
  HandlerKind handler = HandlerKind::Default;  // SetHandler
  ProxyTarget proxy;              // handler == Proxy (ProxyPass)
  bool proxy_excluded = false;    // ProxyPass /path ! (served locally)
  std::shared_ptr<std::regex> match;  // ProxyPassMatch: the path regex (then proxy.path is a $N template)
  // ProxyPass ... when-header=NAME:VALUE / when-network=CIDR: the route
  // applies only to requests carrying that header value / from that network.
  std::string when_header, when_value;
  std::vector<IpNetwork> when_networks;
  bool conditional() const { return !when_header.empty() || !when_networks.empty(); }
  AccessPolicy access;
  AuthConfig auth;                // AuthType, AuthName, AuthUserFile, AuthGroupFile
  OutputFilters output_filters;   // AddOutputFilterByType, SetOutputFilter, AddOutputFilter
  std::vector<AliasRule> redirects;  // Redirect [status] URL in a <Location>
  std::vector<RewriteLine> rewrite;   // mod_rewrite lines in a <Location> (per-directory rules "of a sort", as Apache)
  std::shared_ptr<const FcgiBackend> fcgi;  // handler == FastCgi: SetHandler "proxy:..." or ProxyPassMatch fcgi://
  FcgiOptions fcgi_opts;
  std::optional<bool> source_guard;         // ScriptSourceGuard On|Off here (unset: the vhost's)
  Metadata meta;                            // SetEnvIf, SetEnv, Header, Expires*, ServerSignature here
  CgiSettings cgi;                          // SetHandler cgi-script, RLimit* (cgi_model.h)
  std::vector<IfSection> ifs;               // <If> sections inside it
  SourceLocation where;
  bool matches(std::string_view path) const;  // prefix match on a segment boundary (or the regex)
};

// ---- logging ---------------------------------------------------------------

enum class LogLevel : uint8_t { Emerg, Alert, Crit, Error, Warn, Notice, Info, Debug };

struct CustomLog {
  std::string path;     // file path, or "|command" is refused at load
  std::string format;   // the resolved format string (nickname expanded)
  std::string nickname; // as written when it named a LogFormat (resolved after the whole file is read)
  SourceLocation where;
};

// ---- cache (mod_cache's names where it has one) ----------------------------

struct CacheRule {
  std::string prefix;  // URL-path prefix ("/" for all)
  bool enable = true;  // CacheEnable (true) or CacheDisable (false)
};

// A vhost's cache policy; the store itself (CacheSize) is node-wide.
// CacheHeuristic: heuristic freshness (RFC 9111 §4.2.2) for responses that
// give no explicit lifetime.
enum class CacheHeuristic : uint8_t {
  Off,           // only explicit lifetimes are stored
  LastModified,  // default: a fraction (CacheLastModifiedFactor) of the Last-Modified age
  On,            // also CacheDefaultExpire when there is no Last-Modified
};

struct CacheConfig {
  std::vector<CacheRule> rules;
  int64_t default_expire = 3600;   // CacheDefaultExpire (s): heuristic lifetime without Last-Modified
  int64_t max_expire = 86400;      // CacheMaxExpire (s): cap on any lifetime
  int64_t min_expire = 0;          // CacheMinExpire (s): floor on heuristic lifetimes
  CacheHeuristic heuristic = CacheHeuristic::LastModified;  // CacheHeuristic Off|LastModified|On
  double lm_factor = 0.1;          // CacheLastModifiedFactor
  bool store_cookies = false;      // CacheStoreCookies: store responses carrying Set-Cookie (the field is dropped)
  bool ignore_cache_control = false;  // CacheIgnoreCacheControl: clients' no-cache/max-age=0 do not bypass
  int64_t grace = 0;               // CacheGrace (s): stale-while-revalidate unless the response says; 0: only with its permission
  int64_t stale_if_error = 0;      // CacheStaleIfError (s): stale-if-error unless the response says
  int64_t hit_for_pass = 120;      // CacheHitForPass (s): an uncacheable key skips coalescing this long
  uint64_t max_object_size = 1000000;  // CacheMaxObjectSize (bytes)
  bool header = false;             // CacheHeader: X-Cache on responses
  AccessPolicy purge;              // CachePurgeRequire; empty: loopback clients only
  // CacheControlTarget: the targeted cache-control fields Pillar obeys, in
  // order (RFC 9213), and removes from what its clients get; empty: none (Off).
  std::vector<std::string> targets{"Pillar-Cache-Control", "CDN-Cache-Control"};

  // Longest matching rule wins; CacheDisable wins a tie.
  bool enabled_for(std::string_view path) const;
};

// ---- virtual hosts ---------------------------------------------------------

// mod_ssl's settings of one vhost (inherited from the main server, as
// Apache merges them). Only names and values here: src/tls turns them into an
// SSL_CTX, and reports bad files with the line of the directive. SslFile is
// above, with the balancer's SSLProxy* settings.
struct SslConfig {
  // SSLProtocol bits.
  static constexpr uint8_t kTls1 = 1, kTls11 = 2, kTls12 = 4, kTls13 = 8;
  enum class Verify : uint8_t { None, Optional, OptionalNoCa, Require };

  bool engine = false;                 // SSLEngine on
  SourceLocation engine_where;
  std::vector<SslFile> certs;          // SSLCertificateFile, in order (a chain may follow each certificate)
  std::vector<SslFile> keys;           // SSLCertificateKeyFile; keys[i] goes with certs[i] (none: in the cert file)
  SslFile chain;                       // SSLCertificateChainFile (empty path: none)
  SslFile ca;                          // SSLCACertificateFile: client certificates' CAs
  uint8_t protocols = kTls12 | kTls13; // SSLProtocol; default TLS 1.2 and 1.3
  SourceLocation protocol_where;
  // SSLCipherSuite: forward-secret AEAD suites only by default.
  std::string ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
      "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  SourceLocation ciphers_where;
  std::string ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  SourceLocation ciphersuites_where;
  bool honor_cipher_order = true;      // SSLHonorCipherOrder (Apache: off; on here, see docs/tls.md)
  bool session_tickets = true;         // SSLSessionTickets
  Millis session_cache_timeout{300000};  // SSLSessionCacheTimeout
  Verify verify = Verify::None;        // SSLVerifyClient
  int verify_depth = 1;                // SSLVerifyDepth (Apache's default 1)
  bool strict_sni = false;             // SSLStrictSNIVHostCheck
  // OCSP stapling (SSLUseStapling): the responses are fetched by the master
  // at each (re)load, from SSLStaplingForceURL or the certificate's AIA URL.
  bool use_stapling = false;
  SourceLocation stapling_where;
  bool stapling_cache = false;         // SSLStaplingCache given (server-wide; Apache requires it)
  std::string stapling_force_url;      // SSLStaplingForceURL
  Millis stapling_timeout{10000};      // SSLStaplingResponderTimeout
  struct ConfCmd {
    std::string name, value;
    SourceLocation where;
  };
  std::vector<ConfCmd> conf_cmds;      // SSLOpenSSLConfCmd, applied last, in order
};

// HTTP/2 at the front (core's Protocols and mod_http2's H2* directives),
// per vhost: a connection takes the settings of the vhost it starts with
// (SNI's over TLS, the address's default for h2c). See docs/http2.md.
struct Http2Config {
  std::vector<std::string> protocols{"http/1.1"};  // Protocols, lower-case, in the order written
  SourceLocation protocols_where;
  bool honor_order = true;              // ProtocolsHonorOrder: the server's order wins in ALPN
  bool direct = true;                   // H2Direct: h2c by prior knowledge (only with h2c in Protocols)
  uint32_t max_session_streams = 100;   // H2MaxSessionStreams
  uint32_t window_size = 65535;         // H2WindowSize: each stream's receive window
  uint64_t stream_max_mem = 65536;      // H2StreamMaxMemSize: response bytes buffered per stream
  bool offers(std::string_view protocol) const {
    for (const auto& p : protocols)
      if (p == protocol) return true;
    return false;
  }
};

struct ErrorDocument {
  enum class Kind : uint8_t { Text, LocalPath, Redirect } kind = Kind::Text;
  std::string value;
};

struct VirtualHost {
  std::vector<ListenAddress> addresses;  // from <VirtualHost a:p ...>; empty for the main server
  std::vector<RateLimitUse> rate_limits;  // PillarRateLimit (the main server's are inherited)
  Priority priority = Priority::Normal;  // PillarPriority (the main server's is inherited)
  std::string server_name;               // lower-case, without port
  std::vector<std::string> aliases;      // lower-case, may contain '*' and '?' wildcards
  std::string document_root;             // absolute, normalised, no trailing slash; empty: none (404)
  Options options;                       // server/vhost-level Options (apply before <Directory>)
  std::vector<std::string> directory_index{"index.html"};
  std::vector<DirectorySection> directories;  // sorted shortest path first
  std::vector<FilesSection> files;             // server/vhost-level <Files>
  std::vector<LocationSection> locations;      // in config order (later wins on equal match)
  std::vector<IfSection> ifs;                  // server/vhost-level <If> sections (the main server's are inherited)
  bool ifs_anywhere = false;                   // some section here (or inherited) holds an <If>
  std::vector<RewriteLine> rewrite;            // server/vhost mod_rewrite lines (a vhost's own: not the main server's)
  std::vector<AliasRule> alias_rules;          // Alias, AliasMatch, ScriptAlias, ScriptAliasMatch (config order)
  std::vector<AliasRule> redirects;            // Redirect, RedirectMatch, RedirectPermanent, RedirectTemp
  std::string fallback_resource;               // FallbackResource at server/vhost level; empty: none
  std::map<int, ErrorDocument> error_documents;
  std::vector<CustomLog> custom_logs;
  std::string error_log;                 // empty: inherit the server's
  std::map<std::string, std::string> add_types;  // ".ext" (lower-case) -> MIME type; "" after RemoveType (none, not even TypesConfig's)
  // mod_mime's other extension maps (".ext" lower-case -> value) and core's AddDefaultCharset.
  std::map<std::string, std::string> add_charsets;   // AddCharset
  std::map<std::string, std::string> add_encodings;  // AddEncoding (sent as written: x-gzip stays x-gzip)
  std::map<std::string, std::string> add_languages;  // AddLanguage
  std::map<std::string, std::string> add_handlers;   // AddHandler: recorded for handlers to come (cgi-script, ...)
  std::string default_language;                      // DefaultLanguage; empty: none
  std::string default_charset;                       // AddDefaultCharset; empty: Off
  std::vector<std::string> index_ignore;             // IndexIgnore wildcards (mod_autoindex)
  std::string index_header_name;                     // HeaderName (mod_autoindex): inserted above a listing; empty: none
  std::string index_readme_name;                     // ReadmeName: inserted below it; empty: none
  // The metadata modules at server/vhost level: SetEnvIf here is the
  // server's (post-read-request); the rest is the directory defaults.
  Metadata meta;
  std::string server_admin = "[no address given]";  // ServerAdmin (ServerSignature EMail), Apache's default
  std::vector<std::string> access_file_names{".htaccess"};  // AccessFileName: the first that exists in a directory is read
  OutputFilters output_filters;                      // server/vhost-level AddOutputFilterByType, SetOutputFilter, AddOutputFilter
  bool output_filters_anywhere = false;              // some section here (or inherited) has output filters: a request asks
  bool auth_anywhere = false;                        // some section here (or inherited) has Auth* or a user rule
  DeflateSettings deflate;                           // mod_deflate's Deflate* directives
  std::vector<std::string> precompressed;            // PillarPrecompressed: "br", "gzip" in order (empty: off)
  BrotliSettings brotli;                             // mod_brotli's Brotli* directives
  std::map<std::string, std::string> log_formats;  // LogFormat nickname -> format (a vhost's own, then the server's)
  bool proxy_preserve_host = false;      // ProxyPreserveHost
  std::vector<std::pair<std::string, std::string>> proxy_reverse;  // ProxyPassReverse: (url prefix, path prefix)
  std::vector<std::pair<std::string, std::string>> cookie_path;    // ProxyPassReverseCookiePath: (internal, public)
  std::vector<std::pair<std::string, std::string>> cookie_domain;  // ProxyPassReverseCookieDomain: (internal, public)
  CacheConfig cache;
  FcgiOptions fcgi_opts;                 // ProxyFCGIBackendType, ProxyFCGISetEnvIf at vhost level
  // ScriptSourceGuard: a file with one of these extensions (lower-case,
  // with the dot) that no handler claims is refused (403), never sent.
  bool source_guard = true;
  std::vector<std::string> script_extensions{".php", ".phtml", ".phar", ".cgi", ".pl", ".py"};
  SslConfig ssl;
  SslProxyConfig ssl_proxy;  // SSLProxy*: toward https:// members of the balancers its ProxyPass lines use
  CgiSettings cgi;           // CGI: SuexecUserGroup, UserDir, CGIDScriptTimeout, RLimit* (cgi_model.h)
  Http2Config h2;
  SourceLocation where;

  bool matches_name(std::string_view host) const;  // ServerName or any ServerAlias
};

// mod_reqtimeout: header=20-40,MinRate=500 body=20,MinRate=500
struct ReadTimeout {
  Millis initial{0};    // 0 disables
  Millis maximum{0};    // 0: no maximum
  uint32_t min_rate = 0;  // bytes/s that extend the timeout by 1 s each
};

// The process model (Apache's worker MPM directives on the event engine).
// A "thread" in Apache's names is a connection slot here: ThreadsPerChild is
// how many connections one worker process holds at once.
struct ProcessConfig {
  uint32_t start_servers = 4;            // StartServers
  uint32_t server_limit = 16;            // ServerLimit (full restart to change)
  uint32_t threads_per_child = 2500;     // ThreadsPerChild: connection slots per worker
  uint32_t thread_limit = 2500;          // ThreadLimit (full restart to change)
  uint32_t max_request_workers = 0;      // MaxRequestWorkers/MaxClients; 0 = ServerLimit x ThreadsPerChild
  uint32_t min_spare_threads = 2500;     // MinSpareThreads (idle slots node-wide)
  uint32_t max_spare_threads = 12500;    // MaxSpareThreads
  uint64_t max_connections_per_child = 0;  // MaxConnectionsPerChild/MaxRequestsPerChild; 0 = never
  uint64_t max_memory_per_child = 0;     // MaxMemoryPerChild (bytes of RssAnon); 0 = no limit
  Millis graceful_shutdown_timeout{0};   // GracefulShutdownTimeout; 0 = wait for all
  bool extended_status = true;           // ExtendedStatus (On by default, as Apache 2.4)
  std::string pid_file = "pillar.pid";   // PidFile, relative to ServerRoot
  std::string user, group;               // User/Group the workers run as when started as root
  std::string control_socket;            // PillarControlSocket; empty = none
  // Which of the sizing directives the admin wrote (for Apache's corrections).
  bool set_threads_per_child = false, set_max_request_workers = false, set_min_spare = false,
       set_max_spare = false, set_start_servers = false;
};

// One <Vrrp NAME> section: a VRRP virtual router (RFC 5798) on one interface.
struct VrrpInstance {
  std::string name;
  std::string interface;
  uint8_t vrid = 0;                 // VirtualRouterId 1..255 (required)
  uint8_t priority = 100;           // 1..255; 255 = address owner
  uint16_t advert_interval_cs = 100;  // AdvertInterval, centiseconds
  struct Address {
    in_addr addr{};
    uint8_t prefix = 32;
  };
  std::vector<Address> addresses;   // VirtualAddress (required)
  bool preempt = true;
  Millis preempt_delay{0};
  std::vector<in_addr> unicast_peers;  // UnicastPeer: adverts go to these instead of 224.0.0.18
  std::string notify_master, notify_backup, notify_fault;  // run as "CMD NAME STATE"
  bool track_health = false;        // TrackHealth: our own listener must answer
  Millis track_interval{1000};
  uint8_t version = 3;              // VrrpVersion 2|3
  bool accept_mode = true;
  SourceLocation where;
};

struct ServerConfig {
  std::vector<RateLimitZone> rate_zones;  // PillarRateLimitZone
  uint32_t max_conns_per_client = 0;      // PillarMaxConnectionsPerClient (0: no limit)
  ShedLoad shed;                          // PillarShedLoad
  std::string config_file;
  std::string server_root;
  std::vector<ListenAddress> listens;
  int listen_backlog = 511;
  int event_threads = 0;              // EventThreadsPerChild; 0 = number of cores

  // Connection handling (Apache core directives).
  Millis timeout{60000};              // Timeout
  bool keep_alive = true;             // KeepAlive
  Millis keep_alive_timeout{5000};    // KeepAliveTimeout
  uint32_t max_keep_alive_requests = 100;  // 0 = unlimited
  uint64_t limit_request_body = 1ull << 30;  // LimitRequestBody (0 = unlimited), 1 GiB as Apache 2.4.54+
  uint32_t limit_request_fields = 100;
  uint32_t limit_request_field_size = 8190;
  uint32_t limit_request_line = 8190;
  ReadTimeout header_timeout{Millis(20000), Millis(40000), 500};
  ReadTimeout body_timeout{Millis(20000), Millis(0), 500};
  bool enable_sendfile = true;
  std::string server_tokens = "Pillar";   // the Server header

  // Logging.
  std::string error_log;                  // path; empty = stderr
  LogLevel log_level = LogLevel::Warn;
  int rewrite_trace = 0;                  // LogLevel rewrite:traceN (0: off), mod_rewrite's per-rule trace
  Millis rewrite_map_timeout{1000};       // PillarRewriteMapTimeout: a prg: map's lookup gives up (the default answers)

  // MIME types.
  std::string types_config = "/etc/mime.types";

  // The main server answers for addresses no <VirtualHost> covers; its
  // settings are also the defaults every VirtualHost inherits.
  VirtualHost main_server;
  std::vector<VirtualHost> vhosts;        // in config order

  ProcessConfig process;
  std::vector<VrrpInstance> vrrp;
  std::vector<BalancerConfig> balancers;   // <Proxy balancer://NAME> and direct ProxyPass targets
  // FastCGI handlers that name a balancer (SetHandler "proxy:balancer://NAME"),
  // resolved to their balancer when the whole configuration is read.
  std::vector<std::shared_ptr<FcgiBackend>> fcgi_balanced;
  Millis proxy_timeout{60000};             // ProxyTimeout
  std::string proxy_state_file;            // ProxyStateFile: members' drain/disable/weight across full restarts
  // mod_remoteip: the client address behind trusted proxies.
  std::string remoteip_header;             // RemoteIPHeader (e.g. X-Forwarded-For)
  std::vector<IpNetwork> remoteip_trusted; // RemoteIPTrustedProxy / RemoteIPInternalProxy
  bool remoteip_proxy_protocol = false;    // RemoteIPProxyProtocol: every connection starts with a PROXY header
  // The node's cache store (mod_cache's lock directives; the size is fixed until a full restart).
  uint64_t cache_size = 64ull << 20;       // CacheSize
  bool cache_lock = true;                  // CacheLock: coalesce concurrent misses
  Millis cache_lock_max_age{5000};         // CacheLockMaxAge: a waiter gives up and fetches alone
  uint32_t cache_lock_max_waiters = 10000; // CacheLockMaxWaiters: more go to the origin alone
  // PillarTLSTicketKeyRotation: the master makes a new session-ticket key
  // this often; a key opens tickets for two periods (docs/tls.md).
  Millis ticket_key_rotation{12LL * 3600 * 1000};

  std::vector<std::string> notices;       // e.g. "LoadModule ignored" (printed at start)
  // What <IfDefine> and <IfModule> in an .htaccess file see: the names
  // defined (-D and Define) and the modules LoadModule named, at the end of the load.
  std::vector<std::string> defines;
  std::vector<std::string> loaded_modules;
  // PillarHtaccessCheck: how a filename's .htaccess walk is kept fresh.
  // watch (the default): remembered until the kernel reports a change in
  // one of its directories (inotify; directories it cannot watch are
  // stat'ed every request); SECONDS: remembered that long (0: every
  // request stats every level, as Apache).
  bool htaccess_watch = true;
  Millis htaccess_check{0};

  bool cache_unused() const;              // no vhost has a CacheEnable
};

}  // namespace pillar::config

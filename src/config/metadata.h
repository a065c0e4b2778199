// What one configuration section says through Apache's "metadata" modules
// (modules/metadata in httpd's tree): mod_setenvif, mod_env, mod_headers,
// mod_expires, and core's ServerSignature. The vhost holds one (its server
// and directory defaults), and so does each <Directory>, <Files> and
// <Location>; src/server/metadata merges them per request in Apache's order
// (vhost, <Directory> shortest first, <Files>, <Location>) and applies them.
//
// Everything is parsed at load: regexes compiled, header values split into
// their format pieces, expiry times in seconds, so nothing is parsed while
// serving. docs/headers.md describes the behaviour.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/regex.h"

namespace pillar::config {

class Expr;  // config/expr.h

// ---- mod_setenvif ------------------------------------------------------------

// SetEnvIf[NoCase] ATTRIBUTE REGEX [!]VAR[=VALUE]..., BrowserMatch[NoCase]
// REGEX ... (ATTRIBUTE User-Agent). In the vhost's Metadata the rules are the
// server's (run when the request head is read, Apache's post-read-request);
// in a section's they are per-directory (run once the request is mapped,
// Apache's header-parser hook).
struct SetEnvIfRule {
  enum class Attribute : uint8_t {
    RemoteHost,       // Remote_Host: the client's address (Pillar does no reverse lookups, as HostnameLookups Off)
    RemoteAddr,       // Remote_Addr (after RemoteIP)
    ServerAddr,       // Server_Addr: the local address the request came to
    RequestMethod,    // Request_Method
    RequestProtocol,  // Request_Protocol: "HTTP/1.1"
    RequestUri,       // Request_URI: the URL-path, without the query
    Named,            // a request header, else an environment variable set earlier
    HeaderRegex,      // a regex over request header names (a name with other than [-A-Za-z0-9_])
  };
  struct Action {
    std::string var;
    std::string value;    // "1" for a bare VAR
    bool unset = false;   // !VAR (or a value starting with '!', as Apache)
  };
  Attribute attribute = Attribute::Named;
  std::string name;  // as written (Named: the header or variable; compared without case)
  std::shared_ptr<const core::Regex> name_regex;  // HeaderRegex
  std::shared_ptr<const core::Regex> regex;
  // Apache substitutes $0..$9 only when the pattern is a regex; a plain
  // string pattern (no regex characters) sets values as written.
  bool substitutes = false;
  std::vector<Action> actions;
};

// ---- mod_env -----------------------------------------------------------------

// SetEnv/PassEnv/UnsetEnv of one section, as mod_env merges them: a
// section's UnsetEnv removes what outer sections set, then its own values
// are set over them. Only SetEnv/PassEnv values are affected by UnsetEnv
// (a SetEnvIf variable stays), and they are applied late (Apache's fixups),
// so SetEnvIf and RewriteCond do not see them.
struct EnvSettings {
  std::vector<std::pair<std::string, std::string>> set;  // name -> value, one per name (the last line wins)
  std::vector<std::string> unset;                      // UnsetEnv names
  bool empty() const { return set.empty() && unset.empty(); }
};

// ---- mod_headers -------------------------------------------------------------

// A Header/RequestHeader value with its format specifiers, split at load:
// %% (and a lone % at the end), %t, %D, %l, %i, %b, %{VAR}e, %{VAR}s.
struct HeaderFormat {
  enum class Kind : uint8_t {
    Literal,
    RequestTime,  // %t: "t=" and the time the request was received, microseconds since the epoch
    Duration,     // %D: "D=" and the microseconds since then
    Load,         // %l: "l=" and the load averages ("l=0.10/0.20/0.30")
    Idle,         // %i: "i=" and the percentage of idle connection slots
    Busy,         // %b: "b=" and the percentage of busy connection slots
    Env,          // %{VAR}e: the variable, "(null)" when unset
    Ssl,          // %{VAR}s: the mod_ssl variable, "(null)" when none
  };
  struct Piece {
    Kind kind = Kind::Literal;
    std::string text;  // Literal: the text; Env/Ssl: the variable's name
  };
  std::vector<Piece> pieces;
  bool constant() const { return pieces.empty() || (pieces.size() == 1 && pieces[0].kind == Kind::Literal); }
};

struct HeaderAction {
  enum class Op : uint8_t { Add, Append, Echo, Edit, EditAll, Merge, Set, SetIfEmpty, Unset, Note };
  // Which of Apache's two response tables the action works on: onsuccess
  // (r->headers_out) or always (r->err_headers_out). RequestHeader: neither.
  enum class Table : uint8_t { OnSuccess, Always };
  bool request = false;  // RequestHeader
  Op op = Op::Set;
  Table table = Table::OnSuccess;
  bool early = false;    // "early": applied when the request head is read (server and vhost only)
  std::string header;    // the field name, without a trailing ':'
  HeaderFormat value;    // set/add/append/merge/setifempty: the value; edit: the replacement; note: the note's name
  std::shared_ptr<const core::Regex> regex;  // edit/edit*: the pattern; echo: the request fields' names
  std::string env;       // env=VAR / env=!VAR; empty: unconditional
  bool env_negated = false;
  std::shared_ptr<const Expr> expr;  // expr=EXPR (ap_expr, config/expr.h); null: none
};

// ---- mod_expires -------------------------------------------------------------

struct ExpiresRule {
  enum class Base : uint8_t { Access, Modification };
  Base base = Base::Access;
  int64_t seconds = 0;
};

struct ExpiresSettings {
  std::optional<bool> active;                 // ExpiresActive (unset: the outer section's; Off at the top)
  std::optional<ExpiresRule> default_rule;    // ExpiresDefault
  std::vector<std::pair<std::string, ExpiresRule>> by_type;  // ExpiresByType: lower-case "type/subtype" or "type/*"
  bool empty() const { return !active && !default_rule && by_type.empty(); }
};

// ---- core's ServerSignature ----------------------------------------------------

enum class ServerSignature : uint8_t { Off, On, EMail };

struct Metadata {
  std::vector<SetEnvIfRule> setenvif;
  EnvSettings env;
  std::vector<HeaderAction> headers;  // Header and RequestHeader lines, in order
  ExpiresSettings expires;
  std::optional<ServerSignature> signature;

  bool empty() const {
    return setenvif.empty() && env.empty() && headers.empty() && expires.empty() && !signature;
  }
};

}  // namespace pillar::config

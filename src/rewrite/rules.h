// mod_rewrite's rules, compiled: one RuleSet per context (the main server,
// a <VirtualHost>, a <Directory>; .htaccess later, compiled at first use
// and cached the same way). Built once at load from the directive lines the
// config layer keeps (config::RewriteLine), read-only afterwards, shared by
// every worker thread (core::Regex's match state is per thread).
//
// Apache's semantics (mod_rewrite.c, "RewriteRule Flags", "Technical
// details"): RewriteConds belong to the next RewriteRule; a per-directory
// set is matched against the filename with the directory's prefix removed;
// RewriteOptions Inherit appends the parent's rules after a context's own,
// InheritBefore before them.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/model.h"
#include "core/regex.h"
#include "rewrite/maps.h"

namespace pillar::rewrite {

enum class CondOp : uint8_t {
  Regex,
  StrEq, StrLt, StrGt, StrLe, StrGe,                 // =  <  >  <=  >=  (lexicographic)
  IntEq, IntNe, IntLt, IntLe, IntGt, IntGe,          // -eq -ne -lt -le -gt -ge
  FileExists, DirExists, SizeNonZero, Symlink, Executable,  // -f -d -s -l/-L/-h -x
  FileLookup, UrlLookup,                             // -F -U (subrequest tests: mapped and stat'ed)
};

struct Condition {
  std::string test;          // TestString, expanded per request
  CondOp op = CondOp::Regex;
  bool negate = false;       // '!'
  std::string operand;       // the literal for comparisons
  core::Regex regex;         // CondOp::Regex
  bool nocase = false;       // [NC]
  bool ornext = false;       // [OR]
  bool novary = false;       // [NV]: a request header it reads is not added to Vary
  config::SourceLocation where;
};

struct RuleFlags {
  bool last = false, end = false, nocase = false, chain = false;
  bool qsa = false, qsd = false, qsl = false, noescape = false;
  bool escape_backrefs = false, backref_no_plus = false;  // B, BNP
  std::string escape_chars;  // B=chars: only these are escaped
  bool forbidden = false, gone = false, passthrough = false, proxy = false, nosubreq = false;
  bool discard_path_info = false;  // DPI
  int redirect = 0;          // R[=code]: the status (0: no redirect)
  int skip = 0;              // S=n
  bool next = false;         // N
  int next_limit = 32000;    // N=limit (Apache 2.4.8's default)
  std::vector<std::string> env;      // E=VAR:VAL, E=!VAR, E=VAR
  std::vector<std::string> cookies;  // CO=NAME:VAL:domain[:lifetime[:path[:secure[:httponly[:samesite]]]]]
  std::string type;          // T=MIME-type
  std::string handler;       // H=handler
};

struct Rule {
  core::Regex regex;
  bool negate = false;       // '!' before the pattern: no back-references
  std::string substitution;  // "-": none
  RuleFlags flags;
  std::vector<Condition> conds;
  config::SourceLocation where;
};

struct RuleSet {
  bool engine_on = false;    // RewriteEngine
  bool engine_set = false;
  bool inherit = false, inherit_before = false;  // RewriteOptions
  bool base_set = false;
  std::string base;          // RewriteBase (per-directory)
  std::string directory;     // per-directory: the <Directory> path, "" for server context
  std::vector<std::shared_ptr<const Rule>> rules;  // shared with contexts that inherit them
  const Maps* maps = nullptr;  // the server's (vhost's) RewriteMaps
  bool active() const { return engine_on && !rules.empty(); }
};

// Parses one directive line into `set` (RewriteEngine, RewriteBase,
// RewriteCond, RewriteRule, RewriteOptions; RewriteMap goes to `maps`).
// Conditions wait in `pending` for their rule. Errors name file:line.
void add_line(const config::RewriteLine& line, RuleSet& set, Maps& maps, std::vector<Condition>& pending,
              std::vector<config::ConfigError>& errors);
// After the last line of a context: a RewriteCond with no rule after it is an error.
void finish(RuleSet& set, std::vector<Condition>& pending, std::vector<config::ConfigError>& errors);

// Parses "[L,R=301,NC]" into `flags` ("" when valid, else the message).
std::string parse_rule_flags(std::string_view text, RuleFlags& flags);

}  // namespace pillar::rewrite

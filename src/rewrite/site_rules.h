// A virtual host's compiled rewrite configuration: its server-context
// RuleSet and, per <Directory>, the effective per-directory RuleSet, merged
// as Apache merges per-directory configs: the nearest section that has
// rewrite directives supplies the rules (and the prefix that is stripped),
// RewriteOptions Inherit / InheritBefore add its ancestors' after / before
// them, RewriteEngine and RewriteBase are inherited when not set.
// The main server's rules reach a <VirtualHost> only with Inherit.
// .htaccess files compile into the same RuleSets (derive_site): their
// sections are per-directory sections of a copy of the vhost, with the
// enclosing <Directory> (or parent .htaccess) as their parent.
#pragma once
#include <memory>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/model.h"
#include "rewrite/rules.h"

namespace pillar::rewrite {

struct SiteRules {
  Maps maps;
  std::shared_ptr<const RuleSet> server;  // null: no server-context rules
  std::vector<std::shared_ptr<const RuleSet>> dirs;  // parallel to VirtualHost::directories; null: none
  // <Location> sections with rewrite lines: their sets (the location's
  // URL-path as the prefix, as Apache's per-directory merge gives them),
  // which replace the <Directory> set for requests routed there.
  std::vector<std::pair<const config::LocationSection*, std::shared_ptr<const RuleSet>>> locs;
  int trace = 0;  // LogLevel rewrite:traceN

  // The per-directory set that applies to `filename` (deepest <Directory>), or null.
  const RuleSet* for_file(const config::VirtualHost& vh, std::string_view filename) const;
  // The set of the <Location> `loc` (the request's route), or null.
  const RuleSet* for_location(const config::LocationSection& loc) const;
  bool any() const;
};

// Compiles `vh` (the main server when &vh == &sc.main_server). Errors name file:line.
std::unique_ptr<SiteRules> compile_site(const config::ServerConfig& sc, const config::VirtualHost& vh,
                                        std::vector<config::ConfigError>& errors);
// The rules of `vh`, a copy of `base_vh` with .htaccess sections added
// (DirectorySection::htaccess): the server set, the maps and the sets of
// sections no .htaccess section encloses are `base`'s; the others are
// compiled here. `base` must outlive the result (its maps are used).
std::unique_ptr<SiteRules> derive_site(const SiteRules& base, const config::VirtualHost& base_vh,
                                       const config::VirtualHost& vh, std::vector<config::ConfigError>& errors);
// Every vhost's rules, for `pillar -t`: the errors start would fail on (each once).
void check_config(const config::ServerConfig& sc, std::vector<config::ConfigError>& errors);

// Is `path` equal to or below directory `dir`?
bool path_under(std::string_view path, std::string_view dir);

}  // namespace pillar::rewrite

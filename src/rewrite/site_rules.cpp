#include "rewrite/site_rules.h"

#include <algorithm>

namespace pillar::rewrite {
namespace {

// Parses a context's lines; null when it has none.
std::shared_ptr<RuleSet> parse(const std::vector<config::RewriteLine>& lines, Maps& maps, std::string directory,
                               std::vector<config::ConfigError>& errors) {
  if (lines.empty()) return nullptr;
  auto set = std::make_shared<RuleSet>();
  set->directory = std::move(directory);
  std::vector<Condition> pending;
  for (const auto& l : lines) add_line(l, *set, maps, pending, errors);
  finish(*set, pending, errors);
  return set;
}

// `own` after (Inherit) or before (InheritBefore) the parent's rules; the
// engine state and RewriteBase inherited when this context does not set them.
void merge(RuleSet& own, const RuleSet& parent) {
  if (!own.engine_set) own.engine_on = parent.engine_on, own.engine_set = parent.engine_set;
  if (!own.base_set && parent.base_set) own.base = parent.base, own.base_set = true;
  if (own.inherit_before) own.rules.insert(own.rules.begin(), parent.rules.begin(), parent.rules.end());
  else if (own.inherit) own.rules.insert(own.rules.end(), parent.rules.begin(), parent.rules.end());
}

}  // namespace

bool path_under(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path.substr(0, dir.size()) == dir && (path.size() == dir.size() || path[dir.size()] == '/');
}

const RuleSet* SiteRules::for_file(const config::VirtualHost& vh, std::string_view filename) const {
  const RuleSet* found = nullptr;
  for (size_t i = 0; i < vh.directories.size() && i < dirs.size(); ++i) {  // shortest path first
    if (dirs[i] && path_under(filename, vh.directories[i].path)) found = dirs[i].get();
  }
  return found && found->active() ? found : nullptr;
}

bool SiteRules::any() const {
  if (server && server->active()) return true;
  return std::any_of(dirs.begin(), dirs.end(), [](const auto& d) { return d && d->active(); });
}

std::unique_ptr<SiteRules> compile_site(const config::ServerConfig& sc, const config::VirtualHost& vh,
                                        std::vector<config::ConfigError>& errors) {
  auto site = std::make_unique<SiteRules>();
  site->trace = sc.rewrite_trace;
  auto own = parse(vh.rewrite, site->maps, {}, errors);
  if (&vh != &sc.main_server && own && (own->inherit || own->inherit_before)) {
    // The main server's maps and rules (compiled again here: a Maps is per site).
    Maps main_maps;
    std::vector<config::ConfigError> ignored;  // reported once, for the main server
    auto main = parse(sc.main_server.rewrite, main_maps, {}, ignored);
    if (main) merge(*own, *main);
    (void)main_maps;
    // Maps named in inherited rules resolve in this vhost's table: define the
    // main server's there too when the vhost lacks them.
    for (const auto& l : sc.main_server.rewrite) {
      if (l.name.size() == 10 && std::equal(l.name.begin(), l.name.end(), "RewriteMap",
                                            [](char a, char b) { return std::tolower(a) == std::tolower(b); }) &&
          l.args.size() == 2 && !site->maps.has(l.args[0]))
        site->maps.define(l.args[0], l.args[1]);
    }
  }
  if (own) {
    own->maps = &site->maps;
    site->server = own;
  }
  site->dirs.resize(vh.directories.size());
  for (size_t i = 0; i < vh.directories.size(); ++i) {
    const auto& d = vh.directories[i];
    const RuleSet* parent = nullptr;  // the effective set of the nearest enclosing section
    for (size_t j = 0; j < i; ++j) {
      if (site->dirs[j] && path_under(d.path, vh.directories[j].path)) parent = site->dirs[j].get();
    }
    auto set = parse(d.rewrite, site->maps, d.path, errors);
    if (!set) {
      if (parent) site->dirs[i] = site->dirs[std::find_if(site->dirs.begin(), site->dirs.end(),
                                                           [&](const auto& p) { return p.get() == parent; }) -
                                             site->dirs.begin()];
      continue;
    }
    if (parent) merge(*set, *parent);
    set->maps = &site->maps;
    site->dirs[i] = set;
  }
  return site;
}

void check_config(const config::ServerConfig& sc, std::vector<config::ConfigError>& errors) {
  std::vector<config::ConfigError> all;
  compile_site(sc, sc.main_server, all);
  for (const auto& vh : sc.vhosts) compile_site(sc, vh, all);
  for (auto& e : all) {
    bool seen = std::any_of(errors.begin(), errors.end(), [&](const config::ConfigError& o) {
      return o.file == e.file && o.line == e.line && o.message == e.message;
    });
    if (!seen) errors.push_back(std::move(e));
  }
}

}  // namespace pillar::rewrite

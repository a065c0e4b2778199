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

// The per-directory sets of `vh`'s sections into site.dirs (parallel to
// vh.directories, shortest path first): a section with rewrite lines gets
// its own set (merged with the nearest enclosing one's), a section without
// shares the enclosing one's. `reuse(i)` may give section i's set ready
// made (an empty set standing for "none").
template <typename Reuse>
void compile_dirs(SiteRules& site, const config::VirtualHost& vh, const Maps& maps, std::vector<config::ConfigError>& errors,
                  Reuse reuse) {
  site.dirs.assign(vh.directories.size(), nullptr);
  for (size_t i = 0; i < vh.directories.size(); ++i) {
    const auto& d = vh.directories[i];
    if (auto ready = reuse(i)) {
      if (!ready->rules.empty() || ready->engine_set || ready->base_set) site.dirs[i] = std::move(ready);
      else {
        for (size_t j = 0; j < i; ++j) {
          if (site.dirs[j] && path_under(d.path, vh.directories[j].path)) site.dirs[i] = site.dirs[j];
        }
      }
      continue;
    }
    std::shared_ptr<const RuleSet> parent;  // the effective set of the nearest enclosing section
    for (size_t j = 0; j < i; ++j) {
      if (site.dirs[j] && path_under(d.path, vh.directories[j].path)) parent = site.dirs[j];
    }
    Maps unused;  // RewriteMap is refused in per-directory context before it gets here
    auto set = parse(d.rewrite, unused, d.path, errors);
    if (!set) {
      site.dirs[i] = parent;
      continue;
    }
    if (parent) merge(*set, *parent);
    set->maps = &maps;
    site.dirs[i] = set;
  }
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

const RuleSet* SiteRules::for_location(const config::LocationSection& loc) const {
  for (const auto& [l, set] : locs) {
    // A per-directory Site's routes point at the vhost's own sections, which it copied: compare what they say.
    if (l == &loc || (l->prefix == loc.prefix && l->where.file == loc.where.file && l->where.line == loc.where.line))
      return set->active() ? set.get() : nullptr;
  }
  return nullptr;
}

bool SiteRules::any() const {
  if (server && server->active()) return true;
  if (std::any_of(locs.begin(), locs.end(), [](const auto& l) { return l.second->active(); })) return true;
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
          l.args.size() >= 2 && !site->maps.has(l.args[0]))
        site->maps.define(l.args[0], l.args[1], l.args.size() == 3 ? std::string_view(l.args[2]) : std::string_view());
    }
  }
  if (own) {
    own->maps = &site->maps;
    site->server = own;
  }
  compile_dirs(*site, vh, site->maps, errors, [](size_t) { return std::shared_ptr<const RuleSet>(); });
  for (const auto& loc : vh.locations) {
    if (loc.rewrite.empty()) continue;
    std::string dir = loc.prefix;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    auto set = parse(loc.rewrite, site->maps, dir, errors);
    // RewriteEngine at the server/vhost level reaches it, as Apache's base per-directory config.
    if (!set->engine_set && site->server) set->engine_on = site->server->engine_on;
    set->maps = &site->maps;
    site->locs.emplace_back(&loc, std::move(set));
  }
  return site;
}

std::unique_ptr<SiteRules> derive_site(const SiteRules& base, const config::VirtualHost& base_vh,
                                       const config::VirtualHost& vh, std::vector<config::ConfigError>& errors) {
  auto site = std::make_unique<SiteRules>();
  site->trace = base.trace;
  site->server = base.server;
  // A section no .htaccess section encloses (at its path or above) merges
  // as it did in the vhost: its compiled set is reused.
  auto reuse = [&](size_t i) -> std::shared_ptr<const RuleSet> {
    const auto& d = vh.directories[i];
    if (d.htaccess) return nullptr;
    for (size_t j = 0; j < i; ++j) {
      if (vh.directories[j].htaccess && path_under(d.path, vh.directories[j].path)) return nullptr;
    }
    for (size_t k = 0; k < base_vh.directories.size() && k < base.dirs.size(); ++k) {
      const auto& b = base_vh.directories[k];
      if (b.path == d.path && b.where.file == d.where.file && b.where.line == d.where.line) {
        return base.dirs[k] ? base.dirs[k] : std::shared_ptr<const RuleSet>(std::make_shared<const RuleSet>());
      }
    }
    return nullptr;
  };
  compile_dirs(*site, vh, base.maps, errors, reuse);
  site->locs = base.locs;  // an .htaccess changes no <Location>
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

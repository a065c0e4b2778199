// The mod_rewrite directive table. The config layer only checks where each
// directive may appear and keeps the lines (config::RewriteLine, with
// file:line); src/rewrite compiles them (regexes, flags, maps) when the
// runtime is built and for `pillar -t`. Listed in directives/registry.cpp;
// docs/rewrite.md documents each directive.
#include "config/directives/tables.h"

namespace pillar::config {
namespace {

void d_rewrite(DirectiveSink&, const ConfigNode& n, Scope& s) {
  RewriteLine l{n.name, n.args, {n.file, n.line}};
  if (s.loc) s.loc->rewrite.push_back(std::move(l));
  else if (s.dir) s.dir->rewrite.push_back(std::move(l));
  else s.vhost.rewrite.push_back(std::move(l));
}

void d_rewrite_base(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args[0].empty() || n.args[0][0] != '/')
    return out.error(n, "RewriteBase " + n.args[0] + ": the base is a URL-path and starts with '/', e.g. RewriteBase /");
  d_rewrite(out, n, s);
}

void d_map_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  Millis v;
  std::string why;
  if (!parse_duration(n.args[0], v, why) || v.count() == 0)
    return out.error(n, "PillarRewriteMapTimeout: " + (v.count() == 0 && why.empty() ? std::string("give a time above 0") : why) +
                            ", e.g. PillarRewriteMapTimeout 500ms");
  s.server.rewrite_map_timeout = v;
}

void d_rewrite_log(DirectiveSink& out, const ConfigNode& n, Scope&) {
  out.error(n, n.name + " is gone since Apache 2.4; trace rules with LogLevel rewrite:trace3 (in the ErrorLog)");
}

constexpr DirectiveSpec kTable[] = {
    {"PillarRewriteMapTimeout", 1, 1, kServer, false, d_map_timeout, "PillarRewriteMapTimeout DURATION"},
    {"RewriteBase", 1, 1, kDirectory | kLocation, false, d_rewrite_base, "RewriteBase URL-PATH", kOrFileInfo},
    {"RewriteCond", 2, 3, kSV | kDirectory | kLocation, false, d_rewrite, "RewriteCond TESTSTRING CONDPATTERN [FLAGS]", kOrFileInfo},
    {"RewriteEngine", 1, 1, kSV | kDirectory | kLocation, false, d_rewrite, "RewriteEngine On|Off", kOrFileInfo},
    {"RewriteLog", 1, 1, kSV, false, d_rewrite_log, "RewriteLog (gone: LogLevel rewrite:trace3)"},
    {"RewriteLogLevel", 1, 1, kSV, false, d_rewrite_log, "RewriteLogLevel (gone: LogLevel rewrite:trace3)"},
    {"RewriteMap", 2, 3, kSV, false, d_rewrite, "RewriteMap NAME TYPE:SOURCE [user:group]"},
    {"RewriteOptions", 1, -1, kSV | kDirectory | kLocation, false, d_rewrite, "RewriteOptions Inherit|InheritBefore...", kOrFileInfo},
    {"RewriteRule", 2, 3, kSV | kDirectory | kLocation, false, d_rewrite, "RewriteRule PATTERN SUBSTITUTION [FLAGS]", kOrFileInfo},
};

}  // namespace

std::span<const DirectiveSpec> rewrite_directives() { return kTable; }

}  // namespace pillar::config

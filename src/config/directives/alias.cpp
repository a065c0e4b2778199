// The mod_alias directive table (Alias, AliasMatch, ScriptAlias,
// ScriptAliasMatch, Redirect, RedirectMatch, RedirectPermanent,
// RedirectTemp) and mod_dir's FallbackResource. Apache's contexts: the
// aliases in the server and <VirtualHost>; the redirects there, in
// <Directory> and (without the URL-path) in <Location>. Listed in
// directives/registry.cpp; docs/rewrite.md documents each directive.
#include "config/directives/tables.h"

#include "http/request.h"

namespace pillar::config {
namespace {

void d_alias(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  AliasRule a;
  a.where = {n.file, n.line};
  a.script = http::iequals(n.name, "ScriptAlias") || http::iequals(n.name, "ScriptAliasMatch");
  bool match = http::iequals(n.name, "AliasMatch") || http::iequals(n.name, "ScriptAliasMatch");
  a.from = n.args[0];
  a.to = n.args[1];
  if (match) {
    a.regex = std::make_shared<core::Regex>();
    std::string why = a.regex->compile(a.from);
    if (!why.empty()) return out.error(n, n.name + " " + a.from + ": " + why);
  } else {
    if (a.from.empty() || a.from[0] != '/') return out.error(n, n.name + " " + a.from + ": the URL-path starts with '/'");
    a.to = fs_path(s, a.to);
    // "Alias /icons/ /usr/share/icons/": normalize_fs_path drops the target's trailing slash; keep the pair consistent.
    if (a.from.size() > 1 && a.from.back() == '/' && a.to != "/") a.to.push_back('/');
  }
  if (match && (a.to.empty() || a.to[0] != '/'))
    return out.error(n, n.name + ": the target " + a.to + " must be an absolute filesystem path");
  s.vhost.alias_rules.push_back(std::move(a));
}

// "permanent" 301, "temp" 302, "seeother" 303, "gone" 410, or a number.
bool redirect_status(std::string_view w, int& status) {
  if (http::iequals(w, "permanent")) status = 301;
  else if (http::iequals(w, "temp")) status = 302;
  else if (http::iequals(w, "seeother")) status = 303;
  else if (http::iequals(w, "gone")) status = 410;
  else if (w.size() == 3 && w[0] >= '1' && w[0] <= '5' && std::isdigit(static_cast<unsigned char>(w[1])) &&
           std::isdigit(static_cast<unsigned char>(w[2])))
    status = (w[0] - '0') * 100 + (w[1] - '0') * 10 + (w[2] - '0');
  else return false;
  return true;
}

void d_redirect(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  AliasRule r;
  r.where = {n.file, n.line};
  r.status = 302;
  size_t i = 0;
  if (http::iequals(n.name, "RedirectPermanent")) r.status = 301;
  else if (http::iequals(n.name, "RedirectTemp")) r.status = 302;
  else if ((n.args.size() > 1 || s.loc || s.in_if) && redirect_status(n.args[0], r.status)) i = 1;
  bool match = http::iequals(n.name, "RedirectMatch");
  bool is_3xx = r.status >= 300 && r.status < 400;
  // In a <Location> the URL-path may be left out: the URL is then the whole
  // target (Apache evaluates it as an expression; Pillar takes it literally).
  size_t left_all = n.args.size() - i;
  bool omitted = (s.loc != nullptr || s.in_if) && !match && left_all == (is_3xx ? 1u : 0u);
  size_t want_path = omitted ? 0 : 1;
  r.whole = omitted;
  size_t left = left_all;
  if (left < want_path || left > want_path + 1)
    return out.error(n, n.name + ": expected " + std::string(want_path ? "[STATUS] URL-PATH" : "[STATUS]") +
                            (is_3xx ? " URL" : " [URL]") + ", e.g. Redirect permanent /old https://example.com/new");
  if (want_path) r.from = n.args[i++];
  if (i < n.args.size()) r.to = n.args[i];
  if (is_3xx && r.to.empty()) return out.error(n, n.name + " " + std::to_string(r.status) + ": a redirect needs a target URL");
  if (!is_3xx && !r.to.empty())
    return out.error(n, n.name + " " + std::to_string(r.status) +
                            ": only a 3xx status takes a URL; for " + std::to_string(r.status) + " leave the URL out");
  if (r.status < 300 || r.status > 599)
    return out.error(n, n.name + ": status " + std::to_string(r.status) + " is not a redirect or an error status");
  if (!r.to.empty() && r.to[0] != '/' && r.to.find("://") == std::string::npos)
    return out.error(n, n.name + ": the target " + r.to + " must be a URL (https://host/path) or a URL-path starting with '/'");
  if (match) {
    r.regex = std::make_shared<core::Regex>();
    std::string why = r.regex->compile(r.from);
    if (!why.empty()) return out.error(n, n.name + " " + r.from + ": " + why);
  } else if (want_path && (r.from.empty() || r.from[0] != '/')) {
    return out.error(n, n.name + " " + r.from + ": the URL-path starts with '/'");
  }
  if (s.loc) s.loc->redirects.push_back(std::move(r));
  else if (s.dir) s.dir->redirects.push_back(std::move(r));
  else s.vhost.redirects.push_back(std::move(r));
}

void d_fallback_resource(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string v = n.args[0];
  if (http::iequals(v, "disabled")) v.clear();
  else if (v.empty() || v[0] != '/')
    return out.error(n, "FallbackResource " + v + ": give a URL-path starting with '/', e.g. FallbackResource /index.php");
  if (s.dir) s.dir->fallback_resource = v;
  else s.vhost.fallback_resource = v;
}

constexpr DirectiveSpec kTable[] = {
    {"Alias", 2, 2, kSV, false, d_alias, "Alias URL-PATH FILE-OR-DIRECTORY"},
    {"AliasMatch", 2, 2, kSV, false, d_alias, "AliasMatch REGEX FILE-OR-DIRECTORY"},
    {"FallbackResource", 1, 1, kSV | kDirectory, false, d_fallback_resource, "FallbackResource URL-PATH|disabled", kOrIndexes},
    {"Redirect", 1, 3, kSV | kDirectory | kLocation, false, d_redirect, "Redirect [STATUS] URL-PATH URL", kOrFileInfo},
    {"RedirectMatch", 2, 3, kSV | kDirectory | kLocation, false, d_redirect, "RedirectMatch [STATUS] REGEX URL", kOrFileInfo},
    {"RedirectPermanent", 1, 2, kSV | kDirectory | kLocation, false, d_redirect, "RedirectPermanent URL-PATH URL", kOrFileInfo},
    {"RedirectTemp", 1, 2, kSV | kDirectory | kLocation, false, d_redirect, "RedirectTemp URL-PATH URL", kOrFileInfo},
    {"ScriptAlias", 2, 2, kSV, false, d_alias, "ScriptAlias URL-PATH DIRECTORY"},
    {"ScriptAliasMatch", 2, 2, kSV, false, d_alias, "ScriptAliasMatch REGEX DIRECTORY"},
};

}  // namespace

std::span<const DirectiveSpec> alias_directives() { return kTable; }

}  // namespace pillar::config

// Walks the section tree through the directive table into a ServerConfig.
// The main server is read first (all of it, wherever its lines sit), then
// each <VirtualHost> starts from a copy of it, which is how Apache merges.
#include "config/loader.h"

#include <unistd.h>

#include <algorithm>

#include "config/directives.h"
#include "config/expr.h"
#include "config/overrides.h"
#include "config/process_limits.h"
#include "config/section_tree.h"
#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

constexpr std::string_view kCommonFormat = "%h %l %u %t \"%r\" %>s %b";
constexpr std::string_view kCombinedFormat = "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"";

// <Files> wildcards go through fnmatch; the ~/Match forms are PCRE, as in
// Apache (Debian's own php8.2-fpm.conf uses "(?:ar|p|tml)"), with JIT.
bool compile_regex(DirectiveSink& out, const ConfigNode& n, const std::string& pattern, FilesSection& f) {
  auto re = std::make_shared<core::Regex>();
  if (std::string err = re->compile(pattern); !err.empty()) {
    out.error(n, "<" + n.name + "> regular expression '" + pattern + "' is invalid: " + err);
    return false;
  }
  f.regex = true;
  f.fast = std::move(re);
  return true;
}

class Loader {
 public:
  explicit Loader(ServerConfig& sc) : sc_(sc) {}
  DirectiveSink sink;

  void apply_nodes(const std::vector<ConfigNode>& nodes, Scope& s) { apply_seq(nodes, s); }

  void load(const std::vector<ConfigNode>& top) {
    sc_.main_server.log_formats["common"] = kCommonFormat;
    sc_.main_server.log_formats["combined"] = kCombinedFormat;
    Scope main{sc_, sc_.main_server};
    prev_ = nullptr;
    for (const auto& n : top) {
      if (!(n.section && http::iequals(n.name, "VirtualHost"))) apply(n, main);
      prev_ = &n;  // <ElseIf>/<Else> must follow their <If> directly (a <VirtualHost> between breaks the chain)
    }
    for (const auto& n : top) {
      if (n.section && http::iequals(n.name, "VirtualHost")) virtual_host(n);
    }
    finish(sc_.main_server);
    for (auto& vh : sc_.vhosts) finish(vh);
    resolve_proxy_targets(sc_.main_server);
    for (auto& vh : sc_.vhosts) resolve_proxy_targets(vh);
    resolve_fcgi_balancers();
    check_member_tls();
    resolve_rate_limits(sc_, sink);
    resolve_log_formats(sc_.main_server);
    for (auto& vh : sc_.vhosts) resolve_log_formats(vh);
    std::vector<std::string> warnings;
    // The cache wraps proxied locations only: say so where it can do nothing.
    auto cache_without_proxy = [&](const VirtualHost& vh) {
      bool enables = false, proxies = false;
      for (const auto& r : vh.cache.rules) enables = enables || r.enable;
      for (const auto& l : vh.locations) proxies = proxies || l.handler == HandlerKind::Proxy;
      if (enables && !proxies)
        warnings.push_back((vh.where.file.empty() ? std::string("the main server")
                                                  : vh.where.file + ":" + std::to_string(vh.where.line)) +
                           ": CacheEnable has no effect here: the cache applies to proxied locations (ProxyPass) only");
    };
    if (!sc_.vhosts.empty()) {
      for (const auto& vh : sc_.vhosts) cache_without_proxy(vh);
    } else {
      cache_without_proxy(sc_.main_server);
    }
    settle_process_config(sc_.process, warnings);
    for (auto& w : warnings) sink.notices.push_back(std::move(w));
    if (sc_.process.pid_file.empty() || sc_.process.pid_file[0] != '/')
      sc_.process.pid_file = normalize_fs_path(sc_.process.pid_file, sc_.server_root);
    if (sc_.listens.empty()) {
      sink.errors.push_back({sc_.config_file, 0, "no Listen directive; add one, e.g. Listen 80 or Listen 127.0.0.1:8080"});
    }
  }

 private:
  ServerConfig& sc_;
  const ConfigNode* prev_ = nullptr;  // the sibling before the node being applied (for <ElseIf>, <Else>)

  void apply(const ConfigNode& n, Scope& s) {
    if (n.section) return section(n, s);
    if (s.require_into && !http::iequals(n.name, "Require"))
      return sink.error(n, n.name + " is not allowed in a <RequireAll>, <RequireAny> or <RequireNone>: only Require "
                                    "lines and those sections go there");
    const DirectiveSpec* d = find_directive(n.name);
    if (s.htaccess) {
      if (!htaccess_check(n, d, s)) return;
    } else if (!d) {
      return sink.error(n, "unknown directive '" + n.name + "'; see docs/configuration.md for those Pillar accepts");
    }
    if (s.in_if && !(d->contexts & kDirectory) && d->overrides == kOrNone) {
      return sink.error(n, std::string(d->name) + " is not allowed in <If>: only per-directory directives (those "
                                                  "allowed in <Directory> or .htaccess) go there");
    }
    if (s.in_if && d->server_wide) {
      return sink.error(n, std::string(d->name) + " is not allowed in <If>: Pillar applies it server-wide");
    }
    if (!(d->contexts & s.ctx) && !(s.htaccess && s.ctx == kDirectory) && !s.in_if) {
      return sink.error(n, std::string(d->name) + " is not allowed in " + context_name(s.ctx) + "; syntax: " +
                               std::string(d->syntax));
    }
    int argc = static_cast<int>(n.args.size());
    if (argc < d->min_args || (d->max_args >= 0 && argc > d->max_args)) {
      return sink.error(n, std::string(d->name) + " takes " +
                               (d->min_args == d->max_args ? std::to_string(d->min_args)
                                : d->max_args < 0     ? "at least " + std::to_string(d->min_args)
                                                      : std::to_string(d->min_args) + " to " + std::to_string(d->max_args)) +
                               " argument(s), got " + std::to_string(argc) + "; syntax: " + std::string(d->syntax));
    }
    if (d->server_wide && s.ctx != kServer) {
      sink.notice(n, std::string(d->name) + " in " + context_name(s.ctx) +
                         " ignored: Pillar applies it server-wide; set it at the top level");
      // Still validated, into a scratch copy, so a typo is an error here too.
      ServerConfig scratch;
      scratch.server_root = sc_.server_root;
      Scope tmp{scratch, scratch.main_server};
      d->apply(sink, n, tmp);
      return;
    }
    d->apply(sink, n, s);
  }

  // An .htaccess line: Apache's "Invalid command" for an unknown name and
  // "not allowed here" for one its AllowOverride does not let in (each
  // ignored with a warning under Nonfatal=Unknown / Nonfatal=Override).
  bool htaccess_check(const ConfigNode& n, const DirectiveSpec* d, Scope& s) {
    const HtaccessPermissions& p = *s.htaccess;
    // What section_tree.cpp reads in httpd.conf (Include, Define...) is the admin's only.
    for (std::string_view read_time : {"Include", "IncludeOptional", "Define", "UnDefine", "ServerRoot", "LoadModule"}) {
      if (http::iequals(n.name, read_time))
        return sink.error(n, std::string(read_time) + " not allowed here: it cannot be used in .htaccess files"), false;
    }
    if (!d) {
      std::string msg = "Invalid command '" + n.name +
                        "', perhaps misspelled or defined by a module not included in the server configuration";
      if (p.allow.nonfatal_unknown) return sink.notice(n, msg + " (ignored: Nonfatal=Unknown)"), false;
      return sink.error(n, msg), false;
    }
    if (htaccess_allows(*d, p)) return true;
    std::string msg = std::string(d->name) + " not allowed here";
    if (d->overrides == kOrNone) msg += ": it cannot be used in .htaccess files";
    else
      msg += ": the AllowOverride for this directory" +
             (p.allow.where.file.empty() ? std::string()
                                         : " (" + p.allow.where.file + ":" + std::to_string(p.allow.where.line) + ")") +
             " does not include " + override_names(d->overrides) + " and no AllowOverrideList names it";
    if (p.allow.nonfatal_override && d->overrides != kOrNone) return sink.notice(n, msg + " (ignored: Nonfatal=Override)"), false;
    return sink.error(n, msg), false;
  }

  void body(const ConfigNode& n, Scope& s) { apply_seq(n.children, s); }

  void apply_seq(const std::vector<ConfigNode>& nodes, Scope& s) {
    const ConfigNode* saved = prev_;
    prev_ = nullptr;
    for (const auto& c : nodes) {
      apply(c, s);
      prev_ = &c;
    }
    prev_ = saved;
  }

  void section(const ConfigNode& n, Scope& s) {
    const std::string& name = n.name;
    auto need_arg = [&](std::string_view example) {
      if (n.args.empty()) {
        sink.error(n, "<" + name + "> needs an argument, e.g. " + std::string(example));
        return false;
      }
      return true;
    };
    const bool if_section = http::iequals(name, "If") || http::iequals(name, "ElseIf") || http::iequals(name, "Else");
    if (if_section) return if_block(n, s);
    if (s.in_if) {
      const bool require = http::iequals(name, "RequireAll") || http::iequals(name, "RequireAny") ||
                           http::iequals(name, "RequireNone");
      if (!require)
        return sink.error(n, "<" + name + "> is not allowed in <If>: an <If> may hold directives, <If>, <ElseIf>, "
                                         "<Else> and <RequireAll>, <RequireAny>, <RequireNone>");
    }
    if (s.htaccess) {
      const bool require = http::iequals(name, "RequireAll") || http::iequals(name, "RequireAny") ||
                           http::iequals(name, "RequireNone");
      if (!require && !http::iequals(name, "Files") && !http::iequals(name, "FilesMatch"))
        return sink.error(n, "<" + name + " not allowed here: an .htaccess file may hold <Files>, <FilesMatch>, "
                                         "<RequireAll>, <RequireAny>, <RequireNone>, <If>, <ElseIf>, <Else>, <IfModule> and <IfDefine> sections");
      if (require && !(s.htaccess->allow.categories & kOrAuthConfig))  // Apache: their override class is AuthConfig
        return sink.error(n, "<" + name + "> not allowed here: the AllowOverride for this directory does not include AuthConfig");
    }
    if (http::iequals(name, "VirtualHost")) {
      return sink.error(n, "<VirtualHost> is only allowed at the top level, not in " + context_name(s.ctx));
    }
    if (http::iequals(name, "Directory") || http::iequals(name, "DirectoryMatch")) {
      if (!(s.ctx & (kServer | kVHost)))
        return sink.error(n, "<" + name + "> is not allowed in " + context_name(s.ctx));
      if (!need_arg("<Directory \"/srv/www\">")) return;
      if (http::iequals(name, "DirectoryMatch") || n.args[0] == "~" || n.args.size() != 1)
        return sink.error(n, "<" + name + "> with a regular expression is not supported; use <Directory /path> "
                                           "with a plain path, or <FilesMatch> for file names");
      DirectorySection d;
      d.path = normalize_fs_path(n.args[0], sc_.server_root);
      d.where = {n.file, n.line};
      // A second section for the same path merges into the first, in file
      // order, as Apache applies both (a later line overrides an earlier one).
      for (auto& o : s.vhost.directories) {
        if (o.path != d.path) continue;
        Scope inner{s.server, s.vhost, &o, nullptr, nullptr, kDirectory};
        return body(n, inner);
      }
      Scope inner{s.server, s.vhost, &d, nullptr, nullptr, kDirectory};
      body(n, inner);
      s.vhost.directories.push_back(std::move(d));
      return;
    }
    if (http::iequals(name, "Files") || http::iequals(name, "FilesMatch")) {
      if (!(s.ctx & (kServer | kVHost | kDirectory)))
        return sink.error(n, "<" + name + "> is not allowed in " + context_name(s.ctx));
      if (!need_arg("<Files \".ht*\">")) return;
      FilesSection f;
      f.where = {n.file, n.line};
      bool is_regex = http::iequals(name, "FilesMatch") || (n.args[0] == "~" && n.args.size() == 2);
      f.pattern = n.args[0] == "~" && n.args.size() == 2 ? n.args[1] : n.args[0];
      if (n.args.size() > (n.args[0] == "~" ? 2u : 1u))
        return sink.error(n, "<" + name + "> takes one pattern; quote it if it contains spaces");
      if (is_regex && !compile_regex(sink, n, f.pattern, f)) return;
      Scope inner{s.server, s.vhost, s.dir, &f, nullptr, kFiles};
      inner.htaccess = s.htaccess;
      body(n, inner);
      (s.dir ? s.dir->files : s.vhost.files).push_back(std::move(f));
      return;
    }
    if (http::iequals(name, "Location") || http::iequals(name, "LocationMatch")) {
      if (!(s.ctx & (kServer | kVHost)))
        return sink.error(n, "<" + name + "> is not allowed in " + context_name(s.ctx));
      if (!need_arg("<Location \"/server-status\">")) return;
      if (http::iequals(name, "LocationMatch") || n.args[0] == "~" || n.args.size() != 1)
        return sink.error(n, "<" + name + "> with a regular expression is not supported; use a <Location /prefix>");
      if (n.args[0].empty() || n.args[0][0] != '/')
        return sink.error(n, "<Location " + n.args[0] + ">: the path must start with '/'");
      LocationSection l;
      l.prefix = n.args[0];
      while (l.prefix.size() > 1 && l.prefix.back() == '/' && l.prefix[l.prefix.size() - 2] == '/') l.prefix.pop_back();
      l.where = {n.file, n.line};
      for (auto& o : s.vhost.locations) {  // same path: merge in file order, as <Directory>
        if (o.prefix != l.prefix || o.match || o.handler == HandlerKind::Proxy || o.proxy_excluded) continue;
        Scope inner{s.server, s.vhost, nullptr, nullptr, &o, kLocation};
        return body(n, inner);
      }
      Scope inner{s.server, s.vhost, nullptr, nullptr, &l, kLocation};
      body(n, inner);
      s.vhost.locations.push_back(std::move(l));
      return;
    }
    if (http::iequals(name, "RequireAll") || http::iequals(name, "RequireAny") || http::iequals(name, "RequireNone"))
      return require_section(n, s);
    if (s.require_into)
      return sink.error(n, "<" + name + "> is not allowed in a <RequireAll>, <RequireAny> or <RequireNone>");
    if (http::iequals(name, "Vrrp")) return vrrp_section(n, s);
    if (http::iequals(name, "Proxy")) return proxy_section(n, s);
    sink.error(n, "unknown section <" + name + ">; Pillar accepts <VirtualHost>, <Directory>, <Files>, <FilesMatch>, "
                                            "<Location>, <RequireAll>, <RequireAny>, <RequireNone>, <Vrrp>, "
                                            "<If>, <ElseIf>, <Else>, <IfModule>, <IfDefine>");
  }

  // <If "EXPR">, <ElseIf "EXPR">, <Else> (core): the condition compiled
  // now, the body checked now against a scratch section (what it sets is
  // merged per request: server/if_sections.h), kept in the enclosing
  // section's list, nested ones in their parent's.
  void if_block(const ConfigNode& n, Scope& s) {
    const std::string& name = n.name;
    if (s.require_into) return sink.error(n, "<" + name + "> is not allowed in a <RequireAll>, <RequireAny> or <RequireNone>");
    if (s.ctx & (kVrrp | kProxy)) return sink.error(n, "<" + name + "> is not allowed in " + context_name(s.ctx));
    IfSection sec;
    sec.where = {n.file, n.line};
    sec.kind = http::iequals(name, "If") ? IfSection::Kind::If
               : http::iequals(name, "ElseIf") ? IfSection::Kind::ElseIf
                                              : IfSection::Kind::Else;
    std::vector<IfSection>& into = s.if_into ? *s.if_into
                                   : s.files  ? s.files->ifs
                                   : s.loc    ? s.loc->ifs
                                   : s.dir    ? s.dir->ifs
                                              : s.vhost.ifs;
    if (sec.kind != IfSection::Kind::If) {
      const bool follows = prev_ && prev_->section && (http::iequals(prev_->name, "If") || http::iequals(prev_->name, "ElseIf"));
      if (!follows)
        return sink.error(n, "<" + name + "> must directly follow an <If> or <ElseIf> section (only comments may come between)");
      // A preceding <If> that was refused has its own error.
      if (into.empty() || into.back().kind == IfSection::Kind::Else || into.back().where.line != prev_->line ||
          into.back().where.file != prev_->file)
        return;
    }
    if (sec.kind == IfSection::Kind::Else) {
      if (!n.args.empty()) return sink.error(n, "<Else> takes no condition; use <ElseIf \"EXPR\"> for one");
    } else {
      if (n.args.empty())
        return sink.error(n, "<" + name + "> needs a condition, e.g. <" + name + " \"%{HTTP_HOST} == 'example.com'\">");
      std::string text;
      for (const auto& a : n.args) text += (text.empty() ? "" : " ") + a;
      std::string why;
      sec.cond = Expr::compile(text, why);
      if (!sec.cond) return sink.error(n, "<" + name + " \"" + text + "\">: " + why);
    }
    auto body_nodes = std::make_shared<std::vector<ConfigNode>>();
    for (const auto& c : n.children) {
      const bool nested = c.section && (http::iequals(c.name, "If") || http::iequals(c.name, "ElseIf") ||
                                        http::iequals(c.name, "Else"));
      if (!nested) body_nodes->push_back(c);
    }
    // Checked now, into scratch copies: a typo is an error at load (and in `pillar -t`).
    ServerConfig scratch;
    scratch.server_root = sc_.server_root;
    VirtualHost scratch_vh;
    DirectorySection scratch_dir;
    scratch_dir.path = "/";
    Scope inner{scratch, scratch_vh, &scratch_dir, nullptr, nullptr, kDirectory};
    inner.htaccess = s.htaccess;
    inner.in_if = true;
    inner.if_into = &sec.nested;
    body(n, inner);
    // What the request path decides from these flags must see the body's settings.
    s.vhost.auth_anywhere = s.vhost.auth_anywhere || scratch_vh.auth_anywhere;
    s.vhost.output_filters_anywhere = s.vhost.output_filters_anywhere || scratch_vh.output_filters_anywhere;
    s.vhost.ifs_anywhere = true;
    sec.body = std::move(body_nodes);
    into.push_back(std::move(sec));
  }

  // <RequireAll>, <RequireAny>, <RequireNone> (mod_authz_core): a container
  // rule in the section's Require list (or in the enclosing container).
  void require_section(const ConfigNode& n, Scope& s) {
    if (!(s.ctx & (kDirectory | kFiles | kLocation)))
      return sink.error(n, "<" + n.name + "> is only allowed in <Directory>, <Files> or <Location>");
    if (!n.args.empty()) return sink.error(n, "<" + n.name + "> takes no argument");
    RequireRule c;
    c.kind = http::iequals(n.name, "RequireAll") ? RequireRule::Kind::All
             : http::iequals(n.name, "RequireAny") ? RequireRule::Kind::Any
                                                   : RequireRule::Kind::None;
    // <RequireNone> can only refuse: in an OR it would never matter.
    if (c.kind == RequireRule::Kind::None && (!s.require_into || !s.require_all))
      return sink.error(n, "<RequireNone> has no effect in " +
                               std::string(s.require_into ? "<RequireAny>" : "a section's implicit <RequireAny>") +
                               "; put it in a <RequireAll> with the rules it restricts");
    Scope inner = s;
    inner.require_into = &c.children;
    inner.require_all = c.kind == RequireRule::Kind::All;
    size_t errors = sink.errors.size();
    body(n, inner);
    if (sink.errors.size() != errors) return;
    if (c.children.empty())
      return sink.error(n, "<" + n.name + "> contains no Require line; add one, e.g. Require valid-user");
    if (s.require_into) s.require_into->push_back(std::move(c));
    else scope_access(s)->require.push_back(std::move(c));
  }

  void proxy_section(const ConfigNode& n, Scope& s) {
    if (s.ctx != kServer && s.ctx != kVHost) return sink.error(n, "<Proxy> is only allowed at the top level or in <VirtualHost>");
    if (!n.args.empty() && (n.args[0].rfind("fcgi://", 0) == 0 || n.args[0].rfind("unix:", 0) == 0)) {
      // mod_proxy_fcgi's manual defines a worker matching a SetHandler this
      // way (enablereuse=on max=10): Pillar pools FastCGI connections itself.
      if (!n.children.empty())
        return sink.error(n, "<Proxy " + n.args[0] + "> takes no directives in Pillar; leave it empty or remove it");
      sink.notice(n, "<Proxy " + n.args[0] + "> ignored: Pillar reuses FastCGI connections itself (docs/fastcgi.md)");
      return;
    }
    if (n.args.size() != 1 || n.args[0].rfind("balancer://", 0) != 0)
      return sink.error(n, "<Proxy> takes a balancer, e.g. <Proxy balancer://app>");
    BalancerConfig b;
    b.name = n.args[0].substr(11);
    while (!b.name.empty() && b.name.back() == '/') b.name.pop_back();
    if (b.name.empty()) return sink.error(n, "<Proxy balancer://>: the balancer needs a name");
    b.where = {n.file, n.line};
    for (const auto& o : s.server.balancers) {
      if (o.name == b.name) return sink.error(n, "balancer://" + b.name + " is defined twice");
    }
    Scope inner{s.server, s.vhost, nullptr, nullptr, nullptr, kProxy, nullptr, &b};
    body(n, inner);
    if (b.members.empty()) return sink.error(n, "balancer://" + b.name + " has no BalancerMember");
    s.server.balancers.push_back(std::move(b));
  }

  // ProxyPass may name a balancer defined further down: resolved at the end.
  void resolve_proxy_targets(VirtualHost& vh) {
    for (auto& l : vh.locations) {
      if (l.handler != HandlerKind::Proxy) continue;
      if (l.proxy.balancer >= 0) {  // a direct target: the vhost's SSLProxy* settings are its own
        sc_.balancers[static_cast<size_t>(l.proxy.balancer)].ssl_proxy.fill_from(vh.ssl_proxy);
        continue;
      }
      for (size_t i = 0; i < sc_.balancers.size(); ++i) {
        if (sc_.balancers[i].name == l.proxy.balancer_name) l.proxy.balancer = static_cast<int>(i);
      }
      if (l.proxy.balancer < 0) {
        sink.errors.push_back({l.where.file, l.where.line,
                               "ProxyPass to balancer://" + l.proxy.balancer_name +
                                   ", which no <Proxy balancer://" + l.proxy.balancer_name + "> defines"});
        continue;
      }
      auto& bal = sc_.balancers[static_cast<size_t>(l.proxy.balancer)];
      if (bal.fastcgi()) {
        // ProxyPass(Match) to a pool of fcgi:// members: a FastCGI location
        // (Apache's recipe: ProxyPassMatch ^/(.*\.php)$ balancer://php/var/www/$1).
        auto b = std::make_shared<FcgiBackend>();
        b->url = "balancer://" + bal.name + l.proxy.path;
        b->balancer_name = bal.name;
        b->balancer = l.proxy.balancer;
        b->path = l.proxy.path == "/" ? "" : l.proxy.path;
        b->where = l.where;
        l.handler = HandlerKind::FastCgi;
        l.fcgi = std::move(b);
        continue;
      }
      // What the balancer's <Proxy> section left unset comes from the
      // first vhost whose ProxyPass uses it (main server first).
      bal.ssl_proxy.fill_from(vh.ssl_proxy);
      for (const auto& p : l.proxy.params) {
        std::string why;
        if (!apply_balancer_param(p, sc_.balancers[static_cast<size_t>(l.proxy.balancer)], why))
          sink.errors.push_back({l.where.file, l.where.line, "ProxyPass: " + why});
      }
    }
  }

  // After every ProxyPass: a balancer nobody's ProxyPass names (RewriteRule
  // [P] reaches it) takes the server's SSLProxy* settings; https:// members
  // need SSLProxyEngine on, as mod_ssl says ("SSL Proxy requested ... but
  // not enabled").
  // SetHandler "proxy:balancer://NAME": the balancer, whose members must all be FastCGI.
  void resolve_fcgi_balancers() {
    for (auto& b : sc_.balancers) {
      bool fcgi = false, http = false;
      for (const auto& m : b.members) (m.fcgi ? fcgi : http) = true;
      if (fcgi && http)
        sink.errors.push_back({b.where.file, b.where.line,
                               "balancer://" + b.name + " mixes fcgi:// and http(s):// members; a balancer is one or the other"});
    }
    for (auto& f : sc_.fcgi_balanced) {
      for (size_t i = 0; i < sc_.balancers.size(); ++i)
        if (sc_.balancers[i].name == f->balancer_name) f->balancer = static_cast<int>(i);
      if (f->balancer < 0)
        sink.errors.push_back({f->where.file, f->where.line,
                               "proxy:balancer://" + f->balancer_name + ": no <Proxy balancer://" + f->balancer_name +
                                   "> defines it"});
      else if (!sc_.balancers[static_cast<size_t>(f->balancer)].fastcgi())
        sink.errors.push_back({f->where.file, f->where.line,
                               "proxy:balancer://" + f->balancer_name +
                                   " is a FastCGI handler, but that balancer's members are http://; give it "
                                   "BalancerMember fcgi://HOST:PORT (or unix:/PATH|fcgi://NAME) members"});
    }
  }

  void check_member_tls() {
    for (auto& b : sc_.balancers) {
      b.ssl_proxy.fill_from(sc_.main_server.ssl_proxy);
      if (!b.any_https() || b.ssl_proxy.engine) continue;
      std::string name = b.name.empty() ? b.members[0].url : "balancer://" + b.name;
      sink.errors.push_back({b.where.file, b.where.line,
                             name + " has https:// members but TLS to members is off: add SSLProxyEngine on "
                                    "(in the server, the <VirtualHost> or the <Proxy> section)"});
    }
  }

  void vrrp_section(const ConfigNode& n, Scope& s) {
    if (s.ctx != kServer) return sink.error(n, "<Vrrp> is only allowed at the top level");
    if (n.args.size() != 1) return sink.error(n, "<Vrrp> takes one name, e.g. <Vrrp front>");
    VrrpInstance v;
    v.name = n.args[0];
    v.where = {n.file, n.line};
    Scope inner{s.server, s.vhost, nullptr, nullptr, nullptr, kVrrp, &v};
    body(n, inner);
    auto missing = [&](const char* what, const char* example) {
      sink.error(n, std::string("<Vrrp ") + v.name + "> needs " + what + ", e.g. " + example);
    };
    if (v.interface.empty()) return missing("an Interface", "Interface eth0");
    if (v.vrid == 0) return missing("a VirtualRouterId", "VirtualRouterId 51");
    if (v.addresses.empty()) return missing("a VirtualAddress", "VirtualAddress 192.0.2.10/24");
    for (const auto& o : s.server.vrrp) {
      if (o.name == v.name) return sink.error(n, "<Vrrp " + v.name + "> is defined twice");
      if (o.interface == v.interface && o.vrid == v.vrid)
        return sink.error(n, "VirtualRouterId " + std::to_string(v.vrid) + " on " + v.interface + " is already used by <Vrrp " +
                                 o.name + ">");
    }
    if (v.version == 2 && v.advert_interval_cs % 100 != 0)
      return sink.error(n, "VrrpVersion 2 advertises whole seconds; use an AdvertInterval of 1s, 2s, ... or VrrpVersion 3");
    s.server.vrrp.push_back(std::move(v));
  }

  void virtual_host(const ConfigNode& n) {
    if (n.args.empty()) return sink.error(n, "<VirtualHost> needs an address, e.g. <VirtualHost *:80>");
    VirtualHost vh = sc_.main_server;  // inherit, then override
    vh.server_name.clear();
    vh.aliases.clear();
    vh.rewrite.clear();  // the main server's rules reach a vhost only with RewriteOptions Inherit (src/rewrite)
    vh.where = {n.file, n.line};
    for (const auto& a : n.args) {
      ListenAddress la;
      std::string why, text = a;
      if (text.rfind("_default_", 0) == 0) text.replace(0, 9, "*");
      if (text == "*" || text.find(':') == std::string::npos || text.back() == ']') text += ":0";  // any port
      if (text.size() > 2 && text.substr(text.size() - 2) == ":*") text.replace(text.size() - 1, 1, "0");
      if (!parse_listen(text, la, why)) return sink.error(n, "<VirtualHost " + a + ">: " + why);
      la.text = a;
      vh.addresses.push_back(la);
    }
    Scope s{sc_, vh, nullptr, nullptr, nullptr, kVHost};
    body(n, s);
    if (vh.server_name.empty()) vh.server_name = sc_.main_server.server_name;
    sc_.vhosts.push_back(std::move(vh));
  }

  void resolve_log_formats(VirtualHost& vh) {
    for (auto& cl : vh.custom_logs) {
      if (cl.nickname.empty()) continue;
      auto it = vh.log_formats.find(cl.nickname);
      if (it == vh.log_formats.end()) {
        sink.errors.push_back({cl.where.file, cl.where.line,
                               "CustomLog format '" + cl.nickname +
                                   "' is neither a format string nor a LogFormat nickname; define it with LogFormat "
                                   "\"...\" " + cl.nickname + " or use common or combined"});
        continue;
      }
      cl.format = it->second;
    }
  }

  static void finish(VirtualHost& vh) {
    // Shortest path first, so later (more specific) sections override.
    std::stable_sort(vh.directories.begin(), vh.directories.end(),
                     [](const DirectorySection& a, const DirectorySection& b) { return a.path.size() < b.path.size(); });
  }
};

LoadResult finish_load(TreeResult& tree, std::unique_ptr<ServerConfig> sc) {
  LoadResult r;
  sc->server_root = tree.server_root;
  sc->defines = tree.defines;
  sc->loaded_modules = tree.loaded_modules;
  Loader loader(*sc);
  if (tree.errors.empty()) loader.load(tree.top);
  r.errors = std::move(tree.errors);
  for (auto& e : loader.sink.errors) r.errors.push_back(std::move(e));
  sc->notices = std::move(tree.notices);
  for (auto& nt : loader.sink.notices) sc->notices.push_back(std::move(nt));
  if (r.errors.empty()) r.config = std::move(sc);
  return r;
}

std::string default_root(const std::string& file) {
  size_t slash = file.rfind('/');
  if (slash == std::string::npos) {
    char buf[4096];
    return getcwd(buf, sizeof buf) ? std::string(buf) : std::string(".");
  }
  if (slash == 0) return "/";
  std::string dir = file.substr(0, slash);
  if (dir[0] != '/') {
    char buf[4096];
    if (getcwd(buf, sizeof buf)) dir = normalize_fs_path(dir, buf);
  }
  return dir;
}

}  // namespace

void apply_htaccess(const std::vector<ConfigNode>& nodes, const std::string& server_root, VirtualHost& vh,
                    DirectorySection& dir, const HtaccessPermissions& perm, std::vector<ConfigError>& errors,
                    std::vector<std::string>& notices) {
  // Directives that would change the server write into a scratch copy
  // (none of them is allowed in .htaccess: this only keeps them harmless).
  ServerConfig scratch;
  scratch.server_root = server_root;
  Loader loader(scratch);
  Scope s{scratch, vh, &dir, nullptr, nullptr, kDirectory};
  s.htaccess = &perm;
  loader.apply_nodes(nodes, s);
  if (!dir.ifs.empty()) vh.ifs_anywhere = true;
  for (auto& e : loader.sink.errors) errors.push_back(std::move(e));
  for (auto& nt : loader.sink.notices) notices.push_back(std::move(nt));
}

void apply_if_body(const std::vector<ConfigNode>& nodes, const std::string& server_root, VirtualHost& vh,
                   DirectorySection& dir, std::vector<ConfigError>& errors, std::vector<std::string>& notices) {
  ServerConfig scratch;
  scratch.server_root = server_root;
  Loader loader(scratch);
  Scope s{scratch, vh, &dir, nullptr, nullptr, kDirectory};
  s.in_if = true;
  std::vector<IfSection> nested;  // the caller walks IfSection::nested itself; none is in `nodes`
  s.if_into = &nested;
  loader.apply_nodes(nodes, s);
  for (auto& e : loader.sink.errors) errors.push_back(std::move(e));
  for (auto& nt : loader.sink.notices) notices.push_back(std::move(nt));
}

LoadResult load_config_file(const std::string& path, const LoadOptions& opts) {
  TreeResult tree;
  TreeInput in{opts.defines, opts.server_root.empty() ? default_root(path) : opts.server_root};
  build_tree_from_file(path, in, tree);
  auto sc = std::make_unique<ServerConfig>();
  sc->config_file = path;
  return finish_load(tree, std::move(sc));
}

LoadResult load_config_text(std::string_view text, const std::string& name, const LoadOptions& opts) {
  TreeResult tree;
  std::string root = opts.server_root;
  if (root.empty()) {
    char buf[4096];
    root = getcwd(buf, sizeof buf) ? buf : "/";
  }
  TreeInput in{opts.defines, root};
  build_tree_from_text(text, name, in, tree);
  auto sc = std::make_unique<ServerConfig>();
  sc->config_file = name;
  return finish_load(tree, std::move(sc));
}

}  // namespace pillar::config

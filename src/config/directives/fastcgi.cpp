// mod_proxy_fcgi's configuration: the FastCGI handler ("SetHandler
// proxy:unix:/path.sock|fcgi://localhost" or "proxy:fcgi://host:port" in
// <Files>/<FilesMatch>/<Location>, ProxyPass/ProxyPassMatch to fcgi://),
// ProxyFCGIBackendType and ProxyFCGISetEnvIf; and ScriptSourceGuard,
// Pillar's own, which refuses to send a script's source. Listed in
// directives/registry.cpp; SetHandler (content.cpp) and ProxyPass/-Match
// (proxy.cpp) call in here for the proxy:/fcgi:// forms.
#include <sys/un.h>

#include <cstring>

#include "config/directives/tables.h"
#include "http/request.h"

namespace pillar::config {
namespace {

constexpr std::string_view kSupported =
    "use \"proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost\" or \"proxy:fcgi://127.0.0.1:9000\"";

FcgiOptions& scope_fcgi_options(Scope& s) {
  if (s.files) return s.files->fcgi_opts;
  if (s.loc) return s.loc->fcgi_opts;
  if (s.dir) return s.dir->fcgi_opts;
  return s.vhost.fcgi_opts;
}

// php_value NAME VALUE / php_flag NAME On|Off (php_admin_*: the same, not
// in .htaccess, and not overridden by php_value), as mod_php reads them:
// a flag becomes "1" or "0", the value "none" clears (an empty value).
void d_php(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string lname = core::lowercase(n.name);
  PhpSetting p;
  p.admin = lname.find("admin") != std::string::npos;
  bool flag = lname.size() > 4 && lname.substr(lname.size() - 4) == "flag";
  p.name = n.args[0];
  if (p.name.empty() || p.name.find_first_of("=\n\r") != std::string::npos)
    return out.error(n, n.name + " " + p.name + ": the first argument is a php.ini setting's name, e.g. " + n.name +
                            (flag ? " display_errors Off" : " memory_limit 256M"));
  const std::string& v = n.args[1];
  if (v.find_first_of("\n\r") != std::string::npos) return out.error(n, n.name + " " + p.name + ": the value cannot hold a line break");
  if (flag) {
    bool on = false;
    std::string why;
    if (!parse_on_off(v, on, why) && v != "1" && v != "0") return out.error(n, n.name + " " + p.name + " " + v + ": write On or Off");
    p.value = on || v == "1" ? "1" : "0";
  } else {
    p.value = http::iequals(v, "none") ? "" : v;
  }
  scope_fcgi_options(s).php.push_back(std::move(p));
}

// The FastCGI applications httpd.conf configures for this vhost: an
// .htaccess SetHandler "proxy:..." may name one of these, not any socket or
// host (a customer must not make the server connect where the admin did not).
bool configured_backend(const VirtualHost& vh, std::string_view url) {
  auto same = [&](const std::shared_ptr<const FcgiBackend>& b) { return b && b->url == url; };
  for (const auto& f : vh.files) {
    if (same(f.fcgi)) return true;
  }
  for (const auto& d : vh.directories) {
    if (d.htaccess) continue;
    for (const auto& f : d.files) {
      if (same(f.fcgi)) return true;
    }
  }
  for (const auto& l : vh.locations) {
    if (same(l.fcgi)) return true;
  }
  return false;
}

void d_backend_type(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string v = core::lowercase(n.args[0]);
  if (v == "fpm") scope_fcgi_options(s).backend = FcgiBackendType::Fpm;
  else if (v == "generic") scope_fcgi_options(s).backend = FcgiBackendType::Generic;
  else out.error(n, "ProxyFCGIBackendType " + n.args[0] + ": use FPM (PHP-FPM, the default) or GENERIC");
}

void d_pass_auth(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  bool on = false;
  std::string why;
  if (!parse_on_off(n.args[0], on, why)) return out.error(n, "CGIPassAuth " + n.args[0] + ": use On or Off");
  scope_fcgi_options(s).pass_auth = on;
}

void d_set_env_if(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  FcgiSetEnv e;
  std::string cond = core::lowercase(n.args[0]);
  if (cond == "true" || cond == "1") e.condition = true;
  else if (cond == "false" || cond == "0") e.condition = false;
  else
    return out.error(n, "ProxyFCGISetEnvIf: the condition '" + n.args[0] +
                            "' is not supported; Pillar takes \"true\" or \"false\" (values may use %{reqenv:NAME})");
  std::string_view name = n.args[1];
  if (!name.empty() && name[0] == '!') {
    e.unset = true;
    name.remove_prefix(1);
    if (n.args.size() > 2) return out.error(n, "ProxyFCGISetEnvIf: !" + std::string(name) + " unsets the variable and takes no value");
  }
  if (name.empty()) return out.error(n, "ProxyFCGISetEnvIf: the variable needs a name, e.g. ProxyFCGISetEnvIf true PATH_INFO /x");
  e.name = std::string(name);
  if (n.args.size() > 2) e.value = n.args[2];
  scope_fcgi_options(s).set_env.push_back(std::move(e));
}

void d_source_guard(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  bool on = false;
  std::string why;
  if (!parse_on_off(n.args[0], on, why))
    return out.error(n, "ScriptSourceGuard " + n.args[0] + ": use On [.EXT...] or Off");
  if (s.loc) {
    if (n.args.size() > 1) return out.error(n, "ScriptSourceGuard in <Location> takes On or Off; set the extensions at the server or vhost level");
    s.loc->source_guard = on;
    return;
  }
  s.vhost.source_guard = on;
  if (n.args.size() > 1) {
    if (!on) return out.error(n, "ScriptSourceGuard Off takes no extensions");
    s.vhost.script_extensions.clear();
    for (size_t i = 1; i < n.args.size(); ++i) {
      std::string ext = core::lowercase(n.args[i]);
      if (ext.empty() || ext == ".") return out.error(n, "ScriptSourceGuard: empty extension");
      if (ext[0] != '.') ext = "." + ext;  // not insert(0, ...): GCC 12 -Wrestrict false positive
      s.vhost.script_extensions.push_back(std::move(ext));
    }
  }
}

constexpr DirectiveSpec kTable[] = {
    {"CGIPassAuth", 1, 1, kSV | kFiles | kLocation, false, d_pass_auth, "CGIPassAuth On|Off", kOrAuthConfig},
    {"ProxyFCGIBackendType", 1, 1, kSV | kFiles | kLocation, false, d_backend_type, "ProxyFCGIBackendType FPM|GENERIC"},
    {"ProxyFCGISetEnvIf", 2, 3, kSV | kFiles | kLocation, false, d_set_env_if,
     "ProxyFCGISetEnvIf true|false [!]VARIABLE [VALUE]"},
    {"ScriptSourceGuard", 1, -1, kSV | kLocation, false, d_source_guard, "ScriptSourceGuard On [.EXT...]|Off"},
    // mod_php's names, for PHP-FPM (php_value needs AllowOverride Options in .htaccess, as with mod_php)
    {"php_admin_flag", 2, 2, kSV | kPerDir, false, d_php, "php_admin_flag NAME On|Off"},
    {"php_admin_value", 2, 2, kSV | kPerDir, false, d_php, "php_admin_value NAME VALUE"},
    {"php_flag", 2, 2, kSV | kPerDir, false, d_php, "php_flag NAME On|Off", kOrOptions},
    {"php_value", 2, 2, kSV | kPerDir, false, d_php, "php_value NAME VALUE", kOrOptions},
};

}  // namespace

std::span<const DirectiveSpec> fastcgi_directives() { return kTable; }

bool parse_fcgi_backend(std::string_view url, FcgiBackend& b, std::string& why) {
  b.url = std::string(url);
  std::string_view fcgi = url;
  if (url.rfind("unix:", 0) == 0) {
    size_t bar = url.find('|');
    if (bar == std::string_view::npos)
      return why = std::string(url) + ": a unix socket is written unix:/PATH|fcgi://NAME; " + std::string(kSupported), false;
    std::string_view path = url.substr(5, bar - 5);
    if (path.empty() || path[0] != '/') return why = std::string(url) + ": the socket path must be absolute", false;
    sockaddr_un un{};
    if (path.size() >= sizeof un.sun_path) return why = std::string(url) + ": the socket path is too long", false;
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path.data(), path.size());
    std::memcpy(&b.addr, &un, sizeof un);
    b.addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    b.unix_socket = true;
    b.socket_path = std::string(path);
    fcgi = url.substr(bar + 1);
  }
  if (fcgi.rfind("balancer://", 0) == 0) {  // a pool of fcgi:// BalancerMembers, resolved at the end of the load
    if (b.unix_socket) return why = std::string(url) + ": a balancer's members give the sockets; write proxy:balancer://NAME", false;
    std::string_view rest = fcgi.substr(11);
    size_t slash = rest.find('/');
    b.balancer_name = std::string(rest.substr(0, slash));
    b.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
    if (b.path == "/") b.path.clear();
    if (b.balancer_name.empty()) return why = std::string(url) + ": balancer:// needs a name", false;
    return true;
  }
  if (fcgi.rfind("fcgi://", 0) != 0)
    return why = std::string(url) + ": not a FastCGI address; " + std::string(kSupported), false;
  std::string_view rest = fcgi.substr(7);
  size_t slash = rest.find('/');
  b.authority = std::string(rest.substr(0, slash));
  b.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  if (b.path == "/") b.path.clear();
  if (b.authority.empty()) return why = std::string(url) + ": fcgi:// needs a host, e.g. fcgi://localhost", false;
  if (b.unix_socket) return true;  // the name after fcgi:// only names the worker
  BalancerMemberConfig m;
  std::string ignored;
  std::string hostport = b.authority;
  if (hostport.find(':') == std::string::npos || (hostport[0] == '[' && hostport.back() == ']'))
    hostport += ":8000";  // mod_proxy_fcgi's default port
  if (!parse_member_url("http://" + hostport, m, ignored, why)) {
    why = std::string(url) + ": " + why.substr(why.find(':') + 2);
    return false;
  }
  b.addr = m.addr;
  b.addr_len = m.addr_len;
  return true;
}

bool fcgi_set_handler(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string_view v = n.args[0];
  v.remove_prefix(6);  // "proxy:"
  auto b = std::make_shared<FcgiBackend>();
  std::string why;
  if (!parse_fcgi_backend(v, *b, why)) return out.error(n, "SetHandler " + n.args[0] + ": " + why), false;
  b->where = {n.file, n.line};
  if (!b->balancer_name.empty()) s.server.fcgi_balanced.push_back(b);
  if (!b->path.empty()) {
    return out.error(n, "SetHandler " + n.args[0] + ": the handler form takes no path after the host (the file is the request's); "
                                                    "use ProxyPassMatch for a path"),
           false;
  }
  if (s.htaccess && !configured_backend(s.vhost, b->url)) {
    return out.error(n, "SetHandler " + n.args[0] + " in .htaccess names a FastCGI application this site's "
                                                    "configuration does not use; name one the server configuration "
                                                    "sets up (SetHandler \"proxy:...\" in httpd.conf)"),
           false;
  }
  if (s.files) {
    s.files->fcgi = std::move(b);
  } else if (s.loc) {
    s.loc->handler = HandlerKind::FastCgi;
    s.loc->fcgi = std::move(b);
  }
  return true;
}

bool fcgi_pass(DirectiveSink& out, const ConfigNode& n, Scope& s, std::string_view prefix, std::string_view url,
               std::shared_ptr<std::regex> match) {
  auto b = std::make_shared<FcgiBackend>();
  std::string why;
  if (!parse_fcgi_backend(url, *b, why)) return out.error(n, n.name + ": " + why), false;
  b->where = {n.file, n.line};
  if (!b->balancer_name.empty()) s.server.fcgi_balanced.push_back(b);
  LocationSection l;
  l.prefix = std::string(prefix);
  l.where = {n.file, n.line};
  l.handler = HandlerKind::FastCgi;
  l.match = std::move(match);
  l.fcgi = std::move(b);
  s.vhost.locations.push_back(std::move(l));
  return true;
}

}  // namespace pillar::config

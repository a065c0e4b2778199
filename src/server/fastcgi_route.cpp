#include "server/fastcgi_route.h"

#include <sys/stat.h>

#include <algorithm>
#include <regex>

#include "core/log.h"
#include "core/text.h"
#include "server/site.h"

namespace pillar::server {
namespace {

bool files_match(const config::FilesSection& f, std::string_view name) {
  if (f.fast) return f.fast->match(name) == core::Regex::Result::Match;
  return f.matches(name);
}

// `dir` is at or under the section's path.
bool under(std::string_view dir, std::string_view section) {
  if (section == "/") return true;
  return dir.substr(0, section.size()) == section && (dir.size() == section.size() || dir[section.size()] == '/');
}

bool any_fcgi_files(const config::VirtualHost& vh) {
  for (const auto& f : vh.files) {
    if (f.fcgi) return true;
  }
  for (const auto& d : vh.directories) {
    for (const auto& f : d.files) {
      if (f.fcgi) return true;
    }
  }
  return false;
}

bool segment_may_match(const config::VirtualHost& vh, std::string_view seg, bool fcgi_files, bool guard) {
  if (guard && has_script_extension(seg, vh.script_extensions)) return true;
  if (!fcgi_files) return false;
  for (const auto& f : vh.files) {
    if (f.fcgi && files_match(f, seg)) return true;
  }
  for (const auto& d : vh.directories) {
    for (const auto& f : d.files) {
      if (f.fcgi && files_match(f, seg)) return true;
    }
  }
  return false;
}

bool regular_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool directory(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The file a path names: DocumentRoot + the longest-from-the-left prefix of
// `path` that is a regular file (the rest is PATH_INFO), or a directory's
// index. False when there is none.
bool find_script(const config::VirtualHost& vh, const std::string& path, std::string& file, std::string& script_name,
                 std::string& path_info) {
  const std::string& root = vh.document_root;
  if (root.empty()) return false;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string candidate = root + path.substr(0, end);
    if (regular_file(candidate)) {
      file = std::move(candidate);
      script_name = path.substr(0, end);
      path_info = path.substr(end);
      return true;
    }
    if (end == path.size()) break;
    pos = end + 1;
  }
  if (!path.empty() && path.back() == '/' && directory(root + path)) {
    for (const auto& idx : vh.directory_index) {
      std::string candidate = root + path + idx;
      if (regular_file(candidate)) {
        file = std::move(candidate);
        script_name = path + idx;
        path_info.clear();
        return true;
      }
    }
  }
  return false;
}

// ProxyPass/ProxyPassMatch fcgi://: the script path from the template.
std::string template_path(const config::LocationSection& loc, const std::string& path) {
  const std::string& tpl = loc.fcgi->path;
  if (loc.match) {
    std::match_results<std::string::const_iterator> m;
    std::regex_search(path.cbegin(), path.cend(), m, *loc.match);
    return m.format(tpl);
  }
  std::string rest = path.substr(std::min(loc.prefix.size(), path.size()));
  std::string out = tpl;
  if (!out.empty() && out.back() == '/' && !rest.empty() && rest.front() == '/') rest.erase(0, 1);
  if ((out.empty() || out.back() != '/') && !rest.empty() && rest.front() != '/') out.push_back('/');
  return out + rest;
}

void take_options(FastcgiRoute& r, const config::FcgiOptions& o) {
  if (o.backend) r.backend_type = *o.backend;
  if (o.pass_auth) r.pass_auth = *o.pass_auth;
  r.set_env.insert(r.set_env.end(), o.set_env.begin(), o.set_env.end());
  for (const auto& p : o.php) {
    // A later setting of the same name wins; php_value never overrides php_admin_value (mod_php's rule).
    auto same = std::find_if(r.php.begin(), r.php.end(), [&](const config::PhpSetting& q) { return q.name == p.name; });
    if (same == r.php.end()) r.php.push_back(p);
    else if (p.admin || !same->admin) *same = p;
  }
}

// PHP_VALUE / PHP_ADMIN_VALUE: "name=value" lines joined with "\n", as
// PHP-FPM reads them; before ProxyFCGISetEnvIf, which may override them.
void php_params(FastcgiRoute& r) {
  std::string value, admin;
  for (const auto& p : r.php) {
    std::string& to = p.admin ? admin : value;
    if (!to.empty()) to.push_back('\n');
    to += p.name + "=" + p.value;
  }
  std::vector<config::FcgiSetEnv> php;
  if (!value.empty()) php.push_back({true, false, "PHP_VALUE", value});
  if (!admin.empty()) php.push_back({true, false, "PHP_ADMIN_VALUE", admin});
  r.set_env.insert(r.set_env.begin(), php.begin(), php.end());
}

}  // namespace

bool has_script_extension(std::string_view name, const std::vector<std::string>& exts) {
  for (const auto& e : exts) {
    if (name.size() > e.size() && core::iequals(name.substr(name.size() - e.size()), e)) return true;
  }
  return false;
}

const config::FcgiBackend* configured_backend(const config::VirtualHost& vh, std::string_view url) {
  auto same = [&](const std::shared_ptr<const config::FcgiBackend>& b) { return b && b->url == url; };
  for (const auto& f : vh.files) {
    if (same(f.fcgi)) return f.fcgi.get();
  }
  for (const auto& d : vh.directories) {
    for (const auto& f : d.files) {
      if (!d.htaccess && same(f.fcgi)) return f.fcgi.get();
    }
  }
  for (const auto& l : vh.locations) {
    if (same(l.fcgi)) return l.fcgi.get();
  }
  return nullptr;
}

FastcgiRoute route_fastcgi(const Site& site, const LocationRoute* route, const std::string& path,
                           const config::AccessSubject& who, std::string_view rewrite_handler) {
  FastcgiRoute r;
  const config::VirtualHost& vh = *site.cfg;
  const config::LocationSection* loc = route ? route->cfg : nullptr;
  take_options(r, vh.fcgi_opts);
  if (loc) take_options(r, loc->fcgi_opts);

  if (loc && loc->handler == config::HandlerKind::FastCgi && !loc->fcgi->path.empty()) {
    // ProxyPass/ProxyPassMatch: the application maps the path (mod_proxy_fcgi
    // sends no PATH_INFO; PHP-FPM splits SCRIPT_FILENAME itself).
    php_params(r);
    r.kind = FastcgiRoute::Kind::Run;
    r.backend = loc->fcgi.get();
    r.script_filename = template_path(*loc, path);
    r.script_name = path;
    r.fcgi_prefix = "proxy:fcgi://" + r.backend->authority;
    return r;
  }

  // RewriteRule [H=handler] wins over the configured handler: "proxy:URL"
  // naming one of the vhost's FastCGI applications runs the file there
  // (like SetHandler in a <Location>); anything else is the default handler
  // (None, default-handler, or a handler Pillar lacks: Apache logs
  // "handler not found" and serves the file by default too).
  const config::FcgiBackend* forced = nullptr;
  const bool forced_default = !rewrite_handler.empty() &&
                              !(core::istarts_with(rewrite_handler, "proxy:") &&
                                (forced = configured_backend(vh, rewrite_handler.substr(6))) != nullptr);
  if (forced_default && !core::iequals(rewrite_handler, "none") && !core::iequals(rewrite_handler, "default-handler"))
    core::log(core::LogLevel::Warn, "core", "RewriteRule [H={}]: handler not found (not a FastCGI application this "
                                            "site configures); {} is served by the default handler", rewrite_handler, path);
  const bool loc_handler = forced || (!forced_default && loc && loc->handler == config::HandlerKind::FastCgi);
  const config::FcgiBackend* loc_backend = forced ? forced : loc_handler ? loc->fcgi.get() : nullptr;
  const bool guard = loc && loc->source_guard ? *loc->source_guard : vh.source_guard;
  const bool fcgi_files = any_fcgi_files(vh);
  if (!loc_handler) {
    if (loc && (loc->handler != config::HandlerKind::Default || route->handler)) return r;  // another handler answers
    // Only a path with a segment that could be a script is walked.
    bool candidate = path.size() > 1 && path.back() == '/' &&
                     std::any_of(vh.directory_index.begin(), vh.directory_index.end(), [&](const std::string& idx) {
                       return segment_may_match(vh, idx, fcgi_files, guard);
                     });
    for (size_t pos = 1; !candidate && pos < path.size();) {
      size_t end = path.find('/', pos);
      if (end == std::string::npos) end = path.size();
      candidate = segment_may_match(vh, std::string_view(path).substr(pos, end - pos), fcgi_files, guard);
      pos = end + 1;
    }
    if (path == "/") {
      for (const auto& idx : vh.directory_index) candidate = candidate || segment_may_match(vh, idx, fcgi_files, guard);
    }
    if (!candidate) return r;
  }

  std::string file, script_name, path_info;
  if (!find_script(vh, path, file, script_name, path_info)) {
    if (!loc_handler) return r;  // nothing there: the static handler answers 404
    file = vh.document_root + path;  // SetHandler in <Location>: the application answers for it
    script_name = path;
  }
  std::string_view base = std::string_view(file).substr(file.rfind('/') + 1);
  std::string_view dir = std::string_view(file).substr(0, file.rfind('/'));

  // Access: the <Directory> sections holding the file, then its <Files>.
  const config::AccessPolicy* access = nullptr;
  const config::FilesSection* handler_files = nullptr;
  bool handler_none = false;
  auto apply_files = [&](const std::vector<config::FilesSection>& files) {
    for (const auto& f : files) {
      if (!files_match(f, base)) continue;
      if (!f.access.empty()) access = &f.access;
      if (f.fcgi) {
        handler_files = &f;
        handler_none = false;
      } else if (f.handler_none) {
        handler_files = nullptr;
        handler_none = true;
      }
      take_options(r, f.fcgi_opts);
    }
  };
  for (const auto& d : vh.directories) {
    if (!under(dir, d.path)) continue;
    if (!d.access.empty()) access = &d.access;
    take_options(r, d.fcgi_opts);  // php_value & co. in <Directory> and .htaccess
  }
  apply_files(vh.files);
  for (const auto& d : vh.directories) {
    if (under(dir, d.path)) apply_files(d.files);
  }

  // <Location> is merged after <Files> (Apache's order): its handler wins.
  const config::FcgiBackend* backend = nullptr;
  if (loc_handler) backend = loc_backend;
  else if (handler_files && !handler_none && !forced_default) backend = handler_files->fcgi.get();
  if (!backend) {
    if (guard && has_script_extension(base, vh.script_extensions)) {
      r.kind = FastcgiRoute::Kind::Refuse;
      r.script_filename = std::move(file);
    }
    return r;
  }
  if (access && !access->allows(who)) {
    r.kind = FastcgiRoute::Kind::Forbidden;
    return r;
  }
  php_params(r);
  r.kind = FastcgiRoute::Kind::Run;
  r.backend = backend;
  r.script_filename = std::move(file);
  r.script_name = std::move(script_name);
  r.path_info = std::move(path_info);
  r.fcgi_prefix = "proxy:fcgi://" + backend->authority;
  return r;
}

}  // namespace pillar::server

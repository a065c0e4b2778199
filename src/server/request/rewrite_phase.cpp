// The URL-mapping phase (see rewrite_phase.h). The rewrite engine sees the
// request through RequestRewriteContext; a rewritten path is stored in the
// Request's RewriteState and the head's path/query views point at it, so
// the rest of the path (access, proxy, handlers) sees the request as routed.
// The access log's %r keeps the request line as received.
#include "server/request/rewrite_phase.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/log.h"
#include "core/text.h"
#include "http/uri.h"
#include "rewrite/alias.h"
#include "rewrite/engine.h"
#include "core/clock.h"
#include "proxy/balancer_runtime.h"
#include "server/htaccess.h"
#include "server/if_sections.h"
#include "server/request/expr_input.h"
#include "server/request/userdir.h"
#include "server/site.h"

namespace pillar::server {
namespace {

using Action = rewrite::Outcome::Action;

class RequestRewriteContext final : public rewrite::Context {
 public:
  RequestRewriteContext(Request& req, const RewritePhaseEnv& env) : req_(req), env_(env) {}

  std::string variable(std::string_view n) override {
    const auto& vh = *req_.site->cfg;
    if (n == "REQUEST_URI") return req_.path;
    if (n == "REQUEST_METHOD") return std::string(req_.head.method_name);
    if (n == "REMOTE_ADDR") return req_.client_ip;
    if (n == "HTTPS") return req_.https ? "on" : "off";
    if (n == "REQUEST_SCHEME") return req_.https ? "https" : "http";
    if (n == "SERVER_NAME") return vh.server_name.empty() ? req_.host : vh.server_name;
    if (n == "SERVER_PORT") return std::to_string(env_.local_port);
    if (n == "SERVER_ADDR") return std::string(env_.local_ip);
    if (n == "DOCUMENT_ROOT") return vh.document_root;
    if (n == "SERVER_PROTOCOL") return req_.head.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
    if (n == "SERVER_SOFTWARE") return env_.runtime.config().server_tokens;
    if (n == "THE_REQUEST") return std::string(req_.request_line);
    if (n == "API_VERSION") return "20120211:0";
    return {};
  }
  std::string_view header(std::string_view name) override { return req_.head.find(name); }
  std::string env(std::string_view name) override { return std::string(req_.env.get(name)); }
  void set_env(std::string_view name, std::string_view value) override { req_.env.set(name, value); }
  void unset_env(std::string_view name) override { req_.env.unset(name); }
  rewrite::FileInfo file_info(const std::string& path) override {
    rewrite::FileInfo f;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return f;
    f.symlink = S_ISLNK(st.st_mode);
    if (f.symlink && stat(path.c_str(), &st) != 0) return f;
    f.exists = true;
    f.directory = S_ISDIR(st.st_mode);
    f.regular = S_ISREG(st.st_mode);
    f.size = static_cast<uint64_t>(st.st_size);
    f.executable = (st.st_mode & 0111) != 0;
    return f;
  }
  std::string url_to_file(std::string_view url) override { return req_.site->cfg->document_root + std::string(url); }
  void trace(std::string_view line) override {
    core::ErrorLog::write(core::LogLevel::Debug, "rewrite",
                          fmt::format("[client {}] [{}] {}", req_.client_ip, req_.host, line));
  }

 private:
  Request& req_;
  const RewritePhaseEnv& env_;
};

std::string server_url(const Request& req, const RewritePhaseEnv& env) {
  std::string url = req.https ? "https://" : "http://";
  if (!req.head.authority.empty()) {
    url.append(req.head.authority);
  } else {
    url += req.site->cfg->server_name.empty() ? std::string(env.local_ip) : req.site->cfg->server_name;
    if (env.local_port != (req.https ? 443 : 80)) url += ":" + std::to_string(env.local_port);
  }
  return url;
}

void respond_status(Request& req, int status) { req.resp.error(status); }

void respond_redirect(Request& req, int status, const std::string& location) {
  req.resp.error(status);
  req.resp.add_header("Location", location);
}

void respond_error(Request& req, const std::string& why) {
  core::log(core::LogLevel::Error, "rewrite", "[client {}] {}: {} answered 500", req.client_ip, why, req.path);
  req.resp.error(500);
}

// The URL-path (decoded) and query the request goes on with, routed again.
// False (the request answered with the status) for a path that does not
// normalize (one climbing above "/" after the rewrite).
bool set_url(Request& req, std::string_view path, const std::string* query) {
  std::string decoded;
  int status = 0;
  // The new path is literal (decoded); it must still not climb out of "/".
  std::string escaped = http::url_escape_path(path);
  if (escaped.empty() || escaped[0] != '/') escaped.insert(escaped.begin(), '/');
  if (!http::normalize_path(escaped, decoded, status)) {
    req.resp.error(status ? status : 400);
    return false;
  }
  req.path = std::move(decoded);
  req.rewrite.target_path = http::url_escape_path(req.path);
  req.head.path = req.rewrite.target_path;
  if (query) {
    req.rewrite.target_query = *query;
    req.head.query = req.rewrite.target_query;
  }
  req.route = req.site->match(req.path, req.head, req.client);
  return true;
}

// [P] to balancer://NAME/path, or to http://host:port/path of a balancer's member.
bool route_proxy(Request& req, const RewritePhaseEnv& env, const std::string& url) {
  const Site& site = *req.site;
  std::string_view u = url;
  size_t scheme_end = u.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string scheme = core::lowercase(u.substr(0, scheme_end));
  std::string_view rest = u.substr(scheme_end + 3);
  size_t slash = rest.find_first_of("/?");
  std::string authority = core::lowercase(rest.substr(0, slash));
  std::string target = slash == std::string_view::npos ? std::string("/") : std::string(rest.substr(slash));
  if (target[0] == '?') target.insert(target.begin(), '/');
  const auto& balancers = env.runtime.balancers();
  for (size_t i = 0; i < balancers.size() && i < site.rewrite_proxy_routes.size(); ++i) {
    const config::BalancerConfig& b = *balancers[i]->cfg;
    bool hit = false;
    if (scheme == "balancer") {
      hit = !b.name.empty() && core::lowercase(b.name) == authority;
    } else if (scheme == "http") {
      for (const auto& m : b.members) {
        std::string hp = core::lowercase(m.host);
        // m.host is what the Host header carries: "name", or "name:port" off port 80.
        if (authority == hp || authority == hp + ":" + std::to_string(m.port) ||
            (m.port == 80 && authority + ":80" == hp))
          hit = true;
      }
    }
    if (!hit) continue;
    req.route = &site.rewrite_proxy_routes[i];
    req.rewrite.proxy_target = target;
    return true;
  }
  return false;
}

enum class Step { Next, Respond, Again };

// A rule's outcome that answers or proxies; Next for the mapping kinds.
Step finish_outcome(Request& req, const RewritePhaseEnv& env, const rewrite::Outcome& o) {
  for (const auto& c : o.set_cookies) req.rewrite.set_cookies.push_back(c);
  for (const auto& v : o.vary) req.rewrite.vary.push_back(v);
  if (!o.type.empty()) req.rewrite.forced_type = o.type;
  if (!o.handler.empty()) req.rewrite.handler = o.handler;  // H=: the FastCGI phase reads it
  if (o.end) req.rewrite.end = true;
  switch (o.action) {
    case Action::Redirect: respond_redirect(req, o.status, o.location); break;
    case Action::Status: respond_status(req, o.status); break;
    case Action::Error: respond_error(req, o.error); break;
    case Action::Proxy:
      if (route_proxy(req, env, o.proxy_url)) return Step::Next;
      respond_error(req, "RewriteRule [P] to " + o.proxy_url +
                             ": no balancer has this member; declare it with <Proxy balancer://NAME> BalancerMember");
      break;
    default: return Step::Next;
  }
  for (const auto& c : req.rewrite.set_cookies) req.resp.add_header("Set-Cookie", c);
  return Step::Respond;
}

// The deepest <Directory> around `filename` that has `field` set.
template <typename Pred>
const config::DirectorySection* deepest(const config::VirtualHost& vh, std::string_view filename, Pred has) {
  const config::DirectorySection* found = nullptr;
  for (const auto& d : vh.directories) {
    if (has(d) && rewrite::path_under(filename, d.path)) found = &d;
  }
  return found;
}

// Apache's directory walk splits the filename where the path stops being
// directories: at a file (/www/index.php + /extra) or at the first missing
// component (/www/2024 + /01/hello); what follows is PATH_INFO, which
// per-directory rules see appended (and [DPI] drops). Components under the
// DocumentRoot are stat'ed only when the whole name does not exist.
void split_path_info(const std::string& filename, std::string_view root, std::string& file, std::string& info) {
  struct stat st {};
  file = filename;
  info.clear();
  if (::stat(filename.c_str(), &st) == 0) return;
  size_t pos = !root.empty() && root != "/" && rewrite::path_under(filename, root) ? root.size() : 0;
  while (pos < filename.size()) {
    size_t end = filename.find('/', pos + 1);
    if (end == std::string::npos) return;  // only the last component is missing: no PATH_INFO
    std::string prefix = filename.substr(0, end);
    if (::stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      file = std::move(prefix);
      info = filename.substr(end);
      return;
    }
    pos = end;
  }
}

bool file_missing(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) return false;
  return errno == ENOENT || errno == ENOTDIR;
}

// FallbackResource's "no such file": Apache's mod_dir falls back only when
// core's walk found nothing (finfo NOFILE). /index.php/feed/ finds index.php
// with PATH_INFO /feed/ and runs it, as a front controller's PATH_INFO
// routes need; the fallback used to take it for missing and drop PATH_INFO.
bool nothing_at(const std::string& filename, std::string_view root) {
  if (!file_missing(filename)) return false;
  std::string file, info;
  split_path_info(filename, root, file, info);
  struct stat st {};
  return info.empty() || ::stat(file.c_str(), &st) != 0;
}

// A directory asked for with its trailing slash in which none of the
// DirectoryIndex names exists: mod_dir gives it to FallbackResource too
// (Apache 2.4 answers the fallback there, Options Indexes or not).
bool directory_without_index(const std::string& filename, std::string_view url_path,
                             const std::vector<std::string>& index) {
  if (url_path.empty() || url_path.back() != '/') return false;
  struct stat st {};
  if (::stat(filename.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  std::string base = filename;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  for (const auto& name : index) {
    if (::stat((base + "/" + name).c_str(), &st) == 0) return false;
  }
  return true;
}

// <If> sections (server/if_sections.h): the request is served by the Site
// that merges the true ones; false with a 500 when one did not merge.
bool apply_if_sections(Request& req, const RewritePhaseEnv& env, std::string_view filename) {
  const Site& site = *req.site;
  if (!site.cfg->ifs_anywhere) return true;
  thread_local std::vector<const config::IfSection*> chosen;
  chosen.clear();
  select_if_sections(*site.cfg, expr_input(req, filename), filename, req.path, chosen);
  IfOutcome o = thread_if_cache().resolve(env.runtime, site, req.rewrite.dir_site, chosen);
  if (o.status) {
    core::log(core::LogLevel::Error, "core", "[client {}] {} (answered {} for {})", req.client_ip, o.error, o.status,
              req.path);
    req.resp.error(o.status);
    return false;
  }
  req.rewrite.if_site = std::move(o.hold);
  req.site = o.site;
  return true;
}

// One pass of 1-3 (see the header); Again after an internal redirect.
// `vsite`: the vhost's own Site (steps 1-2 and the walk); the walk may give
// a per-directory Site (.htaccess files) for step 3 and the rest of the request.
Step map_once(Request& req, const RewritePhaseEnv& env, RequestRewriteContext& ctx, const std::string& base,
              const Site& vsite) {
  req.site = &vsite;
  const Site& site = vsite;
  const config::VirtualHost& vh = *site.cfg;
  RewriteState& st = req.rewrite;
  st.filename.clear();
  rewrite::Input in;
  in.document_root = vh.document_root;
  in.server_url = base;

  // 1. Server-context rules.
  const rewrite::SiteRules* rules = site.rewrite.get();
  if (rules && rules->server && rules->server->active() && !st.end) {
    in.path = req.path;
    in.query = req.head.query;
    rewrite::Outcome o = rewrite::run(*rules->server, ctx, in);
    if (finish_outcome(req, env, o) == Step::Respond) return Step::Respond;
    if (o.action == Action::Proxy) return Step::Next;
    const std::string* q = o.query_set ? &o.query : nullptr;
    if (o.action == Action::Uri) {
      if (!set_url(req, o.uri, q)) return Step::Respond;
    } else if (o.action == Action::Filename) {
      st.filename = o.filename;
      if (q) {
        st.target_query = *q;
        req.head.query = st.target_query;
      }
    }
  }
  bool proxied = req.route && req.route->balancer;

  // 2. mod_alias.
  if (st.filename.empty() && !proxied) {
    rewrite::AliasOutcome r = rewrite::apply_redirects(vh.redirects, req.path, req.head.query, base);
    if (r.action == rewrite::AliasOutcome::Action::Redirect) return respond_redirect(req, r.status, r.location), Step::Respond;
    if (r.action == rewrite::AliasOutcome::Action::Status) return respond_status(req, r.status), Step::Respond;
    rewrite::AliasOutcome a = rewrite::apply_aliases(vh.alias_rules, req.path);
    if (a.action == rewrite::AliasOutcome::Action::File) {
      st.filename = a.filename;
      st.script = a.script;
    } else if (!vh.cgi.userdir.dirs.empty()) {  // mod_userdir translates after mod_alias
      map_userdir(vh.cgi.userdir, req.path, st);
    }
  }
  if (proxied) return apply_if_sections(req, env, {}) ? Step::Next : Step::Respond;

  // 3. Per-directory: the directory walk (.htaccess), rewrite, Redirect in
  // <Location>/<Directory>, FallbackResource.
  std::string filename = st.filename;
  if (filename.empty()) filename = (vh.document_root == "/" ? std::string() : vh.document_root) + req.path;
  if (site.htaccess) {
    HtaccessOutcome h = thread_htaccess_cache().resolve(env.runtime, site, filename, core::mono_ms());
    if (h.status) {
      // Apache logs an .htaccess error at alert, naming the file.
      core::log(core::LogLevel::Alert, "core", "[client {}] {} (answered {} for {})", req.client_ip, h.error, h.status,
                req.path);
      req.resp.error(h.status);
      return Step::Respond;
    }
    st.dir_site = std::move(h.hold);
    req.site = h.site;
  }
  if (!apply_if_sections(req, env, filename)) return Step::Respond;
  const config::VirtualHost& dvh = *req.site->cfg;
  rules = req.site->rewrite.get();
  if (rules && !st.end) {
    const rewrite::RuleSet* set = req.route ? rules->for_location(*req.route->cfg) : nullptr;
    if (!set) set = rules->for_file(dvh, filename);
    if (set) {
      std::string file, info;
      split_path_info(filename, dvh.document_root, file, info);
      in.path = file;
      in.path_info = info;
      in.query = req.head.query;
      rewrite::Outcome o = rewrite::run(*set, ctx, in);
      if (finish_outcome(req, env, o) == Step::Respond) return Step::Respond;
      if (o.action == Action::Proxy) return Step::Next;
      if (o.action == Action::Uri) return set_url(req, o.uri, o.query_set ? &o.query : nullptr) ? Step::Again : Step::Respond;
      if (o.query_set) {  // the same file with a new query: no internal redirect
        req.rewrite.target_query = o.query;
        req.head.query = req.rewrite.target_query;
      }
    }
  }
  if (req.route && !req.route->cfg->redirects.empty()) {
    auto r = rewrite::apply_redirects(req.route->cfg->redirects, req.path, req.head.query, base, req.route->cfg->prefix);
    if (r.action == rewrite::AliasOutcome::Action::Redirect) return respond_redirect(req, r.status, r.location), Step::Respond;
    if (r.action == rewrite::AliasOutcome::Action::Status) return respond_status(req, r.status), Step::Respond;
  }
  if (const auto* d = deepest(dvh, filename, [](const auto& s) { return !s.redirects.empty(); })) {
    // An <If>'s Redirect without a URL-path redirects the whole request.
    auto r = rewrite::apply_redirects(d->redirects, req.path, req.head.query, base, d->from_if ? "/" : "");
    if (r.action == rewrite::AliasOutcome::Action::Redirect) return respond_redirect(req, r.status, r.location), Step::Respond;
    if (r.action == rewrite::AliasOutcome::Action::Status) return respond_status(req, r.status), Step::Respond;
  }
  bool static_files = !req.route || !req.route->handler;
  if (static_files && !st.script) {
    const auto* d = deepest(dvh, filename, [](const auto& s) { return s.fallback_resource.has_value(); });
    const std::string& fallback = d ? *d->fallback_resource : dvh.fallback_resource;
    if (!fallback.empty() && fallback != req.path &&
        (nothing_at(filename, dvh.document_root) || directory_without_index(filename, req.path, dvh.directory_index))) {
      return set_url(req, fallback, nullptr) ? Step::Again : Step::Respond;
    }
  }
  return Step::Next;
}

}  // namespace

void apply_rewrite_headers(Request& req) {
  for (const auto& c : req.rewrite.set_cookies) req.resp.add_header("Set-Cookie", c);
  if (!req.rewrite.vary.empty()) {
    std::string v;
    for (const auto& name : req.rewrite.vary) {
      if (http::has_token(v, name)) continue;
      if (!v.empty()) v += ", ";
      v += name;
    }
    req.resp.add_header("Vary", v);
  }
}

RewriteVerdict run_rewrite_phase(Request& req, const RewritePhaseEnv& env) {
  req.rewrite.reset();
  if (!req.site || !(req.site->maps_urls || req.site->htaccess || req.site->cfg->ifs_anywhere) || req.path_error ||
      req.head.path == "*")
    return RewriteVerdict::Next;
  const Site& vsite = *req.site;
  RequestRewriteContext ctx(req, env);
  ctx.trace_level = req.site->rewrite ? req.site->rewrite->trace : 0;
  std::string base = server_url(req, env);
  for (;;) {
    Step s = map_once(req, env, ctx, base, vsite);
    if (s == Step::Respond) return RewriteVerdict::Respond;
    if (s == Step::Next) break;
    if (++req.rewrite.redirects > kMaxInternalRedirects) {
      respond_error(req, "Request exceeded the limit of " + std::to_string(kMaxInternalRedirects) +
                             " internal redirects due to probable configuration error (LimitInternalRecursion)");
      return RewriteVerdict::Respond;
    }
  }
  return RewriteVerdict::Next;  // a ScriptAlias'ed filename is run by the CGI step (server/cgi_phase.cpp)
}

}  // namespace pillar::server

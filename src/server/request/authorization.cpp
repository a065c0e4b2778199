// Which sections speak for a request, as the static handler and the
// FastCGI route read them: the <Location> route's Require (the phase's
// own check, as before), the deepest <Directory> of the file with a
// Require and the last <Files> matching its name (the handler checks those
// again when it serves, with the user found here), and the Auth*
// settings merged Directory -> Files -> every matching <Location>, the
// innermost set of each winning. The file is the one the URL maps to (an
// Alias's, or DocumentRoot + path; a directory's DirectoryIndex file when
// it exists); a proxied location has none. A vhost with no Auth* and no
// user rule anywhere takes the old path: one Require check, no lookups.
#include "server/request/authorization.h"

#include <sys/stat.h>

#include "auth/auth_files.h"
#include "auth/basic_auth.h"
#include "auth/password_hash.h"
#include "core/log.h"
#include "http/handler.h"
#include "server/request/error_document.h"
#include "server/request/password_checks.h"
#include "server/request/request.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

using config::AuthzResult;

bool under(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path.substr(0, dir.size()) == dir && (path.size() == dir.size() || path[dir.size()] == '/');
}

void merge(config::AuthConfig& into, const config::AuthConfig& a) {
  if (a.type) into.type = a.type;
  if (a.name) into.name = a.name;
  if (a.user_file) {
    into.user_file = a.user_file;
    into.user_file_where = a.user_file_where;
  }
  if (a.group_file) {
    into.group_file = a.group_file;
    into.group_file_where = a.group_file_where;
  }
}

// The Require of the last true <If> section that has one (null: none).
const config::AccessPolicy* if_access(const config::VirtualHost& vh) {
  const config::AccessPolicy* p = nullptr;
  for (const auto& d : vh.directories) {
    if (d.from_if && !d.access.empty()) p = &d.access;
  }
  return p;
}

struct Covering {
  const config::AccessPolicy* location = nullptr;  // the route's Require
  const config::AccessPolicy* file = nullptr;      // the file's <Directory>/<Files> Require
  config::AuthConfig auth;
};

Covering covering(const Request& req) {
  Covering c;
  const config::VirtualHost& vh = *req.site->cfg;
  if (req.route && !req.route->cfg->access.empty()) c.location = &req.route->cfg->access;
  const bool proxied = req.route && req.route->balancer;
  if (!proxied && (!vh.document_root.empty() || !req.rewrite.filename.empty())) {
    std::string file = !req.rewrite.filename.empty() ? req.rewrite.filename : vh.document_root + req.path;
    if (!file.empty() && file.back() == '/') {  // a directory: its index file, when there is one
      for (const auto& index : vh.directory_index) {
        struct stat st {};
        if (::stat((file + index).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
          file += index;
          break;
        }
      }
    }
    size_t slash = file.rfind('/');
    std::string_view dir = std::string_view(file).substr(0, slash == std::string::npos ? 0 : slash);
    if (dir.empty()) dir = "/";
    std::string_view base = slash == std::string::npos ? std::string_view(file) : std::string_view(file).substr(slash + 1);
    for (const auto& d : vh.directories) {  // shortest path first
      if (!under(dir, d.path)) continue;
      if (!d.access.empty()) c.file = &d.access;
      merge(c.auth, d.auth);
    }
    if (!base.empty()) {
      auto files = [&](const std::vector<config::FilesSection>& fs) {
        for (const auto& f : fs) {
          if (!f.matches(base)) continue;
          if (!f.access.empty()) c.file = &f.access;
          merge(c.auth, f.auth);
        }
      };
      files(vh.files);
      for (const auto& d : vh.directories) {
        if (under(dir, d.path)) files(d.files);
      }
    }
  }
  for (const auto& l : vh.locations) {
    if (!l.conditional() && l.matches(req.path)) merge(c.auth, l.auth);
  }
  // The request's true <If> sections come last (server/if_sections.h): their
  // Require replaces every other section's, as Apache's AuthMerging Off.
  if (const config::AccessPolicy* p = if_access(vh)) c.location = c.file = p;
  for (const auto& d : vh.directories) {
    if (d.from_if) merge(c.auth, d.auth);
  }
  return c;
}

AuthzResult evaluate(const config::AccessPolicy* p, const config::AccessSubject& who) {
  return p ? p->evaluate(who) : AuthzResult::Granted;
}

bool refused(AuthzResult r) { return r == AuthzResult::Denied || r == AuthzResult::Neutral; }

// `Basic realm="..."`, the realm quoted as RFC 7235's quoted-string.
std::string challenge(const std::string& realm) {
  std::string v = "Basic realm=\"";
  for (char ch : realm) {
    if (ch == '"' || ch == '\\') v += '\\';
    v += ch;
  }
  v += '"';
  return v;
}

PhaseStep answer_401(RequestCarrier& c, const std::string& realm) {
  Request& req = c.request();
  close_if_body_unread(c);
  req.resp.error(401);
  http::RequestContext ctx{req.head, req.path, req.host, req.client, req.client_ip, c.local_port()};
  apply_error_document(req, req.site, &ctx);
  // After the ErrorDocument (a local document replaces the fields): the
  // challenge is what makes a browser ask.
  if (req.resp.status == 401) req.resp.add_header("WWW-Authenticate", challenge(realm));
  c.respond();
  return PhaseStep::Handled;
}

PhaseStep answer_500(RequestCarrier& c, const std::string& why) {
  Request& req = c.request();
  core::log(core::LogLevel::Error, "auth_basic", "[client {}] {}: {}", req.client_ip, req.path, why);
  close_if_body_unread(c);
  set_error_answer(req, 500);
  c.respond();
  return PhaseStep::Handled;
}

}  // namespace

config::AccessSubject access_subject(const Request& req) {
  return config::AccessSubject{req.client, req.remote_user.empty() ? nullptr : &req.remote_user, &req.user_groups};
}

namespace {

// The credentials are the user's: its groups, then the rules again with the user.
PhaseStep authorized(RequestCarrier& c, const Covering& cov, const auth::BasicCredentials& cred) {
  Request& req = c.request();
  const config::AuthConfig& a = cov.auth;
  const uint64_t now = c.worker().loop().now_ms();
  std::string error;
  req.remote_user = cred.user;
  if (a.group_file) {
    const auth::GroupFile* g = auth::group_file(*a.group_file, now, error);
    if (!g)
      return answer_500(c, "could not open the group file (AuthGroupFile at " + a.group_file_where.file + ":" +
                               std::to_string(a.group_file_where.line) + "): " + error);
    if (auto it = g->groups_of.find(cred.user); it != g->groups_of.end()) req.user_groups = it->second;
  }
  const config::AccessSubject who = access_subject(req);
  const AuthzResult loc = evaluate(cov.location, who), file = evaluate(cov.file, who);
  if (loc != AuthzResult::Granted || file != AuthzResult::Granted) {
    core::log(core::LogLevel::Error, "auth_basic", "[client {}] user {}: authorization failure for \"{}\"",
              req.client_ip, cred.user, req.path);
    return answer_401(c, *a.name);
  }
  req.access_ok = true;
  return PhaseStep::Next;
}

PhaseStep mismatch(RequestCarrier& c, const std::string& realm, const auth::BasicCredentials& cred) {
  const Request& req = c.request();
  core::log(core::LogLevel::Error, "auth_basic", "[client {}] user {}: authentication failure for \"{}\": "
            "Password Mismatch", req.client_ip, cred.user, req.path);
  return answer_401(c, realm);
}

}  // namespace

PhaseStep authorize_request(RequestCarrier& c) {
  Request& req = c.request();
  req.remote_user.clear();
  req.user_groups.clear();
  const config::AccessSubject anonymous{req.client};
  if (!req.site->cfg->auth_anywhere) {
    const LocationRoute* route = req.route;
    const config::AccessPolicy* p = req.site->cfg->ifs_anywhere ? if_access(*req.site->cfg) : nullptr;
    if (p) req.access_ok = p->allows(anonymous);
    else req.access_ok = !route || route->cfg->access.empty() || route->cfg->access.allows(anonymous);
    return PhaseStep::Next;  // a refusal is answered by the content phase, after the method checks (403)
  }
  Covering cov = covering(req);
  AuthzResult loc = evaluate(cov.location, anonymous), file = evaluate(cov.file, anonymous);
  if (refused(loc) || refused(file) || (loc == AuthzResult::Granted && file == AuthzResult::Granted)) {
    req.access_ok = loc == AuthzResult::Granted;  // a refused file is the handler's 403
    return PhaseStep::Next;
  }
  // A rule needs a user: authenticate (mod_auth_basic with mod_authn_file).
  const config::AuthConfig& a = cov.auth;
  if (!a.type || a.type->empty())
    return answer_500(c, "a Require rule needs a user, but no AuthType is set here (add AuthType Basic, AuthName and "
                         "AuthUserFile to the section)");
  if (!a.name)
    return answer_500(c, "AuthType Basic needs an AuthName (the realm the browser shows), e.g. AuthName \"Private\"");
  if (!a.user_file)
    return answer_500(c, "AuthType Basic with the file provider needs an AuthUserFile (made with htpasswd)");
  auth::BasicCredentials cred;
  std::string_view header = req.head.find("Authorization");
  if (header.empty() || !auth::parse_basic(header, cred)) {
    if (!header.empty())
      core::log(core::LogLevel::Error, "auth_basic", "[client {}] client used wrong authentication scheme or "
                "malformed credentials: {}", req.client_ip, req.path);
    return answer_401(c, *a.name);
  }
  std::string error;
  const uint64_t now = c.worker().loop().now_ms();
  auth::PasswordLookup found;
  switch (auth::lookup_password(*a.user_file, cred, now, error, found)) {
    case auth::Authn::Granted: return authorized(c, cov, cred);
    case auth::Authn::UnknownUser:
      core::log(core::LogLevel::Error, "auth_basic", "[client {}] user {} not found: {}", req.client_ip, cred.user,
                req.path);
      return answer_401(c, *a.name);
    case auth::Authn::Mismatch: return mismatch(c, *a.name, cred);
    case auth::Authn::FileError:
      return answer_500(c, "could not open the password file (AuthUserFile at " + a.user_file_where.file + ":" +
                               std::to_string(a.user_file_where.line) + "): " + error);
    case auth::Authn::Verify: break;
  }
  auto check_here = [&] {
    if (!auth::verify_password(cred.password, found.hash)) return mismatch(c, *a.name, cred);
    auth::remember_password(*a.user_file, cred, found.generation);
    return authorized(c, cov, cred);
  };
  if (!auth::slow_hash(found.hash)) return check_here();  // apr1, SHA-1: microseconds
  // bcrypt: on the checker threads (password_checks.h), the request suspended meanwhile.
  auto job = PasswordChecks::submit(cred.password, found.hash);
  if (!job) {
    c.respond_error(503, "more password checks waiting than PasswordChecks::kMaxQueued: refused");
    return PhaseStep::Handled;
  }
  auto x = std::make_unique<PasswordCheckExchange>(c, c.worker().loop(), job);
  if (!x->watching()) return check_here();  // nothing would wake it
  req.resume = [job, cred, generation = found.generation](RequestCarrier& rc) {
    // The request's route and Site are the same as when it was suspended: recompute what covers it.
    const Covering cov = covering(rc.request());
    if (job->result.load(std::memory_order_acquire) != 1) return mismatch(rc, *cov.auth.name, cred);
    auth::remember_password(*cov.auth.user_file, cred, generation);
    return authorized(rc, cov, cred);
  };
  c.run_exchange(std::move(x));
  return PhaseStep::Suspended;
}

}  // namespace pillar::server

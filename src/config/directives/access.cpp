// The access directive table: Require (mod_authz_core/host) and the 2.2
// Order/Allow/Deny (mod_access_compat). Listed in directives/registry.cpp;
// docs/configuration.md documents each directive.
#include "config/directives/tables.h"

#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

bool parse_networks(DirectiveSink& out, const ConfigNode& n, size_t from, std::vector<IpNetwork>& nets) {
  for (size_t i = from; i < n.args.size(); ++i) {
    IpNetwork net;
    std::string why;
    if (!parse_network(n.args[i], net, why)) {
      out.error(n, why + " (host names are not supported: Pillar never resolves client names)");
      return false;
    }
    nets.push_back(net);
  }
  return true;
}

}  // namespace

bool parse_require_rule(DirectiveSink& out, const ConfigNode& n, RequireRule& r, bool users) {
  size_t i = 0;
  bool negate = false;
  if (http::iequals(n.args[0], "not")) {
    negate = true;
    i = 1;
    if (n.args.size() < 2) return (out.error(n, "Require not needs a rule, e.g. Require not ip 10.0.0.0/8"), false);
  }
  std::string_view kind = n.args[i];
  const bool user_rule = http::iequals(kind, "valid-user") || http::iequals(kind, "user") || http::iequals(kind, "group");
  if (http::iequals(kind, "all") && !negate) {
    if (n.args.size() != 2) return (out.error(n, "write Require all granted or Require all denied"), false);
    if (http::iequals(n.args[1], "granted")) r.kind = RequireRule::Kind::AllGranted;
    else if (http::iequals(n.args[1], "denied")) r.kind = RequireRule::Kind::AllDenied;
    else return (out.error(n, "Require all " + n.args[1] + ": write Require all granted or Require all denied"), false);
  } else if (http::iequals(kind, "ip")) {
    if (n.args.size() <= i + 1) return (out.error(n, "Require ip needs at least one address or network"), false);
    r.kind = negate ? RequireRule::Kind::NotIp : RequireRule::Kind::Ip;
    if (!parse_networks(out, n, i + 1, r.networks)) return false;
  } else if (http::iequals(kind, "local") && !negate) {
    r.kind = RequireRule::Kind::Local;
  } else if (user_rule && !users) {
    out.error(n, n.name + " " + std::string(kind) + " is not supported: it is decided before any authentication; "
                 "use all granted|all denied, [not] ip ADDRESS..., or local");
    return false;
  } else if (http::iequals(kind, "valid-user")) {
    if (n.args.size() != i + 1) return (out.error(n, "Require valid-user takes no argument"), false);
    r.kind = RequireRule::Kind::ValidUser;
    r.negate = negate;
  } else if (http::iequals(kind, "user") || http::iequals(kind, "group")) {
    if (n.args.size() <= i + 1)
      return (out.error(n, "Require " + std::string(kind) + " needs at least one name, e.g. Require " +
                               std::string(kind) + " " + (http::iequals(kind, "user") ? "alice bob" : "admins")),
              false);
    r.kind = http::iequals(kind, "user") ? RequireRule::Kind::User : RequireRule::Kind::Group;
    r.names.assign(n.args.begin() + static_cast<std::ptrdiff_t>(i + 1), n.args.end());
    r.negate = negate;
  } else if (http::iequals(kind, "host") || http::iequals(kind, "forward-dns")) {
    out.error(n, "Require " + std::string(kind) + " is not supported (no DNS lookups); use Require ip");
    return false;
  } else {
    out.error(n, "Require " + std::string(kind) +
                     " is not supported; use Require all granted|denied, Require [not] ip ADDRESS..., Require local, "
                     "Require valid-user, Require user NAME..., or Require group NAME...");
    return false;
  }
  return true;
}

namespace {

void d_require(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  RequireRule r;
  if (!parse_require_rule(out, n, r, true)) return;
  // A negative rule cannot grant: in an OR (a section's lines, <RequireAny>)
  // it would do nothing, and Apache refuses it there. Pillar keeps its
  // top-level "Require not ip" veto (as inside <RequireAll>).
  const bool in_or = !s.require_into || !s.require_all;
  if ((r.negate && in_or) || (r.kind == RequireRule::Kind::NotIp && s.require_into && !s.require_all)) {
    return out.error(n, "a negative Require has no effect in " +
                            std::string(s.require_into ? "<RequireAny>" : "a section's implicit <RequireAny>") +
                            "; put it in a <RequireAll> with the rules it restricts");
  }
  if (r.needs_user()) s.vhost.auth_anywhere = true;
  if (s.require_into) s.require_into->push_back(std::move(r));
  else scope_access(s)->require.push_back(std::move(r));
}

void d_order(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  AccessPolicy* p = scope_access(s);
  std::string v;
  for (const auto& a : n.args) v += core::lowercase(a);  // "Deny, Allow" written with a space
  if (v == "deny,allow") p->order = AccessPolicy::Order::DenyAllow;
  else if (v == "allow,deny") p->order = AccessPolicy::Order::AllowDeny;
  else if (v == "mutual-failure") p->order = AccessPolicy::Order::MutualFailure;
  else return out.error(n, "Order " + v + " is unknown; use Deny,Allow or Allow,Deny (no spaces) or Mutual-failure");
  p->legacy = true;
}

void d_allow_deny(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  AccessPolicy* p = scope_access(s);
  bool allow = http::iequals(n.name, "Allow");
  if (!http::iequals(n.args[0], "from") || n.args.size() < 2)
    return out.error(n, n.name + " needs 'from', e.g. " + n.name + " from 10.0.0.0/8 or " + n.name + " from all");
  p->legacy = true;
  if (n.args.size() == 2 && http::iequals(n.args[1], "all")) {
    (allow ? p->allow_all : p->deny_all) = true;
    return;
  }
  if (n.args[1].rfind("env=", 0) == 0)
    return out.error(n, n.name + " from env=... is not supported; use Require ip");
  parse_networks(out, n, 1, allow ? p->allow : p->deny);
}

constexpr DirectiveSpec kTable[] = {
    {"Allow", 1, -1, kPerDir, false, d_allow_deny, "Allow from all|ADDRESS...", kOrLimit},
    {"Deny", 1, -1, kPerDir, false, d_allow_deny, "Deny from all|ADDRESS...", kOrLimit},
    {"Order", 1, 3, kPerDir, false, d_order, "Order Deny,Allow|Allow,Deny", kOrLimit},
    {"Require", 1, -1, kPerDir, false, d_require,
     "Require all granted|all denied|[not] ip ADDRESS...|local|valid-user|user NAME...|group NAME...", kOrAuthConfig},
};

}  // namespace

std::span<const DirectiveSpec> access_directives() { return kTable; }

AccessPolicy* scope_access(Scope& s) {
  if (s.files) return &s.files->access;
  if (s.loc) return &s.loc->access;
  if (s.dir) return &s.dir->access;
  return nullptr;
}

}  // namespace pillar::config

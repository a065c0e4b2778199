#include <fnmatch.h>

#include <cstring>

#include "config/loader.h"

namespace pillar::config {

std::string ConfigError::to_string() const {
  if (line > 0) return file + ":" + std::to_string(line) + ": " + message;
  return file + ": " + message;
}

bool IpNetwork::contains(const sockaddr_storage& client) const {
  const uint8_t* addr;
  int bits;
  if (client.ss_family == AF_INET) {
    if (family != AF_INET) return false;
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in&>(client).sin_addr);
    bits = 32;
  } else if (client.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(client).sin6_addr;
    if (family == AF_INET) {
      if (!IN6_IS_ADDR_V4MAPPED(&a6)) return false;
      addr = a6.s6_addr + 12;  // ::ffff:a.b.c.d matches IPv4 networks
      bits = 32;
    } else {
      addr = a6.s6_addr;
      bits = 128;
    }
  } else {
    return false;
  }
  int full = prefix / 8, rest = prefix % 8;
  if (prefix > bits) return false;
  if (std::memcmp(addr, bytes, static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
  return (addr[full] & mask) == bytes[full];
}

namespace {

bool any_contains(const std::vector<IpNetwork>& nets, const sockaddr_storage& c) {
  for (const auto& n : nets) {
    if (n.contains(c)) return true;
  }
  return false;
}

bool is_loopback(const sockaddr_storage& c) {
  if (c.ss_family == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in&>(c).sin_addr.s_addr) >> 24) == 127;
  }
  if (c.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(c).sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  }
  return false;
}

}  // namespace

// mod_authz_core's logic: a container combines its children (AND for
// <RequireAll>, OR for <RequireAny> and <RequireNone>), skipping Neutral
// ones; DeniedNoUser (a user rule before authentication) outranks a
// grant in AND and a denial in OR, so authentication runs only when it
// could change the answer. Negation turns Granted into Denied and Denied
// into Neutral: a negative rule can refuse, never grant.
namespace {

AuthzResult combine(const std::vector<RequireRule>& rules, bool all, const AccessSubject& who) {
  AuthzResult result = AuthzResult::Neutral;
  for (const auto& r : rules) {
    AuthzResult c = r.evaluate(who);
    if (c == AuthzResult::Neutral) continue;
    if (all) {
      if (c == AuthzResult::Denied) return c;
      if ((c == AuthzResult::DeniedNoUser && result != AuthzResult::Denied) || result == AuthzResult::Neutral) result = c;
    } else {
      if (c == AuthzResult::Granted) return c;
      if ((c == AuthzResult::DeniedNoUser && result == AuthzResult::Denied) || result == AuthzResult::Neutral) result = c;
    }
  }
  return result;
}

bool named(const std::vector<std::string>& names, const std::string& who) {
  for (const auto& n : names) {
    if (n == who) return true;
  }
  return false;
}

}  // namespace

AuthzResult RequireRule::evaluate(const AccessSubject& who) const {
  AuthzResult r = AuthzResult::Denied;
  switch (kind) {
    case Kind::AllGranted: r = AuthzResult::Granted; break;
    case Kind::AllDenied: r = AuthzResult::Denied; break;
    case Kind::Ip: r = any_contains(networks, who.client) ? AuthzResult::Granted : AuthzResult::Denied; break;
    case Kind::NotIp: return any_contains(networks, who.client) ? AuthzResult::Denied : AuthzResult::Neutral;
    case Kind::Local: r = is_loopback(who.client) ? AuthzResult::Granted : AuthzResult::Denied; break;
    case Kind::ValidUser: r = who.user ? AuthzResult::Granted : AuthzResult::DeniedNoUser; break;
    case Kind::User:
      r = !who.user ? AuthzResult::DeniedNoUser : named(names, *who.user) ? AuthzResult::Granted : AuthzResult::Denied;
      break;
    case Kind::Group: {
      if (!who.user) {
        r = AuthzResult::DeniedNoUser;
        break;
      }
      bool in = false;
      if (who.groups) {
        for (const auto& g : *who.groups) in = in || named(names, g);
      }
      r = in ? AuthzResult::Granted : AuthzResult::Denied;
      break;
    }
    case Kind::All: r = combine(children, true, who); break;
    case Kind::Any: r = combine(children, false, who); break;
    case Kind::None: r = combine(children, false, who); break;
  }
  if (negate || kind == Kind::None) {
    if (r == AuthzResult::Granted) r = AuthzResult::Denied;
    else if (r == AuthzResult::Denied) r = AuthzResult::Neutral;
  }
  return r;
}

bool RequireRule::needs_user() const {
  if (kind == Kind::ValidUser || kind == Kind::User || kind == Kind::Group) return true;
  for (const auto& c : children) {
    if (c.needs_user()) return true;
  }
  return false;
}

bool AccessPolicy::needs_user() const {
  for (const auto& r : require) {
    if (r.needs_user()) return true;
  }
  return false;
}

AuthzResult AccessPolicy::evaluate(const AccessSubject& who) const {
  if (legacy) {
    bool allowed = allow_all || any_contains(allow, who.client);
    bool denied = deny_all || any_contains(deny, who.client);
    bool ok = order == Order::DenyAllow ? (allowed || !denied) : (allowed && !denied);
    if (!ok) return AuthzResult::Denied;  // Satisfy All: no user can change that
  }
  if (require.empty()) return AuthzResult::Granted;
  // The section's lines are an implicit <RequireAny>, except that a
  // top-level "Require not ip" vetoes (as inside <RequireAll>) and lines
  // that are all "not ip" grant everyone else.
  AuthzResult r = combine(require, false, who);
  for (const auto& rule : require) {
    if (rule.kind == RequireRule::Kind::NotIp && any_contains(rule.networks, who.client)) return AuthzResult::Denied;
  }
  if (r == AuthzResult::Neutral) {
    bool only_negative = true;
    for (const auto& rule : require) only_negative = only_negative && rule.kind == RequireRule::Kind::NotIp;
    return only_negative ? AuthzResult::Granted : AuthzResult::Denied;
  }
  return r;
}

bool FilesSection::matches(std::string_view filename) const {
  if (fast) return fast->match(filename) == core::Regex::Result::Match;
  std::string name(filename);
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

bool LocationSection::matches(std::string_view path) const {
  if (match) return std::regex_search(path.begin(), path.end(), *match);
  if (prefix == "/") return true;
  if (path.substr(0, prefix.size()) != prefix) return false;
  // "/server-status" matches "/server-status" and "/server-status/x", not "/server-statusx".
  return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/';
}

bool CacheConfig::enabled_for(std::string_view path) const {
  const CacheRule* best = nullptr;
  for (const auto& r : rules) {
    bool hit = r.prefix == "/" || (path.substr(0, r.prefix.size()) == r.prefix &&
                                   (path.size() == r.prefix.size() || r.prefix.back() == '/' || path[r.prefix.size()] == '/'));
    if (!hit) continue;
    if (!best || r.prefix.size() > best->prefix.size() || (r.prefix.size() == best->prefix.size() && !r.enable)) best = &r;
  }
  return best && best->enable;
}

bool ServerConfig::cache_unused() const {
  auto enables = [](const VirtualHost& v) {
    for (const auto& r : v.cache.rules)
      if (r.enable) return true;
    return false;
  };
  if (enables(main_server)) return false;
  for (const auto& v : vhosts)
    if (enables(v)) return false;
  return true;
}

bool VirtualHost::matches_name(std::string_view host) const {
  if (!server_name.empty() && host == server_name) return true;
  std::string h(host);
  for (const auto& a : aliases) {
    if (a == host) return true;
    if (a.find_first_of("*?") != std::string::npos && fnmatch(a.c_str(), h.c_str(), FNM_CASEFOLD) == 0) return true;
  }
  return false;
}

void SslProxyConfig::fill_from(const SslProxyConfig& o) {
  const uint16_t take = o.given & static_cast<uint16_t>(~given);
  if (take & kEngine) {
    engine = o.engine;
    engine_where = o.engine_where;
  }
  if (take & kVerify) verify = o.verify;
  if (take & kDepth) verify_depth = o.verify_depth;
  if (take & kCa) ca = o.ca;
  if (take & kPeerName) check_peer_name = o.check_peer_name;
  if (take & kPeerExpire) check_peer_expire = o.check_peer_expire;
  if (take & kProtocol) protocols = o.protocols;
  if (take & kCiphers) ciphers = o.ciphers;
  if (take & kSuites) ciphersuites = o.ciphersuites;
  if (take & kMachineCert) machine_cert = o.machine_cert;
  given |= take;
}

}  // namespace pillar::config

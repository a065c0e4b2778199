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

bool AccessPolicy::allows(const sockaddr_storage& client) const {
  if (!require.empty()) {
    bool granted = false;
    for (const auto& r : require) {
      switch (r.kind) {
        case RequireRule::Kind::AllGranted: granted = true; break;
        case RequireRule::Kind::AllDenied: break;
        case RequireRule::Kind::Ip: granted = granted || any_contains(r.networks, client); break;
        case RequireRule::Kind::Local: granted = granted || is_loopback(client); break;
        case RequireRule::Kind::NotIp:
          if (any_contains(r.networks, client)) return false;
          break;
      }
    }
    // "Require not ip" alone grants everyone else, as inside <RequireAll>.
    bool only_negative = true;
    for (const auto& r : require) only_negative = only_negative && r.kind == RequireRule::Kind::NotIp;
    if (!granted && !only_negative) return false;
  }
  if (legacy) {
    bool allowed = allow_all || any_contains(allow, client);
    bool denied = deny_all || any_contains(deny, client);
    switch (order) {
      case Order::DenyAllow: return allowed || !denied;
      case Order::AllowDeny:
      case Order::MutualFailure: return allowed && !denied;
    }
  }
  return true;
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

#include "server/vhost_router.h"

#include <fnmatch.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "core/socket_address.h"

namespace pillar::server {

namespace {

// The local address as IPv4 when it is IPv4-mapped, so one vhost address
// matches however the listener was bound.
sockaddr_storage unmapped(const sockaddr_storage& a) {
  if (a.ss_family != AF_INET6) return a;
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
  if (!IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) return a;
  sockaddr_storage out{};
  auto& in4 = reinterpret_cast<sockaddr_in&>(out);
  in4.sin_family = AF_INET;
  in4.sin_port = in6.sin6_port;
  std::memcpy(&in4.sin_addr, &in6.sin6_addr.s6_addr[12], 4);
  return out;
}

bool same_ip(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
  return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                     &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, 16) == 0;
}

}  // namespace

bool address_matches(const config::ListenAddress& a, const sockaddr_storage& local, bool& exact) {
  sockaddr_storage l = unmapped(local);
  if (a.port != 0 && a.port != core::address_port(l)) return false;
  if (a.any_address) {
    exact = false;
    return true;
  }
  exact = true;
  return same_ip(unmapped(a.addr), l);
}

namespace {

bool same_address(const config::ListenAddress& a, const config::ListenAddress& b) {
  if (a.any_address != b.any_address || a.port != b.port) return false;
  return a.any_address || same_ip(unmapped(a.addr), unmapped(b.addr));
}

// "*.example.com" -> ".example.com": the one wildcard shape a hash can hold.
bool suffix_pattern(const std::string& alias, std::string_view& suffix) {
  if (alias.size() < 2 || alias[0] != '*' || alias[1] != '.') return false;
  suffix = std::string_view(alias).substr(1);
  return suffix.find_first_of("*?[") == std::string_view::npos;
}

}  // namespace

VhostRouter::VhostRouter(const std::vector<config::VirtualHost>& vhosts) {
  auto lowest = [](NameIndex& index, std::string_view name, uint32_t i) {
    auto [it, added] = index.try_emplace(std::string(name), i);
    if (!added && i < it->second) it->second = i;
  };
  for (uint32_t i = 0; i < vhosts.size(); ++i) {
    const auto& vh = vhosts[i];
    for (const auto& a : vh.addresses) {
      Group* g = nullptr;
      for (auto& o : groups_) {
        if (same_address(o.addr, a)) g = &o;
      }
      if (!g) {
        groups_.push_back(Group{a, i, {}, {}, {}});
        g = &groups_.back();
      }
      if (!vh.server_name.empty()) lowest(g->exact, vh.server_name, i);
      for (const auto& alias : vh.aliases) {
        std::string_view suffix;
        if (alias.find_first_of("*?") == std::string::npos) lowest(g->exact, alias, i);
        else if (suffix_pattern(alias, suffix)) lowest(g->suffix, suffix, i);
        else g->patterns.emplace_back(alias, i);
      }
    }
  }
}

uint32_t VhostRouter::named(const Group& g, std::string_view host) const {
  uint32_t best = kNone;
  if (auto it = g.exact.find(host); it != g.exact.end()) best = it->second;
  if (!g.suffix.empty()) {
    for (size_t dot = host.find('.'); dot != std::string_view::npos; dot = host.find('.', dot + 1)) {
      // "*" may match nothing as fnmatch does, so ".b.example" names "*.b.example" too.
      if (auto it = g.suffix.find(host.substr(dot)); it != g.suffix.end() && it->second < best) best = it->second;
    }
  }
  if (!g.patterns.empty()) {
    std::string h(host);  // fnmatch wants a C string; only configurations with such patterns pay for it
    for (const auto& [pattern, i] : g.patterns) {
      if (i >= best) break;  // sorted by vhost index: nothing later can win
      if (fnmatch(pattern.c_str(), h.c_str(), FNM_CASEFOLD) == 0) best = i;
    }
  }
  return best;
}

int VhostRouter::select(const sockaddr_storage& local, std::string_view host) const {
  uint32_t first[2] = {kNone, kNone}, by_name[2] = {kNone, kNone};  // [0] exact address, [1] wildcard
  for (const auto& g : groups_) {
    bool exact = false;
    if (!address_matches(g.addr, local, exact)) continue;
    int k = exact ? 0 : 1;
    first[k] = std::min(first[k], g.first);
    if (!host.empty()) by_name[k] = std::min(by_name[k], named(g, host));
  }
  for (int k = 0; k < 2; ++k) {
    if (first[k] != kNone) return static_cast<int>(by_name[k] != kNone ? by_name[k] : first[k]);
  }
  return kMainServer;
}

}  // namespace pillar::server

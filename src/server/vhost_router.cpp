#include "server/vhost_router.h"

#include <netinet/in.h>

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

int VhostRouter::select(const sockaddr_storage& local, std::string_view host) const {
  int first_exact = -1, first_any = -1;
  int named_exact = -1, named_any = -1;
  for (size_t i = 0; i < vhosts_.size(); ++i) {
    const auto& vh = vhosts_[i];
    bool matched = false, exact = false;
    for (const auto& a : vh.addresses) {
      bool e = false;
      if (address_matches(a, local, e)) {
        matched = true;
        exact = exact || e;
      }
    }
    if (!matched) continue;
    int idx = static_cast<int>(i);
    bool named = !host.empty() && vh.matches_name(host);
    if (exact) {
      if (first_exact < 0) first_exact = idx;
      if (named && named_exact < 0) named_exact = idx;
    } else {
      if (first_any < 0) first_any = idx;
      if (named && named_any < 0) named_any = idx;
    }
  }
  if (first_exact >= 0) return named_exact >= 0 ? named_exact : first_exact;
  if (first_any >= 0) return named_any >= 0 ? named_any : first_any;
  return kMainServer;
}

}  // namespace pillar::server

// The PROXY protocol (HAProxy's spec, versions 1 and 2): the header a load
// balancer puts before the first byte of a connection to pass on the
// client's address. Parsed on listeners that expect it
// (RemoteIPProxyProtocol On) and written to members that ask for it
// (BalancerMember proxy_protocol=v1|v2).
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace pillar::http {

struct ProxyHeader {
  enum class Kind : uint8_t { Incomplete, Error, Local, Proxied } kind = Kind::Incomplete;
  size_t consumed = 0;         // bytes of the header (Local / Proxied)
  sockaddr_storage source{};   // Proxied: the client
  sockaddr_storage dest{};     // Proxied: the address the client connected to
  const char* reason = "";     // Error
};

// Parses a v1 ("PROXY TCP4 ...\r\n", at most 107 bytes) or v2 (binary
// signature) header at the start of `buf`.
ProxyHeader parse_proxy_header(std::string_view buf);

// Appends a header for a connection from `src` to `dst`.
void write_proxy_v1(const sockaddr_storage& src, const sockaddr_storage& dst, std::string& out);
void write_proxy_v2(const sockaddr_storage& src, const sockaddr_storage& dst, std::string& out);

}  // namespace pillar::http

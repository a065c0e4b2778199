#include "http/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>

#include "core/text.h"

namespace pillar::http {
namespace {

constexpr unsigned char kV2Sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV1Max = 107;

bool parse_port(std::string_view s, uint16_t& port) {
  auto v = core::parse_decimal(s);
  if (!v || *v > 65535 || (s.size() > 1 && s[0] == '0')) return false;
  port = static_cast<uint16_t>(*v);
  return true;
}

bool fill(sockaddr_storage& out, int family, std::string_view ip, uint16_t port) {
  std::string text(ip);
  out = {};
  if (family == AF_INET) {
    auto& a = reinterpret_cast<sockaddr_in&>(out);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    return inet_pton(AF_INET, text.c_str(), &a.sin_addr) == 1;
  }
  auto& a = reinterpret_cast<sockaddr_in6&>(out);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  return inet_pton(AF_INET6, text.c_str(), &a.sin6_addr) == 1;
}

ProxyHeader error(const char* why) {
  ProxyHeader h;
  h.kind = ProxyHeader::Kind::Error;
  h.reason = why;
  return h;
}

ProxyHeader parse_v1(std::string_view buf) {
  size_t eol = buf.find("\r\n");
  if (eol == std::string_view::npos) {
    if (buf.size() >= kV1Max) return error("PROXY v1 line too long");
    return {};
  }
  if (eol + 2 > kV1Max) return error("PROXY v1 line too long");
  std::string_view line = buf.substr(6, eol - 6);  // after "PROXY "
  ProxyHeader h;
  h.consumed = eol + 2;
  if (line.rfind("UNKNOWN", 0) == 0) {
    h.kind = ProxyHeader::Kind::Local;
    return h;
  }
  std::string_view parts[5];
  for (int i = 0; i < 5; ++i) {
    size_t sp = line.find(' ');
    if (i < 4 && sp == std::string_view::npos) return error("PROXY v1: too few fields");
    parts[i] = line.substr(0, sp);
    line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  }
  if (!line.empty()) return error("PROXY v1: too many fields");
  int family = parts[0] == "TCP4" ? AF_INET : parts[0] == "TCP6" ? AF_INET6 : 0;
  if (!family) return error("PROXY v1: protocol must be TCP4, TCP6 or UNKNOWN");
  uint16_t sp = 0, dp = 0;
  if (!parse_port(parts[3], sp) || !parse_port(parts[4], dp)) return error("PROXY v1: bad port");
  if (!fill(h.source, family, parts[1], sp) || !fill(h.dest, family, parts[2], dp)) return error("PROXY v1: bad address");
  h.kind = ProxyHeader::Kind::Proxied;
  return h;
}

ProxyHeader parse_v2(std::string_view buf) {
  if (buf.size() < 16) return {};
  auto b = reinterpret_cast<const unsigned char*>(buf.data());
  if ((b[12] >> 4) != 2) return error("PROXY v2: bad version");
  size_t len = static_cast<size_t>(b[14]) << 8 | b[15];
  if (buf.size() < 16 + len) return {};
  ProxyHeader h;
  h.consumed = 16 + len;
  int cmd = b[12] & 0x0F;
  if (cmd == 0) {
    h.kind = ProxyHeader::Kind::Local;
    return h;
  }
  if (cmd != 1) return error("PROXY v2: bad command");
  int fam = b[13] >> 4, proto = b[13] & 0x0F;
  if (proto != 1 && fam != 0) return error("PROXY v2: only STREAM is supported");
  const unsigned char* a = b + 16;
  if (fam == 1) {
    if (len < 12) return error("PROXY v2: short IPv4 block");
    auto& s4 = reinterpret_cast<sockaddr_in&>(h.source);
    auto& d4 = reinterpret_cast<sockaddr_in&>(h.dest);
    s4.sin_family = d4.sin_family = AF_INET;
    std::memcpy(&s4.sin_addr, a, 4);
    std::memcpy(&d4.sin_addr, a + 4, 4);
    std::memcpy(&s4.sin_port, a + 8, 2);
    std::memcpy(&d4.sin_port, a + 10, 2);
  } else if (fam == 2) {
    if (len < 36) return error("PROXY v2: short IPv6 block");
    auto& s6 = reinterpret_cast<sockaddr_in6&>(h.source);
    auto& d6 = reinterpret_cast<sockaddr_in6&>(h.dest);
    s6.sin6_family = d6.sin6_family = AF_INET6;
    std::memcpy(&s6.sin6_addr, a, 16);
    std::memcpy(&d6.sin6_addr, a + 16, 16);
    std::memcpy(&s6.sin6_port, a + 32, 2);
    std::memcpy(&d6.sin6_port, a + 34, 2);
  } else {
    h.kind = ProxyHeader::Kind::Local;  // AF_UNSPEC / unix: keep the connection's own addresses
    return h;
  }
  h.kind = ProxyHeader::Kind::Proxied;
  return h;
}

}  // namespace

ProxyHeader parse_proxy_header(std::string_view buf) {
  if (buf.empty()) return {};
  size_t n = std::min(buf.size(), sizeof kV2Sig);
  if (std::memcmp(buf.data(), kV2Sig, n) == 0) return n < sizeof kV2Sig ? ProxyHeader{} : parse_v2(buf);
  n = std::min<size_t>(buf.size(), 6);
  if (std::memcmp(buf.data(), "PROXY ", n) == 0) return n < 6 ? ProxyHeader{} : parse_v1(buf);
  return error("the connection does not start with a PROXY protocol header");
}

void write_proxy_v1(const sockaddr_storage& src, const sockaddr_storage& dst, std::string& out) {
  char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
  bool v4 = src.ss_family == AF_INET && dst.ss_family == AF_INET;
  bool v6 = src.ss_family == AF_INET6 && dst.ss_family == AF_INET6;
  if (!v4 && !v6) {
    out.append("PROXY UNKNOWN\r\n");
    return;
  }
  uint16_t sp, dp;
  if (v4) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(src);
    const auto& b = reinterpret_cast<const sockaddr_in&>(dst);
    inet_ntop(AF_INET, &a.sin_addr, s, sizeof s);
    inet_ntop(AF_INET, &b.sin_addr, d, sizeof d);
    sp = ntohs(a.sin_port);
    dp = ntohs(b.sin_port);
  } else {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(src);
    const auto& b = reinterpret_cast<const sockaddr_in6&>(dst);
    inet_ntop(AF_INET6, &a.sin6_addr, s, sizeof s);
    inet_ntop(AF_INET6, &b.sin6_addr, d, sizeof d);
    sp = ntohs(a.sin6_port);
    dp = ntohs(b.sin6_port);
  }
  out.append(v4 ? "PROXY TCP4 " : "PROXY TCP6 ");
  out.append(s);
  out.push_back(' ');
  out.append(d);
  out.push_back(' ');
  out.append(std::to_string(sp));
  out.push_back(' ');
  out.append(std::to_string(dp));
  out.append("\r\n");
}

void write_proxy_v2(const sockaddr_storage& src, const sockaddr_storage& dst, std::string& out) {
  out.append(reinterpret_cast<const char*>(kV2Sig), sizeof kV2Sig);
  bool v4 = src.ss_family == AF_INET && dst.ss_family == AF_INET;
  bool v6 = src.ss_family == AF_INET6 && dst.ss_family == AF_INET6;
  if (!v4 && !v6) {
    out.append("\x21\x00\x00\x00", 4);  // PROXY, AF_UNSPEC, no addresses
    return;
  }
  out.push_back('\x21');  // version 2, PROXY
  out.push_back(v4 ? '\x11' : '\x21');
  uint16_t len = v4 ? 12 : 36;
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len & 0xff));
  if (v4) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(src);
    const auto& b = reinterpret_cast<const sockaddr_in&>(dst);
    out.append(reinterpret_cast<const char*>(&a.sin_addr), 4);
    out.append(reinterpret_cast<const char*>(&b.sin_addr), 4);
    out.append(reinterpret_cast<const char*>(&a.sin_port), 2);
    out.append(reinterpret_cast<const char*>(&b.sin_port), 2);
  } else {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(src);
    const auto& b = reinterpret_cast<const sockaddr_in6&>(dst);
    out.append(reinterpret_cast<const char*>(&a.sin6_addr), 16);
    out.append(reinterpret_cast<const char*>(&b.sin6_addr), 16);
    out.append(reinterpret_cast<const char*>(&a.sin6_port), 2);
    out.append(reinterpret_cast<const char*>(&b.sin6_port), 2);
  }
}

}  // namespace pillar::http

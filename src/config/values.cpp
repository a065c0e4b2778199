#include "config/values.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <vector>

#include "http/request.h"

namespace pillar::config {

bool parse_on_off(std::string_view s, bool& out, std::string& why) {
  if (http::iequals(s, "on")) {
    out = true;
    return true;
  }
  if (http::iequals(s, "off")) {
    out = false;
    return true;
  }
  why = "'" + std::string(s) + "' is not On or Off";
  return false;
}

bool parse_uint(std::string_view s, uint64_t min, uint64_t max, uint64_t& out, std::string& why) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    why = "'" + std::string(s) + "' is not a whole number";
    return false;
  }
  if (v < min || v > max) {
    why = std::to_string(v) + " is out of range; use " + std::to_string(min) + " to " + std::to_string(max);
    return false;
  }
  out = v;
  return true;
}

namespace {
// Splits "123unit" into number and unit.
bool number_and_unit(std::string_view s, uint64_t& n, std::string_view& unit) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p == s.data()) return false;
  unit = s.substr(static_cast<size_t>(p - s.data()));
  return true;
}
}  // namespace

bool parse_duration(std::string_view s, Millis& out, std::string& why) {
  uint64_t n = 0;
  std::string_view unit;
  why = "'" + std::string(s) + "' is not a duration; write seconds (30) or a number with ms, s, m or h (500ms, 10s, 5m)";
  if (!number_and_unit(s, n, unit)) return false;
  uint64_t mul;
  if (unit.empty() || http::iequals(unit, "s")) mul = 1000;
  else if (http::iequals(unit, "ms")) mul = 1;
  else if (http::iequals(unit, "m") || http::iequals(unit, "min")) mul = 60000;
  else if (http::iequals(unit, "h")) mul = 3600000;
  else return false;
  if (n > (uint64_t{1} << 40) / mul) {
    why = "'" + std::string(s) + "' is too long a duration";
    return false;
  }
  out = Millis(static_cast<int64_t>(n * mul));
  return true;
}

bool parse_size(std::string_view s, uint64_t& out, std::string& why) {
  uint64_t n = 0;
  std::string_view unit;
  why = "'" + std::string(s) + "' is not a size; write bytes (1048576) or a number with K, M or G (512K, 64M, 2G)";
  if (!number_and_unit(s, n, unit)) return false;
  if (unit.size() == 2 && (unit[1] == 'b' || unit[1] == 'B') && unit[0] != 'b' && unit[0] != 'B') unit.remove_suffix(1);
  int shift;
  if (unit.empty() || http::iequals(unit, "b")) shift = 0;
  else if (http::iequals(unit, "k")) shift = 10;
  else if (http::iequals(unit, "m")) shift = 20;
  else if (http::iequals(unit, "g")) shift = 30;
  else if (http::iequals(unit, "t")) shift = 40;
  else return false;
  if (shift && n > (UINT64_MAX >> shift)) {
    why = "'" + std::string(s) + "' is too large";
    return false;
  }
  out = n << shift;
  return true;
}

bool parse_listen(std::string_view s, ListenAddress& out, std::string& why) {
  out = ListenAddress{};
  out.text = std::string(s);
  why = "'" + std::string(s) + "' is not a listen address; write PORT, IPv4:PORT, [IPv6]:PORT or *:PORT";
  std::string_view host, port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    if (host.empty()) return false;  // "[]:80"
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      port = s;
    } else {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      if (host.find(':') != std::string_view::npos) return false;  // bare IPv6 needs brackets
    }
  }
  uint64_t p = 0;
  std::string perr;
  if (!parse_uint(port, 0, 65535, p, perr)) {
    why = "port in '" + std::string(s) + "': " + perr + " (0 to 65535)";
    return false;
  }
  out.port = static_cast<uint16_t>(p);
  std::string h(host);
  if (h.empty() || h == "*" || h == "0.0.0.0") {
    auto* a = reinterpret_cast<sockaddr_in*>(&out.addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(out.port);
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    out.addr_len = sizeof(sockaddr_in);
    out.any_address = true;
    return true;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  if (inet_pton(AF_INET, h.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(out.port);
    out.addr_len = sizeof(sockaddr_in);
    return true;
  }
  out.addr = {};
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET6, h.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(out.port);
    out.addr_len = sizeof(sockaddr_in6);
    out.any_address = IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr);
    return true;
  }
  why = "'" + h + "' in '" + std::string(s) + "' is not an IP address; Listen takes addresses, not host names";
  return false;
}

bool parse_network(std::string_view s, IpNetwork& out, std::string& why) {
  out = IpNetwork{};
  why = "'" + std::string(s) + "' is not an IP address or network; write e.g. 10.0.0.0/8, 192.168.1.5, 2001:db8::/32";
  std::string addr(s.substr(0, s.find('/')));
  bool has_mask = s.find('/') != std::string_view::npos;
  std::string_view mask = has_mask ? s.substr(s.find('/') + 1) : std::string_view();
  if (has_mask && mask.empty()) return false;  // "10.0.0.0/"
  if (inet_pton(AF_INET6, addr.c_str(), out.bytes) == 1) {
    out.family = AF_INET6;
    out.prefix = 128;
  } else {
    out.family = AF_INET;
    out.prefix = 32;
    if (inet_pton(AF_INET, addr.c_str(), out.bytes) != 1) {
      // Apache's partial form: "10.1" is 10.1.0.0/16 (only without a mask).
      if (!mask.empty()) return false;
      std::vector<uint64_t> parts;
      size_t pos = 0;
      std::string_view a = addr;
      while (pos <= a.size()) {
        size_t dot = a.find('.', pos);
        std::string_view part = a.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
        uint64_t v;
        std::string ignored;
        if (!parse_uint(part, 0, 255, v, ignored)) return false;
        parts.push_back(v);
        if (dot == std::string_view::npos) break;
        pos = dot + 1;
      }
      if (parts.empty() || parts.size() > 3) return false;
      for (size_t i = 0; i < parts.size(); ++i) out.bytes[i] = static_cast<uint8_t>(parts[i]);
      out.prefix = static_cast<uint8_t>(8 * parts.size());
      return true;
    }
  }
  if (!mask.empty()) {
    in_addr m{};
    std::string ms(mask);
    uint64_t bits;
    std::string ignored;
    if (parse_uint(mask, 0, out.family == AF_INET ? 32 : 128, bits, ignored)) {
      out.prefix = static_cast<uint8_t>(bits);
    } else if (out.family == AF_INET && inet_pton(AF_INET, ms.c_str(), &m) == 1) {
      uint32_t v = ntohl(m.s_addr);
      int n = 0;
      while (n < 32 && (v & (0x80000000u >> n))) ++n;
      if (n < 32 && (v << n) != 0) {
        why = "netmask " + ms + " is not contiguous; write a prefix length such as /24";
        return false;
      }
      out.prefix = static_cast<uint8_t>(n);
    } else {
      return false;
    }
  }
  // Clear host bits so contains() can compare bytes directly.
  for (int i = 0; i < 16; ++i) {
    int bit = i * 8;
    if (bit >= out.prefix) out.bytes[i] = 0;
    else if (bit + 8 > out.prefix) out.bytes[i] &= static_cast<uint8_t>(0xff00 >> (out.prefix - bit));
  }
  return true;
}

std::string normalize_fs_path(std::string_view path, std::string_view root) {
  std::string full;
  if (path.empty() || path[0] != '/') {
    full.assign(root.empty() ? std::string_view("/") : root);
    full.push_back('/');
  }
  full.append(path);
  std::vector<std::string_view> segs;
  std::string_view f = full;
  size_t pos = 0;
  while (pos < f.size()) {
    size_t slash = f.find('/', pos);
    std::string_view seg = f.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    pos = slash == std::string_view::npos ? f.size() : slash + 1;
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      continue;
    }
    segs.push_back(seg);
  }
  std::string out;
  for (auto s : segs) {
    out.push_back('/');
    out.append(s);
  }
  return out.empty() ? "/" : out;
}

}  // namespace pillar::config

// VRRP advertisements (RFC 5798 version 3, and RFC 3768 version 2 as
// keepalived speaks it by default), IPv4 only. The codec covers the VRRP
// message, not the IP header (the raw socket gives and takes that), except
// that decode_ip() takes a whole received IPv4 datagram and checks what
// RFC 5798 §7.1 requires of it (TTL 255, protocol 112).
#pragma once
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pillar::ha {

inline constexpr uint8_t kVrrpProtocol = 112;
inline constexpr uint32_t kVrrpGroup = 0xE0000012;  // 224.0.0.18, host order

struct VrrpAdvert {
  uint8_t version = 3;          // 2 or 3
  uint8_t vrid = 0;             // 1..255
  uint8_t priority = 100;       // 0 = master stepping down, 255 = address owner
  uint16_t interval_cs = 100;   // v3: Max Adver Int in centiseconds (12 bits); v2: seconds * 100
  std::vector<in_addr> addresses;
};

enum class DecodeError : uint8_t {
  None,
  Truncated,        // shorter than its headers / address count says
  BadIpHeader,      // not IPv4, bad IHL, total length mismatch
  BadTtl,           // IP TTL != 255
  BadProtocol,      // IP protocol != 112
  BadVersion,       // VRRP version not 2 or 3
  BadType,          // type != 1 (ADVERTISEMENT)
  BadChecksum,
  BadAddressCount,  // count 0, or more than fit the packet
  BadAuth,          // v2: auth type other than 0 (none) or 1 (simple text, accepted and ignored)
  BadInterval,      // interval 0
};
const char* to_string(DecodeError e);

// The VRRP checksum: v3 over the IPv4 pseudo-header (src, dst, zero,
// protocol 112, VRRP length) plus the message; v2 over the message only.
uint16_t vrrp_checksum(const uint8_t* msg, size_t len, uint8_t version, in_addr src, in_addr dst);

// Encodes `a` into `out` (replacing its contents) with the checksum for
// src/dst (dst is 224.0.0.18 for multicast, or the unicast peer).
void encode(const VrrpAdvert& a, in_addr src, in_addr dst, std::vector<uint8_t>& out);

// Decodes a VRRP message (no IP header) sent from src to dst.
DecodeError decode(const uint8_t* msg, size_t len, in_addr src, in_addr dst, VrrpAdvert& out);

// Decodes a received IPv4 datagram (IP header + VRRP message): checks the IP
// header (version 4, IHL, total length, TTL 255, protocol 112), then the
// message; *src gets the sender.
DecodeError decode_ip(const uint8_t* pkt, size_t len, VrrpAdvert& out, in_addr* src);

}  // namespace pillar::ha

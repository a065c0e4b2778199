// VRRP advertisement codec (RFC 5798 §5.1-5.2 version 3, RFC 3768 §5
// version 2), IPv4 only.
//
// Choices made here (the header leaves them open):
//  * vrrp_checksum() treats the checksum field (message bytes 6-7) as zero,
//    so it gives the value to put there when encoding and the value to
//    compare against when decoding.
//  * decode() is strict about length: the message must be exactly the fixed
//    header + count addresses (+ 8 bytes of authentication data for v2),
//    which is what keepalived sends. Shorter -> Truncated; longer ->
//    BadAddressCount (the count does not account for the bytes carried).
//  * Check order in decode(): Truncated (< 8 bytes), BadVersion, BadType,
//    BadAddressCount (0), Truncated / BadAddressCount (length), BadChecksum,
//    BadAuth (v2), BadInterval. Version 3 reserved bits are ignored on
//    receipt (RFC 5798 §5.2.5); the v2 authentication data is ignored (RFC
//    3768 §5.3.10).
//  * decode_ip() wants the datagram exactly as a raw IPv4 socket returns it:
//    total length must equal len (longer than len -> Truncated, shorter ->
//    BadIpHeader: trailing bytes are not accepted, as keepalived does not
//    either). Fragments (MF or an offset) are BadIpHeader. The IP header
//    checksum is not checked (the kernel has already dropped bad ones).
//    *src is set once the IP header is structurally sound, even if the TTL,
//    protocol or VRRP message is then rejected, so callers can log who sent it.
//  * encode(): version 2 gives a v2 advert, anything else v3. v3 intervals
//    are clamped to 12 bits (4095 cs); v2 seconds = round(cs / 100) clamped
//    to 1..255; at most 255 addresses are written (the count is one byte).
//    v2 adverts go out with Auth Type 0 and zero authentication data.
#include "ha/vrrp_packet.h"

#include <algorithm>
#include <cstring>

namespace pillar::ha {

namespace {

constexpr size_t kHeaderLen = 8;
constexpr size_t kAuthLen = 8;  // v2 Authentication Data
constexpr size_t kAddrLen = 4;
constexpr size_t kIpMinHeader = 20;
constexpr uint8_t kTypeAdvert = 1;
constexpr uint16_t kV3MaxInterval = 0x0FFF;

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// Adds 16-bit big-endian words of [p, p+len) to sum (odd tail padded with 0).
uint32_t sum_words(uint32_t sum, const uint8_t* p, size_t len) {
  size_t i = 0;
  for (; i + 1 < len; i += 2) sum += static_cast<uint32_t>((p[i] << 8) | p[i + 1]);
  if (i < len) sum += static_cast<uint32_t>(p[i] << 8);
  // Fold now and then so a long message cannot overflow 32 bits.
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return sum;
}

size_t expected_len(uint8_t version, size_t count) {
  return kHeaderLen + count * kAddrLen + (version == 2 ? kAuthLen : 0);
}

}  // namespace

const char* to_string(DecodeError e) {
  switch (e) {
    case DecodeError::None: return "ok";
    case DecodeError::Truncated: return "truncated";
    case DecodeError::BadIpHeader: return "bad IP header";
    case DecodeError::BadTtl: return "IP TTL is not 255";
    case DecodeError::BadProtocol: return "IP protocol is not 112";
    case DecodeError::BadVersion: return "bad VRRP version";
    case DecodeError::BadType: return "not an advertisement";
    case DecodeError::BadChecksum: return "bad checksum";
    case DecodeError::BadAddressCount: return "bad address count";
    case DecodeError::BadAuth: return "unsupported authentication type";
    case DecodeError::BadInterval: return "advertisement interval is 0";
  }
  return "unknown";
}

uint16_t vrrp_checksum(const uint8_t* msg, size_t len, uint8_t version, in_addr src, in_addr dst) {
  uint32_t sum = 0;
  if (version == 3) {
    uint8_t pseudo[12];
    std::memcpy(pseudo, &src.s_addr, 4);  // s_addr is already network order
    std::memcpy(pseudo + 4, &dst.s_addr, 4);
    pseudo[8] = 0;
    pseudo[9] = kVrrpProtocol;
    pseudo[10] = static_cast<uint8_t>((len >> 8) & 0xFF);
    pseudo[11] = static_cast<uint8_t>(len & 0xFF);
    sum = sum_words(sum, pseudo, sizeof pseudo);
  }
  if (len <= 6) {
    sum = sum_words(sum, msg, len);
  } else {
    // Skip the checksum field (bytes 6-7): it counts as zero.
    sum = sum_words(sum, msg, 6);
    if (len > 8) sum = sum_words(sum, msg + 8, len - 8);
  }
  return static_cast<uint16_t>(~sum & 0xFFFF);
}

void encode(const VrrpAdvert& a, in_addr src, in_addr dst, std::vector<uint8_t>& out) {
  const uint8_t version = a.version == 2 ? 2 : 3;
  const size_t count = std::min<size_t>(a.addresses.size(), 255);
  out.assign(expected_len(version, count), 0);
  out[0] = static_cast<uint8_t>((version << 4) | kTypeAdvert);
  out[1] = a.vrid;
  out[2] = a.priority;
  out[3] = static_cast<uint8_t>(count);
  if (version == 3) {
    const uint16_t iv = std::min<uint16_t>(a.interval_cs, kV3MaxInterval);
    out[4] = static_cast<uint8_t>(iv >> 8);  // top 4 bits (reserved) stay 0
    out[5] = static_cast<uint8_t>(iv & 0xFF);
  } else {
    const unsigned secs = (static_cast<unsigned>(a.interval_cs) + 50) / 100;
    out[4] = 0;  // Auth Type 0: no authentication
    out[5] = static_cast<uint8_t>(std::clamp(secs, 1u, 255u));
  }
  for (size_t i = 0; i < count; ++i) {
    std::memcpy(out.data() + kHeaderLen + i * kAddrLen, &a.addresses[i].s_addr, kAddrLen);
  }
  const uint16_t ck = vrrp_checksum(out.data(), out.size(), version, src, dst);
  out[6] = static_cast<uint8_t>(ck >> 8);
  out[7] = static_cast<uint8_t>(ck & 0xFF);
}

DecodeError decode(const uint8_t* msg, size_t len, in_addr src, in_addr dst, VrrpAdvert& out) {
  if (msg == nullptr || len < kHeaderLen) return DecodeError::Truncated;
  const uint8_t version = static_cast<uint8_t>(msg[0] >> 4);
  if (version != 2 && version != 3) return DecodeError::BadVersion;
  if ((msg[0] & 0x0F) != kTypeAdvert) return DecodeError::BadType;
  const size_t count = msg[3];
  if (count == 0) return DecodeError::BadAddressCount;
  const size_t want = expected_len(version, count);
  if (len < want) return DecodeError::Truncated;
  if (len > want) return DecodeError::BadAddressCount;
  if (vrrp_checksum(msg, len, version, src, dst) != rd16(msg + 6)) return DecodeError::BadChecksum;

  uint16_t interval_cs = 0;
  if (version == 3) {
    interval_cs = rd16(msg + 4) & kV3MaxInterval;
  } else {
    if (msg[4] != 0 && msg[4] != 1) return DecodeError::BadAuth;
    interval_cs = static_cast<uint16_t>(msg[5] * 100);
  }
  if (interval_cs == 0) return DecodeError::BadInterval;

  out.version = version;
  out.vrid = msg[1];
  out.priority = msg[2];
  out.interval_cs = interval_cs;
  out.addresses.resize(count);
  for (size_t i = 0; i < count; ++i) {
    std::memcpy(&out.addresses[i].s_addr, msg + kHeaderLen + i * kAddrLen, kAddrLen);
  }
  return DecodeError::None;
}

DecodeError decode_ip(const uint8_t* pkt, size_t len, VrrpAdvert& out, in_addr* src) {
  if (pkt == nullptr || len < kIpMinHeader) return DecodeError::Truncated;
  if ((pkt[0] >> 4) != 4) return DecodeError::BadIpHeader;
  const size_t ihl = static_cast<size_t>(pkt[0] & 0x0F) * 4;
  if (ihl < kIpMinHeader) return DecodeError::BadIpHeader;
  const size_t total = rd16(pkt + 2);
  if (total > len) return DecodeError::Truncated;
  if (total < len || ihl > total) return DecodeError::BadIpHeader;
  if ((rd16(pkt + 6) & 0x3FFF) != 0) return DecodeError::BadIpHeader;  // MF or fragment offset

  in_addr s{}, d{};
  std::memcpy(&s.s_addr, pkt + 12, 4);
  std::memcpy(&d.s_addr, pkt + 16, 4);
  if (src != nullptr) *src = s;
  if (pkt[9] != kVrrpProtocol) return DecodeError::BadProtocol;
  if (pkt[8] != 255) return DecodeError::BadTtl;
  return decode(pkt + ihl, total - ihl, s, d, out);
}

}  // namespace pillar::ha

#include "ha/vrrp_packet.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

using pillar::ha::decode;
using pillar::ha::decode_ip;
using pillar::ha::DecodeError;
using pillar::ha::encode;
using pillar::ha::kVrrpGroup;
using pillar::ha::kVrrpProtocol;
using pillar::ha::to_string;
using pillar::ha::vrrp_checksum;
using pillar::ha::VrrpAdvert;

namespace {

using Bytes = std::vector<uint8_t>;

in_addr ip(const char* s) {
  in_addr a{};
  if (inet_pton(AF_INET, s, &a) != 1) std::abort();  // also used at static init: no EXPECT here
  return a;
}

in_addr group() {
  in_addr a{};
  a.s_addr = htonl(kVrrpGroup);
  return a;
}

const in_addr kSrc = ip("192.168.1.1");
const in_addr kDst = group();

VrrpAdvert advert(uint8_t version, size_t naddr, uint8_t vrid = 51, uint8_t prio = 100,
                  uint16_t interval_cs = 100) {
  VrrpAdvert a;
  a.version = version;
  a.vrid = vrid;
  a.priority = prio;
  a.interval_cs = interval_cs;
  for (size_t i = 0; i < naddr; ++i) {
    in_addr x{};
    x.s_addr = htonl(0x0A000000u + static_cast<uint32_t>(i) * 7919u + 1u);  // 10.x.y.z, distinct
    a.addresses.push_back(x);
  }
  return a;
}

Bytes enc(const VrrpAdvert& a, in_addr src = kSrc, in_addr dst = kDst) {
  Bytes out;
  encode(a, src, dst, out);
  return out;
}

DecodeError dec(const Bytes& m, VrrpAdvert& out, in_addr src = kSrc, in_addr dst = kDst) {
  return decode(m.data(), m.size(), src, dst, out);
}

DecodeError dec(const Bytes& m, in_addr src = kSrc, in_addr dst = kDst) {
  VrrpAdvert out;
  return dec(m, out, src, dst);
}

// Recomputes the checksum after a test has edited a message, using the
// version nibble the message carries.
void reseal(Bytes& m, in_addr src = kSrc, in_addr dst = kDst) {
  const uint16_t ck = vrrp_checksum(m.data(), m.size(), static_cast<uint8_t>(m[0] >> 4), src, dst);
  m[6] = static_cast<uint8_t>(ck >> 8);
  m[7] = static_cast<uint8_t>(ck & 0xFF);
}

// Independent reference: the one's complement sum over (pseudo-header +)
// message including the stored checksum must fold to 0xFFFF.
bool reference_checksum_ok(const Bytes& m, bool pseudo, in_addr src, in_addr dst) {
  Bytes all;
  if (pseudo) {
    const auto* s = reinterpret_cast<const uint8_t*>(&src.s_addr);
    const auto* d = reinterpret_cast<const uint8_t*>(&dst.s_addr);
    all.insert(all.end(), s, s + 4);
    all.insert(all.end(), d, d + 4);
    all.push_back(0);
    all.push_back(112);
    all.push_back(static_cast<uint8_t>(m.size() >> 8));
    all.push_back(static_cast<uint8_t>(m.size()));
  }
  all.insert(all.end(), m.begin(), m.end());
  if (all.size() % 2) all.push_back(0);
  uint64_t sum = 0;
  for (size_t i = 0; i < all.size(); i += 2) sum += (static_cast<uint64_t>(all[i]) << 8) | all[i + 1];
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return sum == 0xFFFF;
}

// Wraps a VRRP message in an IPv4 header.
Bytes ip_datagram(const Bytes& msg, in_addr src = kSrc, in_addr dst = kDst, uint8_t ttl = 255,
                  uint8_t proto = kVrrpProtocol, size_t option_words = 0) {
  const size_t ihl = 20 + option_words * 4;
  Bytes p(ihl, 0);
  p[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
  p[1] = 0xC0;  // DSCP CS6, as keepalived sends
  const size_t total = ihl + msg.size();
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[8] = ttl;
  p[9] = proto;
  std::memcpy(&p[12], &src.s_addr, 4);
  std::memcpy(&p[16], &dst.s_addr, 4);
  for (size_t i = 20; i < ihl; ++i) p[i] = 1;  // NOP options
  p.insert(p.end(), msg.begin(), msg.end());
  return p;
}

void expect_same(const VrrpAdvert& a, const VrrpAdvert& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.vrid, b.vrid);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.interval_cs, b.interval_cs);
  ASSERT_EQ(a.addresses.size(), b.addresses.size());
  for (size_t i = 0; i < a.addresses.size(); ++i) EXPECT_EQ(a.addresses[i].s_addr, b.addresses[i].s_addr) << i;
}

}  // namespace

// ---- round trips ----------------------------------------------------------

TEST(VrrpPacket, V3RoundTripOneAddress) {
  const VrrpAdvert a = advert(3, 1);
  const Bytes m = enc(a);
  EXPECT_EQ(m.size(), 12u);
  VrrpAdvert b;
  ASSERT_EQ(dec(m, b), DecodeError::None);
  expect_same(a, b);
}

TEST(VrrpPacket, V3RoundTripOneToManyAddresses) {
  for (size_t n = 1; n <= 40; ++n) {
    const VrrpAdvert a = advert(3, n, static_cast<uint8_t>(n), static_cast<uint8_t>(200 - n),
                                static_cast<uint16_t>(n * 37));
    const Bytes m = enc(a);
    EXPECT_EQ(m.size(), 8 + 4 * n);
    VrrpAdvert b;
    ASSERT_EQ(dec(m, b), DecodeError::None) << n;
    expect_same(a, b);
  }
}

TEST(VrrpPacket, V2RoundTripOneToManyAddresses) {
  for (size_t n = 1; n <= 40; ++n) {
    const VrrpAdvert a = advert(2, n, static_cast<uint8_t>(n), static_cast<uint8_t>(n + 1),
                                static_cast<uint16_t>((n % 10 + 1) * 100));
    const Bytes m = enc(a);
    EXPECT_EQ(m.size(), 8 + 4 * n + 8);
    VrrpAdvert b;
    ASSERT_EQ(dec(m, b), DecodeError::None) << n;
    expect_same(a, b);
  }
}

TEST(VrrpPacket, RoundTrip255AddressesBothVersions) {
  for (uint8_t v : {2, 3}) {
    const VrrpAdvert a = advert(v, 255, 255, 255, 300);
    VrrpAdvert b;
    ASSERT_EQ(dec(enc(a), b), DecodeError::None);
    expect_same(a, b);
  }
}

TEST(VrrpPacket, EncodeWritesAtMost255Addresses) {
  const VrrpAdvert a = advert(3, 300);
  const Bytes m = enc(a);
  EXPECT_EQ(m[3], 255);
  EXPECT_EQ(m.size(), 8u + 255u * 4u);
  VrrpAdvert b;
  ASSERT_EQ(dec(m, b), DecodeError::None);
  ASSERT_EQ(b.addresses.size(), 255u);
  EXPECT_EQ(b.addresses[254].s_addr, a.addresses[254].s_addr);
}

TEST(VrrpPacket, PriorityAndVridExtremesRoundTrip) {
  for (uint8_t prio : {0, 1, 254, 255}) {
    for (uint8_t vrid : {1, 255}) {
      const VrrpAdvert a = advert(3, 2, vrid, prio);
      VrrpAdvert b;
      ASSERT_EQ(dec(enc(a), b), DecodeError::None);
      expect_same(a, b);
    }
  }
}

TEST(VrrpPacket, EncodeReplacesOutputContents) {
  Bytes out(500, 0xAA);
  encode(advert(3, 1), kSrc, kDst, out);
  EXPECT_EQ(out.size(), 12u);
  EXPECT_EQ(out, enc(advert(3, 1)));
}

TEST(VrrpPacket, EncodeUnknownVersionGivesV3) {
  VrrpAdvert a = advert(7, 1);
  const Bytes m = enc(a);
  EXPECT_EQ(m[0], 0x31);
  VrrpAdvert b;
  ASSERT_EQ(dec(m, b), DecodeError::None);
  EXPECT_EQ(b.version, 3);
}

// ---- known answers (computed by hand) -------------------------------------

// src 192.168.1.1, dst 224.0.0.18, VRID 51, priority 100, 1 s, 192.168.1.100.
// Pseudo-header words c0a8 0101 e000 0012 0070 000c, message words
// 3133 6401 0064 (0000) c0a8 0164: sum 0x2f9db -> 0xf9dd -> ~ = 0x0622.
TEST(VrrpPacket, V3KnownAnswer) {
  VrrpAdvert a;
  a.version = 3;
  a.vrid = 51;
  a.priority = 100;
  a.interval_cs = 100;
  a.addresses = {ip("192.168.1.100")};
  const Bytes want = {0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x06, 0x22, 0xC0, 0xA8, 0x01, 0x64};
  EXPECT_EQ(enc(a, ip("192.168.1.1"), group()), want);
  EXPECT_EQ(vrrp_checksum(want.data(), want.size(), 3, ip("192.168.1.1"), group()), 0x0622);
  VrrpAdvert b;
  ASSERT_EQ(decode(want.data(), want.size(), ip("192.168.1.1"), group(), b), DecodeError::None);
  expect_same(a, b);
}

// Same advert as v2: words 2133 6401 0001 (0000) c0a8 0164 + 8 zero bytes:
// sum 0x14741 -> 0x4742 -> ~ = 0xb8bd. No pseudo-header.
TEST(VrrpPacket, V2KnownAnswer) {
  VrrpAdvert a;
  a.version = 2;
  a.vrid = 51;
  a.priority = 100;
  a.interval_cs = 100;
  a.addresses = {ip("192.168.1.100")};
  const Bytes want = {0x21, 0x33, 0x64, 0x01, 0x00, 0x01, 0xB8, 0xBD, 0xC0, 0xA8,
                      0x01, 0x64, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(enc(a, ip("192.168.1.1"), group()), want);
  // v2 does not depend on the addresses.
  EXPECT_EQ(vrrp_checksum(want.data(), want.size(), 2, ip("1.2.3.4"), ip("5.6.7.8")), 0xB8BD);
}

TEST(VrrpPacket, ChecksumMatchesIndependentReference) {
  for (size_t n = 1; n <= 12; ++n) {
    const Bytes m3 = enc(advert(3, n, 9, 150, 75));
    EXPECT_TRUE(reference_checksum_ok(m3, true, kSrc, kDst)) << n;
    const Bytes m2 = enc(advert(2, n, 9, 150, 300));
    EXPECT_TRUE(reference_checksum_ok(m2, false, kSrc, kDst)) << n;
  }
}

TEST(VrrpPacket, ChecksumTreatsChecksumFieldAsZero) {
  Bytes m = enc(advert(3, 2));
  const uint16_t before = vrrp_checksum(m.data(), m.size(), 3, kSrc, kDst);
  m[6] = 0x12;
  m[7] = 0x34;
  EXPECT_EQ(vrrp_checksum(m.data(), m.size(), 3, kSrc, kDst), before);
}

TEST(VrrpPacket, ChecksumOddLengthPadsWithZero) {
  const Bytes odd = {0x31, 0x01, 0x02, 0x03, 0x04, 0x05, 0x00, 0x00, 0xAB};
  const Bytes even = {0x31, 0x01, 0x02, 0x03, 0x04, 0x05, 0x00, 0x00, 0xAB, 0x00};
  // Same words; only the pseudo-header length differs, so compare v2.
  EXPECT_EQ(vrrp_checksum(odd.data(), odd.size(), 2, kSrc, kDst),
            vrrp_checksum(even.data(), even.size(), 2, kSrc, kDst));
}

TEST(VrrpPacket, V3ChecksumCoversPseudoHeader) {
  const Bytes m = enc(advert(3, 1));
  EXPECT_EQ(dec(m, kSrc, kDst), DecodeError::None);
  EXPECT_EQ(dec(m, ip("192.168.1.2"), kDst), DecodeError::BadChecksum);
  EXPECT_EQ(dec(m, kSrc, ip("192.168.1.9")), DecodeError::BadChecksum);
  // Unicast: encoded for the peer, verifies for the peer.
  const Bytes u = enc(advert(3, 1), kSrc, ip("192.168.1.2"));
  EXPECT_EQ(dec(u, kSrc, ip("192.168.1.2")), DecodeError::None);
  EXPECT_EQ(dec(u, kSrc, kDst), DecodeError::BadChecksum);
}

TEST(VrrpPacket, V2ChecksumIgnoresAddresses) {
  const Bytes m = enc(advert(2, 3));
  EXPECT_EQ(dec(m, ip("10.9.9.9"), ip("10.8.8.8")), DecodeError::None);
}

// ---- errors ---------------------------------------------------------------

TEST(VrrpPacket, TruncatedAtEveryLengthV3) {
  const Bytes m = enc(advert(3, 5));
  for (size_t len = 0; len < m.size(); ++len) {
    VrrpAdvert out;
    EXPECT_EQ(decode(m.data(), len, kSrc, kDst, out), DecodeError::Truncated) << len;
  }
}

TEST(VrrpPacket, TruncatedAtEveryLengthV2) {
  const Bytes m = enc(advert(2, 5));
  for (size_t len = 0; len < m.size(); ++len) {
    VrrpAdvert out;
    EXPECT_EQ(decode(m.data(), len, kSrc, kDst, out), DecodeError::Truncated) << len;
  }
}

TEST(VrrpPacket, TruncatedAtEveryLengthIp) {
  for (uint8_t v : {2, 3}) {
    const Bytes p = ip_datagram(enc(advert(v, 3)));
    for (size_t len = 0; len < p.size(); ++len) {
      VrrpAdvert out;
      EXPECT_EQ(decode_ip(p.data(), len, out, nullptr), DecodeError::Truncated) << len;
    }
  }
}

TEST(VrrpPacket, NullMessageIsTruncated) {
  VrrpAdvert out;
  EXPECT_EQ(decode(nullptr, 0, kSrc, kDst, out), DecodeError::Truncated);
  EXPECT_EQ(decode_ip(nullptr, 0, out, nullptr), DecodeError::Truncated);
}

TEST(VrrpPacket, V2WithoutAuthDataIsTruncated) {
  Bytes m = enc(advert(2, 2));
  m.resize(m.size() - 8);
  reseal(m);
  EXPECT_EQ(dec(m), DecodeError::Truncated);
}

TEST(VrrpPacket, BadVersion) {
  for (uint8_t v : {0, 1, 4, 5, 15}) {
    Bytes m = enc(advert(3, 1));
    m[0] = static_cast<uint8_t>((v << 4) | 1);
    EXPECT_EQ(dec(m), DecodeError::BadVersion) << int(v);
  }
}

TEST(VrrpPacket, BadType) {
  for (uint8_t v : {2, 3}) {
    for (uint8_t t : {0, 2, 15}) {
      Bytes m = enc(advert(v, 1));
      m[0] = static_cast<uint8_t>((v << 4) | t);
      reseal(m);
      EXPECT_EQ(dec(m), DecodeError::BadType) << int(v) << "/" << int(t);
    }
  }
}

TEST(VrrpPacket, BadChecksum) {
  for (uint8_t v : {2, 3}) {
    Bytes m = enc(advert(v, 2));
    m[7] ^= 0x01;
    EXPECT_EQ(dec(m), DecodeError::BadChecksum);
  }
}

TEST(VrrpPacket, ZeroAddressCount) {
  for (uint8_t v : {2, 3}) {
    Bytes m = enc(advert(v, 1));
    m[3] = 0;
    m.erase(m.begin() + 8, m.begin() + 12);  // consistent length for 0 addresses
    reseal(m);
    EXPECT_EQ(dec(m), DecodeError::BadAddressCount) << int(v);
  }
}

TEST(VrrpPacket, CountLargerThanPacketIsTruncated) {
  for (uint8_t v : {2, 3}) {
    Bytes m = enc(advert(v, 2));
    m[3] = 3;
    reseal(m);
    EXPECT_EQ(dec(m), DecodeError::Truncated) << int(v);
  }
}

TEST(VrrpPacket, TrailingBytesAreBadAddressCount) {
  for (uint8_t v : {2, 3}) {
    for (size_t extra : {1u, 3u, 4u, 8u}) {
      Bytes m = enc(advert(v, 2));
      m.insert(m.end(), extra, 0);
      reseal(m);
      EXPECT_EQ(dec(m), DecodeError::BadAddressCount) << int(v) << "+" << extra;
    }
  }
}

TEST(VrrpPacket, V2BadAuthType) {
  for (uint8_t t : {2, 3, 254, 255}) {
    Bytes m = enc(advert(2, 1));
    m[4] = t;
    reseal(m);
    EXPECT_EQ(dec(m), DecodeError::BadAuth) << int(t);
  }
}

TEST(VrrpPacket, V2SimpleTextAuthAcceptedAndIgnored) {
  Bytes m = enc(advert(2, 2));
  m[4] = 1;
  std::memcpy(&m[m.size() - 8], "secret\0\0", 8);
  reseal(m);
  VrrpAdvert b;
  ASSERT_EQ(dec(m, b), DecodeError::None);
  expect_same(advert(2, 2), b);
}

TEST(VrrpPacket, ZeroIntervalIsBadInterval) {
  Bytes m3 = enc(advert(3, 1));
  m3[4] = 0;
  m3[5] = 0;
  reseal(m3);
  EXPECT_EQ(dec(m3), DecodeError::BadInterval);
  // Only the reserved bits set: still a zero interval.
  m3[4] = 0xF0;
  reseal(m3);
  EXPECT_EQ(dec(m3), DecodeError::BadInterval);

  Bytes m2 = enc(advert(2, 1));
  m2[5] = 0;
  reseal(m2);
  EXPECT_EQ(dec(m2), DecodeError::BadInterval);
}

TEST(VrrpPacket, DecodeLeavesOutputAloneOnError) {
  VrrpAdvert out = advert(2, 3, 7, 8, 900);
  Bytes m = enc(advert(3, 1));
  m[7] ^= 0xFF;
  ASSERT_EQ(dec(m, out), DecodeError::BadChecksum);
  expect_same(out, advert(2, 3, 7, 8, 900));
}

TEST(VrrpPacket, EverySingleBitFlipIsRejected) {
  for (uint8_t v : {2, 3}) {
    const Bytes good = enc(advert(v, 3));
    for (size_t bit = 0; bit < good.size() * 8; ++bit) {
      Bytes m = good;
      m[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      // v3 reserved bits are ignored on receipt but still checksummed.
      EXPECT_NE(dec(m), DecodeError::None) << "v" << int(v) << " bit " << bit;
    }
  }
}

TEST(VrrpPacket, BitFlipsInCheckedFieldsGiveBadChecksum) {
  for (uint8_t v : {2, 3}) {
    const Bytes good = enc(advert(v, 3));
    // VRID, priority, interval, checksum, addresses (and v2 auth data).
    std::vector<size_t> bytes = {1, 2, 5, 6, 7};
    for (size_t i = 8; i < good.size(); ++i) bytes.push_back(i);
    if (v == 3) bytes.push_back(4);  // reserved bits + interval high bits
    for (size_t byte : bytes) {
      for (int b = 0; b < 8; ++b) {
        Bytes m = good;
        m[byte] ^= static_cast<uint8_t>(1u << b);
        EXPECT_EQ(dec(m), DecodeError::BadChecksum) << "v" << int(v) << " byte " << byte << " bit " << b;
      }
    }
  }
}

// ---- intervals --------------------------------------------------------------

TEST(VrrpPacket, V2IntervalConversionOnEncode) {
  const struct {
    uint16_t cs;
    uint8_t secs;
  } cases[] = {{0, 1},     {1, 1},     {49, 1},     {100, 1},    {149, 1},   {150, 2},
               {199, 2},   {250, 3},   {300, 3},    {1000, 10},  {25500, 255}, {25549, 255},
               {25550, 255}, {60000, 255}, {65535, 255}};
  for (const auto& c : cases) {
    const Bytes m = enc(advert(2, 1, 1, 100, c.cs));
    EXPECT_EQ(m[5], c.secs) << c.cs;
    VrrpAdvert b;
    ASSERT_EQ(dec(m, b), DecodeError::None);
    EXPECT_EQ(b.interval_cs, c.secs * 100) << c.cs;
  }
}

TEST(VrrpPacket, V2IntervalDecodesSecondsTimes100) {
  for (unsigned s = 1; s <= 255; ++s) {
    Bytes m = enc(advert(2, 1));
    m[5] = static_cast<uint8_t>(s);
    reseal(m);
    VrrpAdvert b;
    ASSERT_EQ(dec(m, b), DecodeError::None);
    EXPECT_EQ(b.interval_cs, s * 100);
  }
}

TEST(VrrpPacket, V3IntervalIsTwelveBitCentiseconds) {
  for (uint16_t cs : {1, 2, 100, 255, 256, 4095}) {
    const Bytes m = enc(advert(3, 1, 1, 100, cs));
    EXPECT_EQ(m[4], cs >> 8);
    EXPECT_EQ(m[5], cs & 0xFF);
    VrrpAdvert b;
    ASSERT_EQ(dec(m, b), DecodeError::None);
    EXPECT_EQ(b.interval_cs, cs);
  }
  // Encode clamps to 12 bits and never touches the reserved bits.
  for (uint16_t cs : {4096, 5000, 65535}) {
    const Bytes m = enc(advert(3, 1, 1, 100, cs));
    EXPECT_EQ(m[4], 0x0F);
    EXPECT_EQ(m[5], 0xFF);
  }
}

TEST(VrrpPacket, V3ReservedBitsIgnoredOnReceipt) {
  Bytes m = enc(advert(3, 1, 1, 100, 0x123));
  m[4] |= 0xA0;
  reseal(m);
  VrrpAdvert b;
  ASSERT_EQ(dec(m, b), DecodeError::None);
  EXPECT_EQ(b.interval_cs, 0x123);
}

// ---- decode_ip ----------------------------------------------------------------

TEST(VrrpPacket, DecodeIpValidBothVersions) {
  for (uint8_t v : {2, 3}) {
    const VrrpAdvert a = advert(v, 4);
    const Bytes p = ip_datagram(enc(a));
    VrrpAdvert b;
    in_addr src{};
    ASSERT_EQ(decode_ip(p.data(), p.size(), b, &src), DecodeError::None) << int(v);
    EXPECT_EQ(src.s_addr, kSrc.s_addr);
    expect_same(a, b);
  }
}

TEST(VrrpPacket, DecodeIpUsesHeaderAddressesForPseudoHeader) {
  const in_addr peer = ip("10.1.1.2");
  const in_addr me = ip("10.1.1.1");
  // Unicast advert to a peer: the pseudo-header dst is the peer.
  Bytes p = ip_datagram(enc(advert(3, 1), me, peer), me, peer);
  VrrpAdvert b;
  in_addr src{};
  EXPECT_EQ(decode_ip(p.data(), p.size(), b, &src), DecodeError::None);
  EXPECT_EQ(src.s_addr, me.s_addr);
  // The same message claimed to come from someone else fails the checksum.
  p = ip_datagram(enc(advert(3, 1), me, peer), ip("10.1.1.3"), peer);
  EXPECT_EQ(decode_ip(p.data(), p.size(), b, &src), DecodeError::BadChecksum);
  EXPECT_EQ(src.s_addr, ip("10.1.1.3").s_addr);  // the sender is reported even so
}

TEST(VrrpPacket, DecodeIpWithOptions) {
  const Bytes p = ip_datagram(enc(advert(3, 2)), kSrc, kDst, 255, kVrrpProtocol, 2);
  VrrpAdvert b;
  EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::None);
}

TEST(VrrpPacket, DecodeIpBadTtl) {
  for (uint8_t ttl : {0, 1, 64, 254}) {
    const Bytes p = ip_datagram(enc(advert(3, 1)), kSrc, kDst, ttl);
    VrrpAdvert b;
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::BadTtl) << int(ttl);
  }
}

TEST(VrrpPacket, DecodeIpBadProtocol) {
  for (uint8_t proto : {0, 6, 17, 51, 111, 113}) {
    const Bytes p = ip_datagram(enc(advert(3, 1)), kSrc, kDst, 255, proto);
    VrrpAdvert b;
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::BadProtocol) << int(proto);
  }
}

TEST(VrrpPacket, DecodeIpBadHeader) {
  const Bytes good = ip_datagram(enc(advert(3, 1)));
  VrrpAdvert b;
  {  // IPv6 version nibble
    Bytes p = good;
    p[0] = 0x65;
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::BadIpHeader);
  }
  for (uint8_t ihl : {0, 1, 4}) {  // IHL below 5
    Bytes p = good;
    p[0] = static_cast<uint8_t>(0x40 | ihl);
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::BadIpHeader) << int(ihl);
  }
  {  // IHL past the end of the datagram
    Bytes p = good;
    p[0] = 0x4F;
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::BadIpHeader);
  }
  {  // trailing bytes after the total length
    Bytes p = good;
    p.push_back(0);
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::BadIpHeader);
  }
  {  // total length below the header
    Bytes p = good;
    p[2] = 0;
    p[3] = 10;
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::BadIpHeader);
  }
  {  // total length beyond what was received
    Bytes p = good;
    p[3] = static_cast<uint8_t>(p[3] + 4);
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::Truncated);
  }
  for (uint16_t frag : {0x2000, 0x0001, 0x1FFF}) {  // MF, or an offset
    Bytes p = good;
    p[6] = static_cast<uint8_t>(frag >> 8);
    p[7] = static_cast<uint8_t>(frag);
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::BadIpHeader) << frag;
  }
  {  // DF alone is fine
    Bytes p = good;
    p[6] = 0x40;
    EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::None);
  }
}

TEST(VrrpPacket, DecodeIpPassesVrrpErrorsThrough) {
  Bytes m = enc(advert(2, 1));
  m[4] = 2;
  reseal(m);
  const Bytes p = ip_datagram(m);
  VrrpAdvert b;
  EXPECT_EQ(decode_ip(p.data(), p.size(), b, nullptr), DecodeError::BadAuth);
}

// ---- to_string ------------------------------------------------------------

TEST(VrrpPacket, ToStringDistinctAndNonEmpty) {
  std::set<std::string> seen;
  for (int i = 0; i <= static_cast<int>(DecodeError::BadInterval); ++i) {
    const char* s = to_string(static_cast<DecodeError>(i));
    ASSERT_NE(s, nullptr);
    EXPECT_FALSE(std::string(s).empty());
    EXPECT_NE(std::string(s), "unknown") << i;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(DecodeError::BadInterval) + 1);
  EXPECT_STREQ(to_string(DecodeError::None), "ok");
  EXPECT_STREQ(to_string(DecodeError::BadChecksum), "bad checksum");
  EXPECT_STREQ(to_string(static_cast<DecodeError>(200)), "unknown");
}

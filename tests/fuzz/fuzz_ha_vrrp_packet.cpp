// libFuzzer target for the VRRP advertisement codec. The input is taken as a
// received IPv4 datagram (decode_ip) and, separately, as a bare VRRP message
// (decode, fixed multicast addresses). Whatever decodes is re-encoded and
// decoded again: the advert must come back unchanged, and encoding that
// must give the same bytes (the encoding is canonical).
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ha/vrrp_packet.h"

namespace {

using pillar::ha::DecodeError;
using pillar::ha::VrrpAdvert;

#define FUZZ_CHECK(cond)            \
  do {                              \
    if (!(cond)) __builtin_trap();  \
  } while (0)

bool same(const VrrpAdvert& a, const VrrpAdvert& b) {
  if (a.version != b.version || a.vrid != b.vrid || a.priority != b.priority ||
      a.interval_cs != b.interval_cs || a.addresses.size() != b.addresses.size()) {
    return false;
  }
  for (size_t i = 0; i < a.addresses.size(); ++i) {
    if (a.addresses[i].s_addr != b.addresses[i].s_addr) return false;
  }
  return true;
}

void round_trip(const VrrpAdvert& a, in_addr src, in_addr dst) {
  FUZZ_CHECK(a.version == 2 || a.version == 3);
  FUZZ_CHECK(!a.addresses.empty() && a.addresses.size() <= 255);
  FUZZ_CHECK(a.interval_cs != 0);
  std::vector<uint8_t> bytes;
  pillar::ha::encode(a, src, dst, bytes);
  VrrpAdvert b;
  FUZZ_CHECK(pillar::ha::decode(bytes.data(), bytes.size(), src, dst, b) == DecodeError::None);
  FUZZ_CHECK(same(a, b));
  std::vector<uint8_t> again;
  pillar::ha::encode(b, src, dst, again);
  FUZZ_CHECK(again == bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    VrrpAdvert a;
    in_addr src{};
    const DecodeError e = pillar::ha::decode_ip(data, size, a, &src);
    FUZZ_CHECK(pillar::ha::to_string(e) != nullptr);
    if (e == DecodeError::None) {
      FUZZ_CHECK(size >= 20);
      in_addr dst{};
      __builtin_memcpy(&dst.s_addr, data + 16, 4);
      round_trip(a, src, dst);
    }
  }
  {
    in_addr src{};
    src.s_addr = htonl(0xC0A80101);  // 192.168.1.1
    in_addr dst{};
    dst.s_addr = htonl(pillar::ha::kVrrpGroup);
    VrrpAdvert a;
    const DecodeError e = pillar::ha::decode(data, size, src, dst, a);
    if (e == DecodeError::None) round_trip(a, src, dst);
  }
  return 0;
}

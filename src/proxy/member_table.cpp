#include "proxy/member_table.h"

#include "core/assert.h"

#include <cstring>

namespace pillar::proxy {

namespace {
void copy_name(char* dst, size_t cap, std::string_view s) {
  size_t n = std::min(cap - 1, s.size());
  std::memcpy(dst, s.data(), n);
  dst[n] = '\0';
}
}  // namespace

BalancerBlock* MemberTable::block(std::string_view name) {
  uint32_t n = count.load();
  for (uint32_t i = 0; i < n; ++i) {
    if (name == blocks[i].name) return &blocks[i];
  }
  if (n >= kBalancers) return nullptr;
  copy_name(blocks[n].name, BalancerBlock::kNameMax, name);
  count.store(n + 1);
  return &blocks[n];
}

const BalancerBlock* MemberTable::find(std::string_view name) const {
  uint32_t n = count.load();
  for (uint32_t i = 0; i < n; ++i) {
    if (name == blocks[i].name) return &blocks[i];
  }
  return nullptr;
}

int MemberTable::slot(BalancerBlock& b, std::string_view url, bool* added) {
  uint32_t n = b.used.load();
  if (added) *added = false;
  for (uint32_t i = 0; i < n; ++i) {
    if (url == b.urls[i]) return static_cast<int>(i);
  }
  if (n >= BalancerBlock::kSlots) return -1;
  copy_name(b.urls[n], BalancerBlock::kUrlMax, url);
  b.used.store(n + 1);
  if (added) *added = true;
  return static_cast<int>(n);
}

uint32_t MemberTable::ref(const BalancerBlock& b, int slot) const {
  auto index = static_cast<uint32_t>(&b - blocks);
  PILLAR_ASSERT(index < kBalancers && slot >= 0 && static_cast<size_t>(slot) < BalancerBlock::kSlots);
  return (index + 1) << 16 | static_cast<uint32_t>(slot);
}

void MemberTable::release_ref(uint32_t ref) {
  if (ref == 0) return;
  uint32_t index = (ref >> 16) - 1, slot = ref & 0xffff;
  if (index >= count.load() || slot >= blocks[index].used.load()) return;
  release(blocks[index].members[slot]);
}

}  // namespace pillar::proxy

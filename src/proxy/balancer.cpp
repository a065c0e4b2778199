#include "proxy/balancer.h"

#include "core/assert.h"

#include <cmath>
#include <cstring>

namespace pillar::proxy {

namespace {

constexpr uint64_t kNoTier = ~uint64_t{0};

uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

void copy_route(char (&dst)[kRouteMax], std::string_view src) {
  size_t n = src.size() < kRouteMax - 1 ? src.size() : kRouteMax - 1;
  if (n) std::memcpy(dst, src.data(), n);
  std::memset(dst + n, 0, kRouteMax - n);
}

std::string_view fixed_view(const char (&s)[kRouteMax]) { return {s, strnlen(s, kRouteMax)}; }

bool usable_flags(uint32_t flags, bool for_session) {
  if (flags & (kStatusDisabled | kStatusStopped)) return false;
  if ((flags & kStatusError) && !(flags & kStatusIgnoreErrors)) return false;
  if (!for_session && (flags & kStatusDrain)) return false;
  return true;
}

bool below_max(const MemberState& m) {
  return m.max_connections == 0 || m.busy.load(std::memory_order_relaxed) < m.max_connections;
}

// Candidate set for one pick: the usable members of the first tier
// (lowest lbset, non-standby before standby). Status is read once per member.
struct Candidates {
  size_t n = 0;
  uint16_t idx[kMaxMembers];
};

void collect(std::span<MemberState> members, const PickContext& ctx, Candidates& out) {
  size_t count = members.size() < kMaxMembers ? members.size() : kMaxMembers;
  uint64_t keys[kMaxMembers];
  uint64_t best = kNoTier;
  for (size_t i = 0; i < count; ++i) {
    const MemberState& m = members[i];
    uint32_t flags = m.status_flags.load(std::memory_order_relaxed);
    if (ctx.exclude.test(i) || !usable_flags(flags, false) || !below_max(m)) {
      keys[i] = kNoTier;
      continue;
    }
    keys[i] = (uint64_t{m.lbset} << 1) | ((flags & kStatusHotStandby) ? 1 : 0);
    if (keys[i] < best) best = keys[i];
  }
  out.n = 0;
  if (best == kNoTier) return;
  for (size_t i = 0; i < count; ++i)
    if (keys[i] == best) out.idx[out.n++] = static_cast<uint16_t>(i);
}

uint64_t factor(const MemberState& m) { return m.lbfactor == 0 ? 1 : m.lbfactor; }

// Apache's request counting; also used by ByBusyness with its own comparison.
template <typename Better>
int lbstatus_pick(std::span<MemberState> members, const Candidates& c, Better better) {
  int64_t total = 0;
  int best = -1;
  int64_t best_status = 0;
  for (size_t k = 0; k < c.n; ++k) {
    MemberState& m = members[c.idx[k]];
    int64_t f = static_cast<int64_t>(factor(m));
    int64_t status = m.lbstatus.fetch_add(f, std::memory_order_relaxed) + f;
    total += f;
    if (best < 0 || better(m, status, members[best], best_status)) {
      best = c.idx[k];
      best_status = status;
    }
  }
  if (best >= 0) members[best].lbstatus.fetch_sub(total, std::memory_order_relaxed);
  return best;
}

int by_traffic(std::span<MemberState> members, const Candidates& c) {
  int best = -1;
  unsigned __int128 best_t = 0, best_f = 1;
  for (size_t k = 0; k < c.n; ++k) {
    const MemberState& m = members[c.idx[k]];
    unsigned __int128 t = m.transferred.load(std::memory_order_relaxed), f = factor(m);
    // t/f < best_t/best_f  <=>  t*best_f < best_t*f
    if (best < 0 || t * best_f < best_t * f) {
      best = c.idx[k];
      best_t = t;
      best_f = f;
    }
  }
  return best;
}

int source_hash(std::span<MemberState> members, const Candidates& c, const PickContext& ctx) {
  if (c.n == 0) return -1;
  uint64_t total = 0;
  for (size_t k = 0; k < c.n; ++k) total += factor(members[c.idx[k]]);
  uint64_t point = hash_bytes(normalize_addr(ctx.client_addr)) % total;
  for (size_t k = 0; k < c.n; ++k) {
    uint64_t f = factor(members[c.idx[k]]);
    if (point < f) return c.idx[k];
    point -= f;
  }
  return c.idx[c.n - 1];
}

int rendezvous(std::span<MemberState> members, const Candidates& c, const PickContext& ctx) {
  uint64_t key = ctx.hash_key.empty() ? hash_bytes(normalize_addr(ctx.client_addr), 0x9e3779b97f4a7c15ULL)
                                      : hash_string(ctx.hash_key);
  int best = -1;
  double best_score = 0;
  for (size_t k = 0; k < c.n; ++k) {
    const MemberState& m = members[c.idx[k]];
    uint64_t x = fmix64(key ^ fmix64(m.ident_hash + 0x632be59bd9b4e019ULL));
    double u = (static_cast<double>(x >> 11) + 0.5) * 0x1p-53;  // in (0, 1)
    double score = static_cast<double>(factor(m)) / -std::log(u);
    if (best < 0 || score > best_score) {
      best = c.idx[k];
      best_score = score;
    }
  }
  return best;
}

}  // namespace

uint64_t hash_bytes(std::span<const uint8_t> data, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ fmix64(seed);
  for (uint8_t b : data) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return fmix64(h ^ data.size());
}

uint64_t hash_string(std::string_view s, uint64_t seed) {
  return hash_bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, seed);
}

std::span<const uint8_t> normalize_addr(std::span<const uint8_t> addr) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (addr.size() == 16 && std::memcmp(addr.data(), kMapped, 12) == 0) return addr.subspan(12);
  return addr;
}

void configure_member(MemberState& m, std::string_view name, std::string_view route, uint32_t lbfactor,
                      uint32_t lbset, uint64_t max_connections) {
  copy_route(m.route, route);
  copy_route(m.redirect, {});
  m.ident_hash = hash_string(name.empty() ? route : name);
  m.lbfactor = lbfactor < 1 ? 1 : (lbfactor > 100 ? 100 : lbfactor);
  m.lbset = lbset;
  m.max_connections = max_connections;
}

void init_member(MemberState& m, std::string_view name, std::string_view route, uint32_t lbfactor,
                 uint32_t lbset, uint64_t max_connections) {
  configure_member(m, name, route, lbfactor, lbset, max_connections);
  m.status_flags.store(0, std::memory_order_relaxed);
  m.lbstatus.store(0, std::memory_order_relaxed);
  m.busy.store(0, std::memory_order_relaxed);
  m.transferred.store(0, std::memory_order_relaxed);
  m.elected.store(0, std::memory_order_relaxed);
}

void set_member_redirect(MemberState& m, std::string_view redirect) { copy_route(m.redirect, redirect); }

std::string_view member_route(const MemberState& m) { return fixed_view(m.route); }
std::string_view member_redirect(const MemberState& m) { return fixed_view(m.redirect); }

bool member_usable(const MemberState& m, bool for_session) {
  return usable_flags(m.status_flags.load(std::memory_order_relaxed), for_session) && below_max(m);
}

int pick(LbMethod method, std::span<MemberState> members, const PickContext& ctx) {
  Candidates c;
  collect(members, ctx, c);
  if (c.n == 0) return -1;
  switch (method) {
    case LbMethod::ByRequests:
      return lbstatus_pick(members, c, [](const MemberState&, int64_t s, const MemberState&, int64_t best) {
        return s > best;
      });
    case LbMethod::ByBusyness:
      return lbstatus_pick(members, c, [](const MemberState& m, int64_t s, const MemberState& b, int64_t best) {
        uint64_t mb = m.busy.load(std::memory_order_relaxed), bb = b.busy.load(std::memory_order_relaxed);
        return mb < bb || (mb == bb && s > best);
      });
    case LbMethod::ByTraffic:
      return by_traffic(members, c);
    case LbMethod::SourceHash:
      return source_hash(members, c, ctx);
    case LbMethod::ConsistentHash:
      return rendezvous(members, c, ctx);
  }
  return -1;
}

bool acquire(MemberState& m) {
  uint64_t b = m.busy.load(std::memory_order_relaxed);
  do {
    if (m.max_connections != 0 && b >= m.max_connections) return false;
  } while (!m.busy.compare_exchange_weak(b, b + 1, std::memory_order_relaxed));
  m.elected.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void add_traffic(MemberState& m, uint64_t bytes) { m.transferred.fetch_add(bytes, std::memory_order_relaxed); }

void release(MemberState& m) {
  uint64_t b = m.busy.load(std::memory_order_relaxed);
  while (b > 0 && !m.busy.compare_exchange_weak(b, b - 1, std::memory_order_relaxed)) {
  }
}

std::atomic<uint32_t>* acquire_recorded(MemberState& m, std::span<std::atomic<uint32_t>> records, uint32_t ref) {
  PILLAR_ASSERT(ref != 0);
  for (auto& r : records) {
    uint32_t expected = 0;
    if (!r.compare_exchange_strong(expected, ref, std::memory_order_acq_rel)) continue;
    if (acquire(m)) return &r;
    r.store(0, std::memory_order_release);  // full: nothing is held
    return nullptr;
  }
  return nullptr;
}

bool release_recorded(MemberState& m, std::atomic<uint32_t>& record, uint32_t ref) {
  if (record.exchange(0, std::memory_order_acq_rel) != ref) return false;
  release(m);
  return true;
}

std::string_view lb_method_name(LbMethod m) {
  switch (m) {
    case LbMethod::ByRequests: return "byrequests";
    case LbMethod::ByTraffic: return "bytraffic";
    case LbMethod::ByBusyness: return "bybusyness";
    case LbMethod::SourceHash: return "sourcehash";
    case LbMethod::ConsistentHash: return "hash";
  }
  return "unknown";
}

std::string status_flags_text(uint32_t flags, FlagStyle style) {
  static constexpr struct {
    uint32_t bit;
    const char* letter;
    const char* word;
  } kNames[] = {{kStatusDisabled, "D", "Dis"}, {kStatusStopped, "S", "Stop"}, {kStatusHotStandby, "H", "Stby"},
                {kStatusError, "E", "Err"},    {kStatusDrain, "N", "Drn"},    {kStatusIgnoreErrors, "I", "Ign"}};
  std::string s;
  for (const auto& n : kNames) {
    if (!(flags & n.bit)) continue;
    if (style == FlagStyle::Words && !s.empty()) s += ' ';
    s += style == FlagStyle::Letters ? n.letter : n.word;
  }
  return s.empty() ? "Ok" : s;
}

}  // namespace pillar::proxy

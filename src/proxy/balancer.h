// Member selection for <Proxy balancer://...> (mod_proxy_balancer-compatible),
// pure logic with no I/O. The member table is a plain array of MemberState,
// meant to live in shared memory so every worker process sees the same
// counters: no pointers and no heap-owning members inside the state structs,
// only fixed char arrays, integers and lock-free atomics.
//
// Concurrency: picks read and update the counters with relaxed atomics and no
// lock. Two workers picking at the same instant can both see the same
// lbstatus/busy values, so under contention the distribution can be slightly
// off for a moment (Apache has the same property); the sums stay consistent
// and the error does not accumulate. Exact ratios hold for serial picks.
//
// Methods (lbmethod=):
//   ByRequests     Apache's weighted request counting: every usable member of
//                  the chosen tier gets lbstatus += lbfactor, the member with the
//                  largest lbstatus wins (first one on ties) and loses the total
//                  factor. Exact smooth weighted round robin: the pattern
//                  repeats every sum(lbfactor) picks, e.g. 3:1 gives a,a,b,a.
//   ByTraffic      least transferred/lbfactor (compared exactly by cross
//                  multiplication rather than Apache's integer division); first
//                  member wins ties.
//   ByBusyness     least busy (outstanding requests); on equal busy the larger
//                  lbstatus wins, with lbstatus maintained as in ByRequests
//                  (Apache's mod_lbmethod_bybusyness), so idle members share
//                  requests in lbfactor proportion.
//   SourceHash     hash of the client address mapped onto the usable members of
//                  the tier weighted by lbfactor (h % total factor, walking the
//                  cumulative factors). Stable while the usable set is unchanged;
//                  when a member becomes usable or unusable most clients move
//                  (modulo remapping). Use ConsistentHash, or the persistence
//                  table in sticky.h, when that matters.
//   ConsistentHash weighted rendezvous (highest random weight) hashing of
//                  ctx.hash_key (the client address if the key is empty) against
//                  each member's stable ident_hash: score = lbfactor / -ln(u).
//                  Removing a member moves only its own keys; adding one moves
//                  about factor/(total factor) of keys, all to the new member.
//
// Usable for a new request (no session): not Disabled, Stopped, Draining, in
// Error (unless IgnoreErrors), not excluded by ctx.exclude, and busy below
// max_connections (0 = unlimited). Tiers as Apache: members are grouped by
// lbset (lowest first) and inside each lbset non-standby members come before
// HotStandby members; the first tier with at least one usable member is the
// only one considered (standbys are used only when nothing else is usable).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pillar::proxy {

// Status bits, named after Apache's balancer-manager letters.
enum StatusFlag : uint32_t {
  kStatusDisabled = 1u << 0,      // D: takes no new requests (sticky ones are refused too)
  kStatusStopped = 1u << 1,       // S: administratively stopped
  kStatusHotStandby = 1u << 2,    // H: used only when no non-standby member of the lbset is usable
  kStatusError = 1u << 3,         // E: in error / failed health check
  kStatusDrain = 1u << 4,         // N: no new sessions, still serves sticky requests routed to it
  kStatusIgnoreErrors = 1u << 5,  // I: E is ignored, member is always considered available
};

// The flags as text: Apache's letters ("DN"; pillarctl, the state file) or
// its balancer-manager words ("Dis Drn"); "Ok" for none.
enum class FlagStyle : uint8_t { Letters, Words };
std::string status_flags_text(uint32_t flags, FlagStyle style);

inline constexpr size_t kRouteMax = 32;     // including the terminating NUL
inline constexpr size_t kMaxMembers = 256;  // per balancer; members beyond are never picked

// One balancer member. Standard layout, no pointers: can be placed in shared
// memory (construct with placement new, then init_member()).
struct MemberState {
  char route[kRouteMax] = {};     // route= value, NUL terminated ("" = none)
  char redirect[kRouteMax] = {};  // redirect= route to use while this member is unusable
  uint64_t ident_hash = 0;        // stable identity for ConsistentHash (hash of the member name)
  uint32_t lbfactor = 1;          // loadfactor=, 1..100
  uint32_t lbset = 0;             // lbset=, lower sets are tried first
  uint64_t max_connections = 0;   // 0 = unlimited; compared with busy

  std::atomic<uint32_t> status_flags{0};  // StatusFlag bits
  std::atomic<int64_t> lbstatus{0};       // ByRequests/ByBusyness accumulator
  std::atomic<uint64_t> busy{0};          // outstanding requests
  std::atomic<uint64_t> transferred{0};   // bytes read + written (ByTraffic)
  std::atomic<uint64_t> elected{0};       // requests sent to this member
};
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<int64_t>::is_always_lock_free &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "shared-memory counters must be lock free");

// Sets the configuration fields and clears the counters. `name` is the member
// URL (e.g. "http://10.0.0.1:8080"); it only feeds ident_hash. Routes longer
// than kRouteMax-1 are truncated. lbfactor is clamped to 1..100.
void init_member(MemberState& m, std::string_view name, std::string_view route, uint32_t lbfactor,
                 uint32_t lbset = 0, uint64_t max_connections = 0);
// The configuration fields only, the counters and status untouched (a reload
// of a member in use: a read-modify-write of busy would race the workers).
void configure_member(MemberState& m, std::string_view name, std::string_view route, uint32_t lbfactor,
                      uint32_t lbset = 0, uint64_t max_connections = 0);
void set_member_redirect(MemberState& m, std::string_view redirect);  // redirect= route ("" clears)
std::string_view member_route(const MemberState& m);
std::string_view member_redirect(const MemberState& m);

// A set of member indexes (members already tried, for retries). POD.
struct MemberMask {
  uint64_t words[kMaxMembers / 64] = {};
  void set(size_t i) {
    if (i < kMaxMembers) words[i / 64] |= uint64_t{1} << (i % 64);
  }
  bool test(size_t i) const { return i < kMaxMembers && (words[i / 64] >> (i % 64)) & 1; }
  void clear() {
    for (auto& w : words) w = 0;
  }
};

enum class LbMethod { ByRequests, ByTraffic, ByBusyness, SourceHash, ConsistentHash };
// ProxySet lbmethod='s name for it ("byrequests", "hash"...), as pillarctl shows it.
std::string_view lb_method_name(LbMethod m);

struct PickContext {
  std::span<const uint8_t> client_addr;  // 4 or 16 bytes, network order (v4-mapped v6 is treated as v4)
  std::string_view hash_key;             // ConsistentHash key: URL, header value...
  MemberMask exclude;                    // members not to pick (already tried)
};

// Whether m may take a request: `for_session` true means a sticky request
// already routed to it (Drain allowed), false a new one. Ignores lbset/standby.
bool member_usable(const MemberState& m, bool for_session);

// Chooses a member for a request without a (usable) session. Returns the
// index into `members` or -1 when no member is usable. ByRequests and
// ByBusyness update lbstatus; nothing else is modified (see acquire()).
int pick(LbMethod method, std::span<MemberState> members, const PickContext& ctx);

// Request accounting, called by the proxy around each forwarded request.
// acquire() increments busy only while below max_connections (CAS loop) and
// counts the election; false means the member filled up since pick() - add it
// to ctx.exclude and pick again.
bool acquire(MemberState& m);
void add_traffic(MemberState& m, uint64_t bytes);  // bytes read + written, may be called while streaming
void release(MemberState& m);                      // busy--, never below zero

// The same, recorded for the holder (entries of its scoreboard connection
// slot), so that whoever outlives a dead holder gives back exactly what it
// held. acquire_recorded() writes `ref` (non-zero) into a free entry of
// `records` first, then takes the count, and clears the entry again when the
// member is full. It returns the entry, or null when nothing was taken
// (member full, or no free entry). A holder dying between the two steps
// leaves a record without a count: given back, it makes busy one too low
// for a while (release() stops at zero), where the other order would leak
// one for good.
std::atomic<uint32_t>* acquire_recorded(MemberState& m, std::span<std::atomic<uint32_t>> records, uint32_t ref);
// Gives the count back only if `record` still holds `ref`, taking it with an
// atomic exchange: the holder and the master reaping it never both release.
// Returns whether it released.
bool release_recorded(MemberState& m, std::atomic<uint32_t>& record, uint32_t ref);

// Hash helpers shared with sticky.cpp (64-bit, good avalanche; not keyed).
uint64_t hash_bytes(std::span<const uint8_t> data, uint64_t seed = 0);
uint64_t hash_string(std::string_view s, uint64_t seed = 0);
// The address bytes used for hashing: a v4-mapped IPv6 address becomes its 4 IPv4 bytes.
std::span<const uint8_t> normalize_addr(std::span<const uint8_t> addr);

}  // namespace pillar::proxy

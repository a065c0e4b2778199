// Session stickiness for balancers, pure logic with no I/O:
//  - extracting the route from a request as mod_proxy_balancer's
//    stickysession= does (URL path/query parameter first, then cookie);
//  - deciding what to do with that route (use the member, fail over to a
//    normal pick, or refuse with 503 under nofailover=On);
//  - client-address persistence with a timeout (like IPVS -p), in a fixed-size
//    POD table that can live in shared memory.
//
// Route extraction follows Apache's find_session_route():
//  * stickysession="JSESSIONID|jsessionid": the part before '|' is the cookie
//    name, the part after it the URL parameter name; without '|' both are the
//    same name. Names are case sensitive.
//  * The URL is searched first: "name=" preceded by ';', '?' or '&' anywhere in
//    the request target (";jsessionid=abc.node2" path parameter or
//    "?jsessionid=abc.node2" / "&jsessionid=..." query). The value ends at '?'
//    or '&' (and also at ';' when scolonpathdelim is on). Apache does not check
//    the character before the name (so "xjsessionid=" would match there); we
//    require a delimiter, which only avoids false matches.
//  * Then the Cookie header: "name=value" at the start or after ';', ',' or
//    whitespace; whitespace around '=' is skipped; the value ends at ';' or ','
//    and surrounding double quotes are removed. Several Cookie header lines
//    should be joined with "; " by the caller.
//  * The route is what follows the first separator ('.' by default,
//    stickysessionsep=) in the value: "abc.node2" -> "node2",
//    ".node1" -> "node1", "a.b.c" -> "b.c". A value WITHOUT the separator
//    gives no route at all (Apache's behaviour, hence the documented
//    "ROUTEID=.node1" form): "ROUTEID=node1" is treated as no session.
//    An empty route ("abc.") is no route either. A separator of '\0' means
//    the whole value is the route (Apache's stickysessionsep=Off).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/fault_point.h"
#include "core/shm/robust_lock.h"
#include "proxy/balancer.h"

namespace pillar::proxy {

struct StickyNames {
  std::string_view cookie;  // cookie name
  std::string_view path;    // URL path/query parameter name
};
// "JSESSIONID|jsessionid" -> {JSESSIONID, jsessionid}; "ROUTEID" -> {ROUTEID, ROUTEID}.
StickyNames parse_sticky_names(std::string_view stickysession);

enum class RouteSource { None, Url, Cookie };

struct StickyRoute {
  RouteSource source = RouteSource::None;
  std::string_view value;  // the whole session value (views into the inputs)
  std::string_view route;  // the part after the separator; empty = no route
};

// Value of URL parameter `name` in `target`, or empty. `found` tells an empty
// value from a missing parameter.
std::string_view url_param(std::string_view target, std::string_view name, bool scolon_sep = false,
                           bool* found = nullptr);
// Value of cookie `name` in a Cookie header value, or empty.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name, bool* found = nullptr);
// The route part of a session value ("" when there is none; see above).
std::string_view route_of(std::string_view value, char separator = '.');

// The whole stickysession lookup. Returned views point into the arguments.
StickyRoute extract_route(std::string_view stickysession, std::string_view cookie_header,
                          std::string_view target, char separator = '.', bool scolon_sep = false);

// Index of the member whose route= equals `route` (first match, whatever its
// state), or -1. An empty route never matches.
int find_member_by_route(std::span<const MemberState> members, std::string_view route);

struct StickyDecision {
  enum Kind {
    UseMember,    // send to `member` (the routed one, or its redirect= target)
    NoRoute,      // request carries no route: normal pick
    FailOver,     // route unknown or its member unusable: normal pick, session moves
    Unavailable,  // nofailover=On and the routed member cannot take it: 503
  };
  Kind kind = NoRoute;
  int member = -1;
  bool redirected = false;  // member is the redirect= target of the routed member
};

// Apache's semantics: the routed member is used if member_usable(m, true)
// (Drain and HotStandby members DO take their sticky requests; Disabled,
// Stopped, Error without IgnoreErrors, and full members do not) and it is not
// in `exclude`. Otherwise its redirect= route is tried the same way. If that
// fails too: nofailover -> Unavailable (also when the route names no member,
// as Apache's sticky_force does), else FailOver. An empty route is NoRoute.
StickyDecision decide(std::span<const MemberState> members, std::string_view route, bool nofailover,
                      const MemberMask& exclude = {});

// ---- Client-address persistence (IPVS -p) ---------------------------------

struct PersistenceEntry {
  uint8_t addr[16];
  uint8_t addr_len;  // 0 with used == 0: never used slot
  uint8_t used;      // 1 once written; the entry is live while expires > now
  uint16_t pad;
  int32_t member;
  uint64_t expires;  // same unit as `now` (caller's choice: seconds, ms...)
};

namespace detail {
// Core operations on a slot array; `probe` is the number of slots examined
// from the hash position (linear probing, wrapping). Not locked.
int persist_lookup(std::span<PersistenceEntry> slots, size_t probe, uint64_t seed,
                   std::span<const uint8_t> addr, uint64_t now, uint64_t refresh_ttl);
bool persist_insert(std::span<PersistenceEntry> slots, size_t probe, uint64_t seed,
                    std::span<const uint8_t> addr, int member, uint64_t now, uint64_t ttl);
bool persist_erase(std::span<PersistenceEntry> slots, size_t probe, uint64_t seed, std::span<const uint8_t> addr);
size_t persist_erase_member(std::span<PersistenceEntry> slots, int member);
size_t persist_live(std::span<const PersistenceEntry> slots, uint64_t now);
}  // namespace detail

// Maps a client address (4 or 16 bytes; v4-mapped v6 counts as v4) to a member
// index until an expiry time. Fixed size, open addressing with linear probing
// over a window of min(Capacity, 32) slots from the hash position. Expired
// entries are reused by insert (no separate deletion needed) and ignored by
// lookup. An insert whose whole window is live fails (returns false): the
// client is still served, just without persistence; nothing live is evicted.
//
// Standard layout, no pointers: place it in shared memory with placement new
// and call init() once. Every operation takes a robust process-shared lock
// (core/shm/robust_lock.h) held for a few dozen compares, no I/O: a process
// killed inside leaves it to the next one, and one stalled inside makes the
// others wait a bounded time, then go without the table (lookup finds
// nothing, insert keeps nothing: the request is served without persistence).
template <size_t Capacity = 4096>
struct PersistenceTable {
  static_assert(Capacity > 0);
  static constexpr size_t kCapacity = Capacity;
  static constexpr size_t kProbe = Capacity < 32 ? Capacity : 32;

  // Clears every entry. `seed` keys the hash so clients cannot aim addresses at one window.
  void init(uint64_t seed) {
    lock_.init();
    seed_ = seed;
    for (auto& e : slots_) e = PersistenceEntry{};
  }
  // Member index for addr, or -1 if none, expired or the table is unavailable.
  // refresh_ttl > 0 extends the entry to now + refresh_ttl.
  int lookup(std::span<const uint8_t> addr, uint64_t now, uint64_t refresh_ttl = 0) {
    core::shm::RobustGuard g(lock_);
    if (!g.locked()) return -1;
    PILLAR_FAULT_POINT("persist_lookup");  // tests kill or stop a worker holding the lock
    return detail::persist_lookup(slots_, kProbe, seed_, addr, now, refresh_ttl);
  }
  // Maps addr to member until now + ttl (replacing any entry for addr). False when no slot is free
  // or the table is unavailable.
  bool insert(std::span<const uint8_t> addr, int member, uint64_t now, uint64_t ttl) {
    core::shm::RobustGuard g(lock_);
    return g.locked() && detail::persist_insert(slots_, kProbe, seed_, addr, member, now, ttl);
  }
  // Forgets addr; true if an entry (live or expired) was still set. The slot becomes reusable.
  bool erase(std::span<const uint8_t> addr) {
    core::shm::RobustGuard g(lock_);
    return g.locked() && detail::persist_erase(slots_, kProbe, seed_, addr);
  }
  // Drops every entry pointing at `member` (removed from the balancer); returns how many were set.
  size_t erase_member(int member) {
    core::shm::RobustGuard g(lock_);
    return g.locked() ? detail::persist_erase_member(slots_, member) : 0;
  }
  size_t live(uint64_t now) {
    core::shm::RobustGuard g(lock_);
    return g.locked() ? detail::persist_live(slots_, now) : 0;
  }
  // Operations that went without the table (a holder stalled), and locks
  // taken over from a holder that died.
  uint64_t lock_timeouts() const { return lock_.timeouts.load(std::memory_order_relaxed); }
  uint64_t lock_recoveries() const { return lock_.recoveries.load(std::memory_order_relaxed); }

 private:
  core::shm::RobustLock lock_;
  uint64_t seed_ = 0;
  PersistenceEntry slots_[Capacity] = {};
};

}  // namespace pillar::proxy

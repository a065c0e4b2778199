#include "proxy/member_choice.h"

#include <netinet/in.h>

#include <cstring>

#include "core/assert.h"
#include "core/log.h"
#include "proxy/sticky.h"

namespace pillar::proxy {

ChoiceRequest choice_request(const http::RequestHead& head, const sockaddr_storage& client,
                             const config::BalancerConfig& cfg, uint8_t (&addr)[16]) {
  size_t alen = 0;
  if (client.ss_family == AF_INET) {
    std::memcpy(addr, &reinterpret_cast<const sockaddr_in&>(client).sin_addr, 4);
    alen = 4;
  } else if (client.ss_family == AF_INET6) {
    std::memcpy(addr, &reinterpret_cast<const sockaddr_in6&>(client).sin6_addr, 16);
    alen = 16;
  }
  return {{addr, alen}, head.find("Cookie"), head.target,
          cfg.hash_header.empty() ? std::string_view() : head.find(cfg.hash_header)};
}

MemberChoice::Outcome MemberChoice::choose(const ChoiceRequest& r, uint64_t now) {
  PILLAR_ASSERT(!acquired_);
  const auto& cfg = *b_.cfg;
  auto members = b_.span();
  // A fresh connection to the same member is not an attempt: it goes even
  // when the attempts are used up (maxattempts=1 and a stale pooled one).
  while (stale_member_ >= 0 || attempts_ < static_cast<int>(cfg.max_attempts)) {
    // Members in their back-off after a failure are skipped this time.
    MemberMask exclude = tried_;
    bool backing_off = false;
    for (size_t i = 0; i < members.size(); ++i) {
      if (b_.error_until(static_cast<int>(i)).load(std::memory_order_relaxed) > now) {
        exclude.set(i);
        backing_off = backing_off || !tried_.test(i);
      }
    }
    int m = stale_member_;
    fresh_ = m >= 0;
    stale_member_ = -1;
    if (m < 0 && !cfg.stickysession.empty()) {
      auto route = extract_route(cfg.stickysession, r.cookie, r.target, cfg.stickysession_sep);
      auto d = decide(members, route.route, cfg.nofailover, exclude);
      if (d.kind == StickyDecision::UseMember) m = d.member;
      else if (d.kind == StickyDecision::Unavailable) return why_ = "sticky member unavailable (nofailover)", Outcome::Unavailable;
    }
    const uint64_t ttl = static_cast<uint64_t>(cfg.persistence.count());
    if (m < 0 && ttl > 0) {  // client-address persistence (IPVS -p): the member this client had
      int p = b_.block->persistence.lookup(r.client_addr, now, ttl);
      if (p >= 0 && static_cast<size_t>(p) < members.size() && !exclude.test(static_cast<size_t>(p)) &&
          member_usable(members[static_cast<size_t>(p)], true))
        m = p;
    }
    if (m < 0) {
      PickContext ctx;
      ctx.client_addr = r.client_addr;
      ctx.hash_key = cfg.hash_header.empty() ? r.target : r.hash_header;
      ctx.exclude = exclude;
      m = pick(b_.method, members, ctx);
      if (m < 0 && backing_off) {
        // Nothing left but members in their back-off (two workers ejected
        // the last two at once): try them rather than refuse, as Apache's
        // forcerecovery. Health checks' Error still excludes.
        ctx.exclude = tried_;
        m = pick(b_.method, members, ctx);
      }
    }
    if (m >= 0 && ttl > 0) b_.block->persistence.insert(r.client_addr, m, now, ttl);
    if (m < 0) {
      // Every usable member at its max=: wait in the balancer's queue
      // (timeout=), looking again every few ms, rather than refusing.
      if (cfg.queue_timeout.count() > 0 && all_at_max(exclude)) {
        if (queue_deadline_ == 0) queue_deadline_ = now + static_cast<uint64_t>(cfg.queue_timeout.count());
        if (now < queue_deadline_) return Outcome::Queue;
        return why_ = "every member at its max= for the balancer's timeout", Outcome::Unavailable;
      }
      return why_ = "no balancer member is available", Outcome::Unavailable;
    }
    if (!fresh_) ++attempts_;
    tried_.set(static_cast<size_t>(m));
    if (!take(m)) continue;
    member_ = m;
    return Outcome::Member;
  }
  return why_ = "every member tried failed", Outcome::Unavailable;
}

// Counts the request as busy on member m, recorded first in the connection's
// scoreboard slot so that a kill -9 of this worker cannot leak it.
bool MemberChoice::take(int m) {
  auto& st = b_.span()[static_cast<size_t>(m)];
  held_ref_ = records_.empty() ? 0 : b_.member_ref(m);
  if (held_ref_ == 0) {
    acquired_ = acquire(st);
    return acquired_;
  }
  held_ = acquire_recorded(st, records_, held_ref_);
  acquired_ = held_ != nullptr;
  return acquired_;
}

void MemberChoice::release() {
  if (!acquired_) return;
  auto& m = b_.span()[static_cast<size_t>(member_)];
  if (held_) release_recorded(m, *held_, held_ref_);
  else proxy::release(m);
  held_ = nullptr;
  acquired_ = false;
}

void MemberChoice::failed(int slot, const char* why, uint64_t now) {
  if (slot < 0) return;
  const auto& mc = b_.member_cfg(slot);
  uint32_t run = b_.block->fail_run[slot].fetch_add(1) + 1;
  if (run < mc.failures) return;
  b_.block->fail_run[slot].store(0);
  if (!other_member_usable(slot, now)) {
    core::log(core::LogLevel::Error, "proxy", "{} {}; kept in use: the only usable member of balancer://{}", mc.url,
              why, b_.cfg->name);
    return;
  }
  core::log(core::LogLevel::Error, "proxy", "{} {}; not used for {} ms", mc.url, why, mc.retry.count());
  b_.error_until(slot).store(now + static_cast<uint64_t>(mc.retry.count()));
}

// In the configuration, not disabled, stopped, draining or in Error, not in
// its back-off. A member at its max= counts (it frees up).
bool MemberChoice::other_member_usable(int slot, uint64_t now) const {
  auto members = b_.span();
  for (size_t i = 0; i < members.size(); ++i) {
    if (static_cast<int>(i) == slot || b_.cfg_index[i] < 0) continue;
    uint32_t f = members[i].status_flags.load(std::memory_order_relaxed);
    if (f & (kStatusDisabled | kStatusStopped | kStatusDrain)) continue;
    if ((f & kStatusError) && !(f & kStatusIgnoreErrors)) continue;
    if (b_.block->error_until[i].load(std::memory_order_relaxed) > now) continue;
    return true;
  }
  return false;
}

bool MemberChoice::all_at_max(const MemberMask& exclude) const {
  auto members = b_.span();
  bool any = false;
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& m = members[i];
    if (exclude.test(i) || b_.cfg_index[i] < 0) continue;
    uint32_t f = m.status_flags.load();
    if (f & (kStatusDisabled | kStatusStopped | kStatusDrain)) continue;
    if ((f & kStatusError) && !(f & kStatusIgnoreErrors)) continue;
    if (m.max_connections == 0 || m.busy.load() < m.max_connections) return false;  // one has room
    any = true;
  }
  return any;
}

}  // namespace pillar::proxy

#include "proxy/sticky.h"

#include <cstring>

namespace pillar::proxy {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool same_addr(const PersistenceEntry& e, std::span<const uint8_t> a) {
  return e.addr_len == a.size() && std::memcmp(e.addr, a.data(), a.size()) == 0;
}

bool live(const PersistenceEntry& e, uint64_t now) { return e.used && e.expires > now; }

uint64_t expiry(uint64_t now, uint64_t ttl) {
  uint64_t t = now + ttl;
  return t < now ? ~uint64_t{0} : t;  // saturate
}

}  // namespace

StickyNames parse_sticky_names(std::string_view stickysession) {
  size_t bar = stickysession.find('|');
  if (bar == std::string_view::npos) return {stickysession, stickysession};
  return {stickysession.substr(0, bar), stickysession.substr(bar + 1)};
}

std::string_view url_param(std::string_view target, std::string_view name, bool scolon_sep, bool* found) {
  if (found) *found = false;
  if (name.empty()) return {};
  const std::string_view delims = scolon_sep ? std::string_view(";?&") : std::string_view("?&");
  for (size_t pos = target.find(name); pos != std::string_view::npos; pos = target.find(name, pos + 1)) {
    if (pos == 0) continue;
    char before = target[pos - 1];
    if (before != ';' && before != '?' && before != '&') continue;
    size_t eq = pos + name.size();
    if (eq >= target.size() || target[eq] != '=') continue;
    std::string_view rest = target.substr(eq + 1);
    std::string_view value = rest.substr(0, rest.find_first_of(delims));
    if (value.empty()) continue;
    if (found) *found = true;
    return value;
  }
  return {};
}

std::string_view cookie_value(std::string_view header, std::string_view name, bool* found) {
  if (found) *found = false;
  if (name.empty()) return {};
  for (size_t pos = header.find(name); pos != std::string_view::npos; pos = header.find(name, pos + 1)) {
    if (pos != 0) {
      char before = header[pos - 1];
      if (before != ';' && before != ',' && !is_space(before)) continue;
    }
    size_t i = pos + name.size();
    while (i < header.size() && is_space(header[i])) ++i;
    if (i >= header.size() || header[i] != '=') continue;
    ++i;
    while (i < header.size() && is_space(header[i])) ++i;
    std::string_view value = header.substr(i);
    value = value.substr(0, value.find_first_of(";,"));
    while (!value.empty() && is_space(value.back())) value.remove_suffix(1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (found) *found = true;
    return value;
  }
  return {};
}

std::string_view route_of(std::string_view value, char separator) {
  if (separator == '\0') return value;
  size_t dot = value.find(separator);
  if (dot == std::string_view::npos) return {};
  return value.substr(dot + 1);
}

StickyRoute extract_route(std::string_view stickysession, std::string_view cookie_header, std::string_view target,
                          char separator, bool scolon_sep) {
  StickyNames names = parse_sticky_names(stickysession);
  StickyRoute r;
  bool found = false;
  std::string_view v = url_param(target, names.path, scolon_sep, &found);
  if (found) {
    r.source = RouteSource::Url;
  } else {
    v = cookie_value(cookie_header, names.cookie, &found);
    if (!found) return r;
    r.source = RouteSource::Cookie;
  }
  r.value = v;
  r.route = route_of(v, separator);
  return r;
}

int find_member_by_route(std::span<const MemberState> members, std::string_view route) {
  if (route.empty()) return -1;
  for (size_t i = 0; i < members.size(); ++i)
    if (member_route(members[i]) == route) return static_cast<int>(i);
  return -1;
}

StickyDecision decide(std::span<const MemberState> members, std::string_view route, bool nofailover,
                      const MemberMask& exclude) {
  StickyDecision d;
  if (route.empty()) return d;  // NoRoute
  auto ok = [&](int i) { return i >= 0 && !exclude.test(static_cast<size_t>(i)) && member_usable(members[i], true); };
  int idx = find_member_by_route(members, route);
  if (ok(idx)) {
    d.kind = StickyDecision::UseMember;
    d.member = idx;
    return d;
  }
  if (idx >= 0) {
    int r = find_member_by_route(members, member_redirect(members[idx]));
    if (r != idx && ok(r)) {
      d.kind = StickyDecision::UseMember;
      d.member = r;
      d.redirected = true;
      return d;
    }
  }
  d.kind = nofailover ? StickyDecision::Unavailable : StickyDecision::FailOver;
  return d;
}

namespace detail {

namespace {
size_t start_slot(size_t n, uint64_t seed, std::span<const uint8_t> addr) { return hash_bytes(addr, seed) % n; }
}  // namespace

int persist_lookup(std::span<PersistenceEntry> slots, size_t probe, uint64_t seed, std::span<const uint8_t> addr,
                   uint64_t now, uint64_t refresh_ttl) {
  addr = normalize_addr(addr);
  if (slots.empty() || addr.empty() || addr.size() > 16) return -1;
  size_t n = slots.size(), start = start_slot(n, seed, addr);
  for (size_t k = 0; k < probe && k < n; ++k) {
    PersistenceEntry& e = slots[(start + k) % n];
    if (!e.used) break;  // keys are never placed past a never-used slot
    if (same_addr(e, addr) && live(e, now)) {
      if (refresh_ttl) e.expires = expiry(now, refresh_ttl);
      return e.member;
    }
  }
  return -1;
}

bool persist_insert(std::span<PersistenceEntry> slots, size_t probe, uint64_t seed, std::span<const uint8_t> addr,
                    int member, uint64_t now, uint64_t ttl) {
  addr = normalize_addr(addr);
  if (slots.empty() || addr.empty() || addr.size() > 16) return false;
  size_t n = slots.size(), start = start_slot(n, seed, addr);
  PersistenceEntry* free_slot = nullptr;
  for (size_t k = 0; k < probe && k < n; ++k) {
    PersistenceEntry& e = slots[(start + k) % n];
    if (!e.used) {
      if (!free_slot) free_slot = &e;
      break;
    }
    if (same_addr(e, addr)) {  // live or expired: update in place, keeps one entry per address
      e.member = member;
      e.expires = expiry(now, ttl);
      return true;
    }
    if (!free_slot && !live(e, now)) free_slot = &e;
  }
  if (!free_slot) return false;
  PersistenceEntry& e = *free_slot;
  std::memset(e.addr, 0, sizeof e.addr);
  std::memcpy(e.addr, addr.data(), addr.size());
  e.addr_len = static_cast<uint8_t>(addr.size());
  e.used = 1;
  e.member = member;
  e.expires = expiry(now, ttl);
  return true;
}

bool persist_erase(std::span<PersistenceEntry> slots, size_t probe, uint64_t seed, std::span<const uint8_t> addr) {
  addr = normalize_addr(addr);
  if (slots.empty() || addr.empty() || addr.size() > 16) return false;
  size_t n = slots.size(), start = start_slot(n, seed, addr);
  for (size_t k = 0; k < probe && k < n; ++k) {
    PersistenceEntry& e = slots[(start + k) % n];
    if (!e.used) break;
    if (same_addr(e, addr)) {
      bool was = e.expires != 0;
      e.expires = 0;  // stays `used` as a tombstone so later keys stay reachable
      return was;
    }
  }
  return false;
}

size_t persist_erase_member(std::span<PersistenceEntry> slots, int member) {
  size_t count = 0;
  for (auto& e : slots)
    if (e.used && e.member == member && e.expires != 0) {
      e.expires = 0;
      ++count;
    }
  return count;
}

size_t persist_live(std::span<const PersistenceEntry> slots, uint64_t now) {
  size_t count = 0;
  for (const auto& e : slots) count += live(e, now) ? 1 : 0;
  return count;
}

}  // namespace detail

}  // namespace pillar::proxy

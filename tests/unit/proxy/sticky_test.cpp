#include "proxy/sticky.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

using namespace pillar::proxy;

namespace {

std::vector<MemberState> members(std::initializer_list<const char*> routes) {
  std::vector<MemberState> v(routes.size());
  size_t i = 0;
  for (const char* r : routes) {
    init_member(v[i], std::string("http://") + r, r, 1);
    ++i;
  }
  return v;
}

std::array<uint8_t, 4> v4(uint32_t x) {
  return {uint8_t(x >> 24), uint8_t(x >> 16), uint8_t(x >> 8), uint8_t(x)};
}

}  // namespace

// ---- route extraction -----------------------------------------------------------

TEST(StickyNames, SplitsCookieAndPathNames) {
  auto n = parse_sticky_names("JSESSIONID|jsessionid");
  EXPECT_EQ(n.cookie, "JSESSIONID");
  EXPECT_EQ(n.path, "jsessionid");
  n = parse_sticky_names("ROUTEID");
  EXPECT_EQ(n.cookie, "ROUTEID");
  EXPECT_EQ(n.path, "ROUTEID");
}

TEST(StickyExtract, CookieRouteIsAfterFirstDot) {
  auto r = extract_route("JSESSIONID|jsessionid", "JSESSIONID=abc.node2", "/app/x");
  EXPECT_EQ(r.source, RouteSource::Cookie);
  EXPECT_EQ(r.value, "abc.node2");
  EXPECT_EQ(r.route, "node2");
  r = extract_route("JSESSIONID", "JSESSIONID=abc.node2.extra", "/");
  EXPECT_EQ(r.route, "node2.extra");
}

TEST(StickyExtract, CookieAmongOthersAndNameBoundaries) {
  EXPECT_EQ(extract_route("JSESSIONID", "a=1; JSESSIONID=abc.n3; b=2", "/").route, "n3");
  EXPECT_EQ(extract_route("JSESSIONID", "a=1;JSESSIONID=abc.n3,b=2", "/").route, "n3");
  // a longer cookie name containing ours does not match, the real one later does
  EXPECT_EQ(extract_route("JSESSIONID", "XJSESSIONID=x.bad; JSESSIONID=y.good", "/").route, "good");
  EXPECT_EQ(extract_route("JSESSIONID", "XJSESSIONID=x.bad", "/").source, RouteSource::None);
  EXPECT_EQ(extract_route("JSESSIONID", "JSESSIONIDX=x.bad", "/").source, RouteSource::None);
  // case sensitive, as Apache
  EXPECT_EQ(extract_route("JSESSIONID", "jsessionid=x.n1", "/").source, RouteSource::None);
}

TEST(StickyExtract, CookieSpacesAndQuotes) {
  EXPECT_EQ(cookie_value("JSESSIONID = \"abc.n7\" ; x=1", "JSESSIONID"), "abc.n7");
  EXPECT_EQ(extract_route("JSESSIONID", "JSESSIONID=\"abc.n7\"", "/").route, "n7");
  bool found = true;
  EXPECT_EQ(cookie_value("", "JSESSIONID", &found), "");
  EXPECT_FALSE(found);
  EXPECT_EQ(cookie_value("JSESSIONID=", "JSESSIONID", &found), "");
  EXPECT_TRUE(found);
}

TEST(StickyExtract, UrlPathParameter) {
  auto r = extract_route("JSESSIONID|jsessionid", "", "/app/page;jsessionid=abc.node2");
  EXPECT_EQ(r.source, RouteSource::Url);
  EXPECT_EQ(r.route, "node2");
  EXPECT_EQ(extract_route("JSESSIONID|jsessionid", "", "/app;jsessionid=abc.node2?x=1&y=2").route, "node2");
}

TEST(StickyExtract, UrlQueryParameter) {
  EXPECT_EQ(extract_route("JSESSIONID|jsessionid", "", "/app?jsessionid=abc.node4").route, "node4");
  EXPECT_EQ(extract_route("JSESSIONID|jsessionid", "", "/app?a=1&jsessionid=abc.node4&b=2").route, "node4");
  // not a parameter of that name: no delimiter before it, or no '='
  EXPECT_EQ(extract_route("JSESSIONID|jsessionid", "", "/app?xjsessionid=abc.n1").source, RouteSource::None);
  EXPECT_EQ(extract_route("JSESSIONID|jsessionid", "", "/jsessionid=abc.n1").source, RouteSource::None);
  EXPECT_EQ(extract_route("JSESSIONID|jsessionid", "", "/app?jsessionid").source, RouteSource::None);
  // the cookie name is not looked for in the URL
  EXPECT_EQ(extract_route("JSESSIONID|jsessionid", "", "/app?JSESSIONID=abc.n1").source, RouteSource::None);
}

TEST(StickyExtract, UrlWinsOverCookie) {
  auto r = extract_route("JSESSIONID|jsessionid", "JSESSIONID=abc.cookienode", "/a;jsessionid=abc.urlnode");
  EXPECT_EQ(r.source, RouteSource::Url);
  EXPECT_EQ(r.route, "urlnode");
  // an empty URL value does not count: the cookie is used
  r = extract_route("JSESSIONID|jsessionid", "JSESSIONID=abc.cookienode", "/a?jsessionid=&x");
  EXPECT_EQ(r.source, RouteSource::Cookie);
  EXPECT_EQ(r.route, "cookienode");
}

TEST(StickyExtract, SemicolonDelimiterOption) {
  EXPECT_EQ(url_param("/a?jsessionid=abc.n1;foo", "jsessionid"), "abc.n1;foo");
  EXPECT_EQ(url_param("/a?jsessionid=abc.n1;foo", "jsessionid", true), "abc.n1");
  EXPECT_EQ(extract_route("J|jsessionid", "", "/a?jsessionid=abc.n1;foo", '.', true).route, "n1");
}

TEST(StickyExtract, RouteIdCookieForms) {
  // Apache's documented form: ROUTEID=.<route>
  EXPECT_EQ(extract_route("ROUTEID", "ROUTEID=.node1", "/").route, "node1");
  // no separator in the value: Apache finds no route at all
  auto r = extract_route("ROUTEID", "ROUTEID=node1", "/");
  EXPECT_EQ(r.source, RouteSource::Cookie);
  EXPECT_EQ(r.value, "node1");
  EXPECT_EQ(r.route, "");
  EXPECT_EQ(route_of("abc."), "");
  // stickysessionsep=Off ('\0'): whole value is the route
  EXPECT_EQ(extract_route("ROUTEID", "ROUTEID=node1", "/", '\0').route, "node1");
}

TEST(StickyExtract, CustomSeparator) {
  EXPECT_EQ(extract_route("SID", "SID=abc_n9", "/", '_').route, "n9");
  EXPECT_EQ(extract_route("SID", "SID=abc.n9", "/", '_').route, "");
}

// ---- decisions --------------------------------------------------------------------

TEST(StickyDecide, FindMemberByRoute) {
  auto v = members({"node1", "node2", "node3"});
  EXPECT_EQ(find_member_by_route(v, "node2"), 1);
  EXPECT_EQ(find_member_by_route(v, "node9"), -1);
  EXPECT_EQ(find_member_by_route(v, ""), -1);
  v[2].status_flags = kStatusDisabled;  // found whatever its state
  EXPECT_EQ(find_member_by_route(v, "node3"), 2);
}

TEST(StickyDecide, UsableMemberIsUsed) {
  auto v = members({"node1", "node2"});
  auto d = decide(v, "node2", false);
  EXPECT_EQ(d.kind, StickyDecision::UseMember);
  EXPECT_EQ(d.member, 1);
  EXPECT_FALSE(d.redirected);
  EXPECT_EQ(decide(v, "", false).kind, StickyDecision::NoRoute);
  EXPECT_EQ(decide(v, "", true).kind, StickyDecision::NoRoute);
}

TEST(StickyDecide, DrainAndStandbyMembersKeepTheirSessions) {
  auto v = members({"node1", "node2", "node3"});
  v[1].status_flags = kStatusDrain;
  v[2].status_flags = kStatusHotStandby;
  EXPECT_EQ(decide(v, "node2", false).member, 1);
  EXPECT_EQ(decide(v, "node3", false).member, 2);
  EXPECT_EQ(decide(v, "node2", true).kind, StickyDecision::UseMember);
  // but a draining member takes no new sessions
  for (int i = 0; i < 10; ++i) EXPECT_NE(pick(LbMethod::ByRequests, v, {}), 1);
}

TEST(StickyDecide, DownMemberFailsOverOrIs503WithNofailover) {
  for (uint32_t flag : {kStatusDisabled, kStatusStopped, kStatusError}) {
    auto v = members({"node1", "node2"});
    v[1].status_flags = flag;
    EXPECT_EQ(decide(v, "node2", false).kind, StickyDecision::FailOver) << flag;
    auto d = decide(v, "node2", true);
    EXPECT_EQ(d.kind, StickyDecision::Unavailable) << flag;
    EXPECT_EQ(d.member, -1);
  }
  auto v = members({"node1", "node2"});
  v[1].status_flags = kStatusError | kStatusIgnoreErrors;
  EXPECT_EQ(decide(v, "node2", true).kind, StickyDecision::UseMember);
}

TEST(StickyDecide, UnknownRoute) {
  auto v = members({"node1", "node2"});
  EXPECT_EQ(decide(v, "node7", false).kind, StickyDecision::FailOver);
  EXPECT_EQ(decide(v, "node7", true).kind, StickyDecision::Unavailable);  // Apache's sticky_force
}

TEST(StickyDecide, FullOrExcludedMemberFailsOver) {
  auto v = members({"node1", "node2"});
  v[1].max_connections = 1;
  ASSERT_TRUE(acquire(v[1]));
  EXPECT_EQ(decide(v, "node2", false).kind, StickyDecision::FailOver);
  release(v[1]);
  MemberMask tried;
  tried.set(1);
  EXPECT_EQ(decide(v, "node2", false, tried).kind, StickyDecision::FailOver);
  EXPECT_EQ(decide(v, "node2", true, tried).kind, StickyDecision::Unavailable);
  EXPECT_EQ(decide(v, "node2", false).kind, StickyDecision::UseMember);
}

TEST(StickyDecide, RedirectRouteOfUnusableMember) {
  auto v = members({"node1", "node2", "node3"});
  set_member_redirect(v[1], "node3");
  v[1].status_flags = kStatusDisabled;
  auto d = decide(v, "node2", true);
  EXPECT_EQ(d.kind, StickyDecision::UseMember);
  EXPECT_EQ(d.member, 2);
  EXPECT_TRUE(d.redirected);
  v[2].status_flags = kStatusError;  // redirect target down too
  EXPECT_EQ(decide(v, "node2", true).kind, StickyDecision::Unavailable);
  v[1].status_flags = 0;  // usable again: redirect not used
  EXPECT_FALSE(decide(v, "node2", true).redirected);
}

TEST(StickyDecide, EndToEndFromRequest) {
  auto v = members({"node1", "node2"});
  auto r = extract_route("JSESSIONID|jsessionid", "foo=bar; JSESSIONID=0A1B2C.node1", "/shop/cart");
  auto d = decide(v, r.route, false);
  ASSERT_EQ(d.kind, StickyDecision::UseMember);
  EXPECT_EQ(d.member, 0);
}

// ---- persistence table ----------------------------------------------------------------

TEST(Persistence, LayoutSuitsSharedMemory) {
  EXPECT_TRUE(std::is_standard_layout_v<PersistenceTable<>>);
  EXPECT_TRUE(std::is_trivially_destructible_v<PersistenceTable<>>);
  EXPECT_TRUE(std::is_trivially_copyable_v<PersistenceEntry>);
  EXPECT_EQ(PersistenceTable<>::kCapacity, 4096u);
  EXPECT_LT(sizeof(PersistenceTable<>), 4096u * 40 + 64);
}

TEST(Persistence, InsertLookupAndExpiry) {
  auto t = std::make_unique<PersistenceTable<>>();
  t->init(42);
  auto a = v4(0x0a000001), b = v4(0x0a000002);
  EXPECT_EQ(t->lookup(a, 100), -1);
  ASSERT_TRUE(t->insert(a, 3, 100, 300));
  EXPECT_EQ(t->lookup(a, 100), 3);
  EXPECT_EQ(t->lookup(a, 399), 3);
  EXPECT_EQ(t->lookup(b, 200), -1);
  EXPECT_EQ(t->lookup(a, 400), -1);  // expires at now + ttl
  EXPECT_EQ(t->live(400), 0u);
}

TEST(Persistence, RefreshAndReplace) {
  auto t = std::make_unique<PersistenceTable<>>();
  t->init(1);
  auto a = v4(0xc0a80101);
  ASSERT_TRUE(t->insert(a, 1, 0, 10));
  EXPECT_EQ(t->lookup(a, 5, 10), 1);  // refreshed to 15
  EXPECT_EQ(t->lookup(a, 12), 1);
  ASSERT_TRUE(t->insert(a, 2, 12, 10));  // remap (member went down)
  EXPECT_EQ(t->lookup(a, 13), 2);
  EXPECT_EQ(t->live(13), 1u);
}

TEST(Persistence, Ipv6AndV4MappedKeys) {
  auto t = std::make_unique<PersistenceTable<>>();
  t->init(7);
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 9};
  auto plain = v4(0x0a000009);
  ASSERT_TRUE(t->insert(v6, 4, 0, 100));
  ASSERT_TRUE(t->insert(plain, 5, 0, 100));
  EXPECT_EQ(t->lookup(v6, 1), 4);
  EXPECT_EQ(t->lookup(mapped, 1), 5);
  std::array<uint8_t, 17> too_long{};
  EXPECT_FALSE(t->insert(too_long, 1, 0, 100));
  EXPECT_EQ(t->lookup(std::span<const uint8_t>{}, 1), -1);
}

TEST(Persistence, CapacityAndReuseOfExpiredSlots) {
  PersistenceTable<8> t;
  t.init(99);
  for (uint32_t i = 0; i < 8; ++i) ASSERT_TRUE(t.insert(v4(i + 1), static_cast<int>(i), 0, 100 + i));
  EXPECT_EQ(t.live(0), 8u);
  EXPECT_FALSE(t.insert(v4(100), 0, 50, 100));  // full: nothing live is evicted
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(t.lookup(v4(i + 1), 50), static_cast<int>(i));
  // at 101 the first two (expiring at 100 and 101) are gone: two new clients fit, a third does not
  EXPECT_TRUE(t.insert(v4(100), 7, 101, 100));
  EXPECT_TRUE(t.insert(v4(101), 6, 101, 100));
  EXPECT_FALSE(t.insert(v4(102), 5, 101, 100));
  EXPECT_EQ(t.lookup(v4(100), 101), 7);
  EXPECT_EQ(t.lookup(v4(101), 101), 6);
  EXPECT_EQ(t.lookup(v4(1), 101), -1);
  for (uint32_t i = 2; i < 8; ++i) EXPECT_EQ(t.lookup(v4(i + 1), 101), static_cast<int>(i));
  // updating an existing key always works even when full
  EXPECT_TRUE(t.insert(v4(5), 1, 101, 100));
  EXPECT_EQ(t.lookup(v4(5), 102), 1);
}

TEST(Persistence, FullDefaultTableHalfLoaded) {
  auto t = std::make_unique<PersistenceTable<>>();
  t->init(12345);
  for (uint32_t i = 0; i < 2048; ++i) ASSERT_TRUE(t->insert(v4(0x0a000000 + i * 7919), int(i % 5), 0, 1000));
  for (uint32_t i = 0; i < 2048; ++i) ASSERT_EQ(t->lookup(v4(0x0a000000 + i * 7919), 1), int(i % 5));
  EXPECT_EQ(t->live(1), 2048u);
  // after expiry a new population reuses the slots
  for (uint32_t i = 0; i < 2048; ++i) ASSERT_TRUE(t->insert(v4(0xac100000 + i), 1, 2000, 1000));
  EXPECT_EQ(t->live(2001), 2048u);
}

TEST(Persistence, EraseKeepsOtherKeysReachable) {
  PersistenceTable<8> t;
  t.init(3);
  for (uint32_t i = 0; i < 8; ++i) ASSERT_TRUE(t.insert(v4(i + 1), static_cast<int>(i % 2), 0, 100));
  EXPECT_TRUE(t.erase(v4(3)));
  EXPECT_FALSE(t.erase(v4(3)));
  EXPECT_EQ(t.lookup(v4(3), 1), -1);
  for (uint32_t i = 0; i < 8; ++i)
    if (i != 2) {
      EXPECT_EQ(t.lookup(v4(i + 1), 1), static_cast<int>(i % 2));
    }
  EXPECT_EQ(t.erase_member(1), 4u);  // 2,4,6,8 -> member 1
  EXPECT_EQ(t.live(1), 3u);
  EXPECT_EQ(t.lookup(v4(2), 1), -1);
  EXPECT_TRUE(t.insert(v4(50), 0, 1, 100));  // freed slots are reused
}

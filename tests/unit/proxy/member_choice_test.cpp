// MemberChoice without sockets: a private balancer block of three members.
// The method spreads new requests, a member this request tried is not
// chosen again, failures= ejects a member for retry= unless it is the last
// usable one, again_fresh() is not an attempt, max_attempts ends the
// search, members at max= queue the request for the balancer's timeout=,
// the sticky route wins, and the busy count is held from choose() to
// release() (also by the destructor), recorded in the slot's records.
#include "proxy/member_choice.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "config/directives/tables.h"

namespace pillar::proxy {
namespace {

struct Pool {
  config::BalancerConfig cfg;
  std::unique_ptr<BalancerRuntime> b;
  explicit Pool(const std::string& params = "", const std::string& balancer_params = "") {
    cfg.name = "app";
    int i = 0;
    for (const char* route : {"a", "b", "c"}) {
      std::string url = "http://127.0.0.1:" + std::to_string(8081 + i++), path, why;
      config::BalancerMemberConfig m;
      EXPECT_TRUE(config::parse_member_url(url, m, path, why)) << why;
      m.url = url;
      EXPECT_TRUE(config::apply_member_param(std::string("route=") + route, m, why)) << why;
      for (size_t at = 0, sp; at < params.size(); at = sp + 1) {  // space-separated key=value
        sp = params.find(' ', at);
        if (sp == std::string::npos) sp = params.size();
        EXPECT_TRUE(config::apply_member_param(params.substr(at, sp - at), m, why)) << why;
      }
      cfg.members.push_back(m);
    }
    std::string why;
    for (size_t at = 0, sp; at < balancer_params.size(); at = sp + 1) {  // space-separated too
      sp = balancer_params.find(' ', at);
      if (sp == std::string::npos) sp = balancer_params.size();
      EXPECT_TRUE(config::apply_balancer_param(balancer_params.substr(at, sp - at), cfg, why)) << why;
    }
    std::string err;
    b = BalancerRuntime::build(cfg, nullptr, err);
    EXPECT_TRUE(b) << err;
  }
  uint64_t busy(int m) const { return b->span()[static_cast<size_t>(m)].busy.load(); }
};

const ChoiceRequest kAnon{};

TEST(MemberChoice, TheBusyCountIsHeldUntilRelease) {
  Pool p;
  int chosen = -1;
  {
    MemberChoice c(*p.b, {});
    ASSERT_EQ(c.choose(kAnon, 1000), MemberChoice::Outcome::Member);
    chosen = c.member();
    EXPECT_EQ(p.busy(chosen), 1u);
    c.release();
    EXPECT_EQ(p.busy(chosen), 0u);
    c.release();  // twice: still zero
    EXPECT_EQ(p.busy(chosen), 0u);
    ASSERT_EQ(c.choose(kAnon, 1000), MemberChoice::Outcome::Member);
    chosen = c.member();
    EXPECT_EQ(p.busy(chosen), 1u);
  }  // the destructor gives it back
  EXPECT_EQ(p.busy(chosen), 0u);
}

TEST(MemberChoice, ATriedMemberIsNotChosenAgainAndAttemptsEnd) {
  Pool p("", "maxattempts=2");
  MemberChoice c(*p.b, {});
  ASSERT_EQ(c.choose(kAnon, 1000), MemberChoice::Outcome::Member);
  int first = c.member();
  c.release();
  ASSERT_EQ(c.choose(kAnon, 1000), MemberChoice::Outcome::Member);
  EXPECT_NE(c.member(), first);
  c.release();
  EXPECT_EQ(c.choose(kAnon, 1000), MemberChoice::Outcome::Unavailable);
  EXPECT_STREQ(c.why(), "every member tried failed");
}

TEST(MemberChoice, AgainFreshIsTheSameMemberAndNoAttempt) {
  Pool p("", "maxattempts=1");
  MemberChoice c(*p.b, {});
  ASSERT_EQ(c.choose(kAnon, 1000), MemberChoice::Outcome::Member);
  int first = c.member();
  c.release();
  c.again_fresh(first);
  ASSERT_EQ(c.choose(kAnon, 1000), MemberChoice::Outcome::Member);
  EXPECT_EQ(c.member(), first);
  EXPECT_TRUE(c.fresh());
}

TEST(MemberChoice, FailuresEjectForRetryButNeverTheLastUsable) {
  Pool p("failures=2 retry=10s");
  MemberChoice c(*p.b, {});
  c.failed(0, "refused", 1000);
  EXPECT_EQ(p.b->error_until(0).load(), 0u) << "one failure of two";
  c.failed(0, "refused", 1000);
  EXPECT_EQ(p.b->error_until(0).load(), 11000u);
  // Member 0 is in its back-off: new choices go elsewhere.
  for (int i = 0; i < 6; ++i) {
    MemberChoice n(*p.b, {});
    ASSERT_EQ(n.choose(kAnon, 2000), MemberChoice::Outcome::Member);
    EXPECT_NE(n.member(), 0);
  }
  c.failed(1, "refused", 1000);
  c.failed(1, "refused", 1000);
  EXPECT_GT(p.b->error_until(1).load(), 0u);
  c.failed(2, "refused", 1000);
  c.failed(2, "refused", 1000);
  EXPECT_EQ(p.b->error_until(2).load(), 0u) << "the last usable member is kept";
}

TEST(MemberChoice, MembersAtMaxQueueForTheTimeout) {
  Pool p("max=1", "timeout=50ms");
  MemberChoice a(*p.b, {}), b(*p.b, {}), c(*p.b, {}), d(*p.b, {});
  ASSERT_EQ(a.choose(kAnon, 1000), MemberChoice::Outcome::Member);
  ASSERT_EQ(b.choose(kAnon, 1000), MemberChoice::Outcome::Member);
  ASSERT_EQ(c.choose(kAnon, 1000), MemberChoice::Outcome::Member);
  EXPECT_EQ(d.choose(kAnon, 1000), MemberChoice::Outcome::Queue);
  EXPECT_EQ(d.choose(kAnon, 1040), MemberChoice::Outcome::Queue);
  b.release();  // one frees up within the timeout
  ASSERT_EQ(d.choose(kAnon, 1045), MemberChoice::Outcome::Member);
  EXPECT_EQ(d.member(), b.member());
  MemberChoice e(*p.b, {});
  EXPECT_EQ(e.choose(kAnon, 2000), MemberChoice::Outcome::Queue);
  EXPECT_EQ(e.choose(kAnon, 2051), MemberChoice::Outcome::Unavailable);
}

TEST(MemberChoice, TheStickyRouteWins) {
  Pool p("", "stickysession=ROUTEID");
  for (int i = 0; i < 4; ++i) {
    MemberChoice c(*p.b, {});
    ChoiceRequest r;
    r.cookie = "ROUTEID=x.c";
    ASSERT_EQ(c.choose(r, 1000), MemberChoice::Outcome::Member);
    EXPECT_EQ(c.member(), 2);
  }
}

// stickysessionsep=: PHP's ids hold '-' but never '.', so "SID-ROUTE".
TEST(MemberChoice, TheStickySeparatorIsTheBalancers) {
  Pool dash("", "stickysession=PHPSESSID stickysessionsep=-");
  for (const char* cookie : {"PHPSESSID=3f9a0c-b", "PHPSESSID=3f9a0c.x-b"}) {
    MemberChoice c(*dash.b, {});
    ChoiceRequest r;
    r.cookie = cookie;
    ASSERT_EQ(c.choose(r, 1000), MemberChoice::Outcome::Member);
    EXPECT_EQ(c.member(), 1) << cookie;
  }
  Pool off("", "stickysession=ROUTEID stickysessionsep=Off");
  MemberChoice c(*off.b, {});
  ChoiceRequest r;
  r.cookie = "ROUTEID=c";
  ASSERT_EQ(c.choose(r, 1000), MemberChoice::Outcome::Member);
  EXPECT_EQ(c.member(), 2) << "Off: the whole value is the route";
  config::BalancerConfig cfg;
  std::string why;
  EXPECT_FALSE(config::apply_balancer_param("stickysessionsep=--", cfg, why));
  EXPECT_NE(why.find("one character or Off"), std::string::npos) << why;
}

}  // namespace
}  // namespace pillar::proxy

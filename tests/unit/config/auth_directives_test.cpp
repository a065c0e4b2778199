// Unit tests for directives/auth.cpp and Require's user rules: AuthType,
// AuthName, AuthBasicProvider, AuthUserFile, AuthGroupFile into the model;
// Require valid-user|user|group and <RequireAll>/<RequireAny>/<RequireNone>;
// errors with the line and the fix; and mod_authz_core's results (Granted,
// Denied, DeniedNoUser) for a client with and without a user.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config_text.h"

using namespace pillar::config;

namespace {

using config_text::errors;
using config_text::load;

sockaddr_storage v4(const char* ip) {
  sockaddr_storage ss{};
  auto& a = reinterpret_cast<sockaddr_in&>(ss);
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &a.sin_addr);
  return ss;
}

TEST(AuthDirectives, ASectionWithBasicAuthentication) {
  auto r = load("<Directory /srv/private>\n  AuthType basic\n  AuthName \"Staff only\"\n  AuthBasicProvider file\n"
                "  AuthUserFile conf/users\n  AuthGroupFile /etc/groups\n  Require group admins\n</Directory>\n"
                "<Location /open>\n  AuthType None\n</Location>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& m = r.config->main_server;
  EXPECT_TRUE(m.auth_anywhere);
  const AuthConfig& a = m.directories.at(0).auth;
  EXPECT_EQ(a.type, "Basic");
  EXPECT_EQ(a.name, "Staff only");
  EXPECT_EQ(a.user_file, "/tmp/conf/users");  // against ServerRoot
  EXPECT_EQ(a.user_file_where.line, 6);
  EXPECT_EQ(a.group_file, "/etc/groups");
  const auto& req = m.directories.at(0).access.require.at(0);
  EXPECT_EQ(req.kind, RequireRule::Kind::Group);
  EXPECT_EQ(req.names, std::vector<std::string>{"admins"});
  EXPECT_EQ(m.locations.at(0).auth.type, "");
  // A missing file is a notice (Apache starts, and answers 500 there).
  bool noticed = false;
  for (const auto& n : r.config->notices) noticed = noticed || n.find("t.conf:6: AuthUserFile /tmp/conf/users does not exist") == 0;
  EXPECT_TRUE(noticed);
}

TEST(AuthDirectives, ContainersNest) {
  auto r = load("<Location />\n  <RequireAll>\n    Require valid-user\n    <RequireAny>\n      Require ip 10.0.0.0/8\n"
                "      Require user root\n    </RequireAny>\n    <RequireNone>\n      Require user eve\n"
                "    </RequireNone>\n    Require not ip 10.9.0.0/16\n  </RequireAll>\n</Location>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& top = r.config->main_server.locations.at(0).access.require;
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].kind, RequireRule::Kind::All);
  ASSERT_EQ(top[0].children.size(), 4u);
  EXPECT_EQ(top[0].children[1].kind, RequireRule::Kind::Any);
  EXPECT_EQ(top[0].children[2].kind, RequireRule::Kind::None);
  EXPECT_EQ(top[0].children[3].kind, RequireRule::Kind::NotIp);
  EXPECT_TRUE(top[0].needs_user());
}

TEST(AuthDirectives, ErrorsNameTheLineAndTheFix) {
  struct Bad {
    const char* text;
    const char* message;
  };
  const Bad cases[] = {
      {"<Location />\nAuthType Digest\n</Location>\n", "t.conf:3: AuthType Digest is not supported"},
      {"<Location />\nAuthType Kerberos\n</Location>\n", "t.conf:3: AuthType Kerberos is unknown; use AuthType Basic"},
      {"<Location />\nAuthBasicProvider ldap\n</Location>\n", "t.conf:3: AuthBasicProvider ldap is not supported"},
      {"AuthType Basic\n", "t.conf:2: AuthType is not allowed in the server config"},
      {"<Location />\nRequire user\n</Location>\n", "t.conf:3: Require user needs at least one name"},
      {"<Location />\nRequire not user eve\n</Location>\n", "t.conf:3: a negative Require has no effect"},
      {"<Location />\n<RequireAny>\nRequire not ip 10.0.0.1\nRequire valid-user\n</RequireAny>\n</Location>\n",
       "t.conf:4: a negative Require has no effect in <RequireAny>"},
      {"<Location />\n<RequireNone>\nRequire user eve\n</RequireNone>\n</Location>\n",
       "t.conf:3: <RequireNone> has no effect in a section's implicit <RequireAny>"},
      {"<Location />\n<RequireAll>\n</RequireAll>\n</Location>\n", "t.conf:3: <RequireAll> contains no Require line"},
      {"<Location />\n<RequireAll>\nOptions None\n</RequireAll>\n</Location>\n",
       "t.conf:4: Options is not allowed in a <RequireAll>"},
      {"<RequireAll>\nRequire all granted\n</RequireAll>\n", "t.conf:2: <RequireAll> is only allowed in <Directory>"},
      {"CachePurgeRequire valid-user\n", "t.conf:2: CachePurgeRequire valid-user is not supported"},
  };
  for (const auto& b : cases) {
    auto r = load(b.text);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(errors(r).find(b.message), std::string::npos) << errors(r);
  }
}

// The policy of <Location /> holding `lines`.
AccessPolicy policy(const std::string& lines) {
  auto r = load("<Location />\n" + lines + "</Location>\n");
  EXPECT_TRUE(r.ok()) << errors(r);
  return r.ok() ? r.config->main_server.locations.at(0).access : AccessPolicy{};
}

TEST(AuthDirectives, ResultsAsModAuthzCore) {
  const auto inside = v4("10.1.2.3"), outside = v4("192.0.2.1");
  const std::string alice = "alice", eve = "eve";
  const std::vector<std::string> admins{"admins"}, none;
  auto as = [&](const sockaddr_storage& c, const std::string* u, const std::vector<std::string>* g = nullptr) {
    return AccessSubject{c, u, g};
  };
  using R = AuthzResult;
  // valid-user alone: a user is needed; any user is enough.
  AccessPolicy vu = policy("Require valid-user\n");
  EXPECT_EQ(vu.evaluate(outside), R::DeniedNoUser);
  EXPECT_EQ(vu.evaluate(as(outside, &eve)), R::Granted);
  // An address OR a user (the implicit RequireAny): the address needs no authentication.
  AccessPolicy either = policy("Require ip 10.0.0.0/8\nRequire user alice\n");
  EXPECT_EQ(either.evaluate(inside), R::Granted);
  EXPECT_EQ(either.evaluate(outside), R::DeniedNoUser);
  EXPECT_EQ(either.evaluate(as(outside, &alice)), R::Granted);
  EXPECT_EQ(either.evaluate(as(outside, &eve)), R::Denied);
  // An address AND a group: from outside, no user can help (403, no prompt).
  AccessPolicy both = policy("<RequireAll>\nRequire ip 10.0.0.0/8\nRequire group admins\n</RequireAll>\n");
  EXPECT_EQ(both.evaluate(outside), R::Denied);
  EXPECT_EQ(both.evaluate(inside), R::DeniedNoUser);
  EXPECT_EQ(both.evaluate(as(inside, &alice, &admins)), R::Granted);
  EXPECT_EQ(both.evaluate(as(inside, &alice, &none)), R::Denied);
  // Everyone but eve.
  AccessPolicy but = policy("<RequireAll>\nRequire valid-user\n<RequireNone>\nRequire user eve\n</RequireNone>\n"
                            "</RequireAll>\n");
  EXPECT_EQ(but.evaluate(outside), R::DeniedNoUser);
  EXPECT_EQ(but.evaluate(as(outside, &alice)), R::Granted);
  EXPECT_EQ(but.evaluate(as(outside, &eve)), R::Denied);
  // A top-level "not ip" still vetoes, even a valid user.
  AccessPolicy veto = policy("Require valid-user\nRequire not ip 192.0.2.0/24\n");
  EXPECT_EQ(veto.evaluate(as(outside, &alice)), R::Denied);
  EXPECT_EQ(veto.evaluate(as(inside, &alice)), R::Granted);
  EXPECT_TRUE(veto.needs_user());
  EXPECT_FALSE(policy("Require ip 10.0.0.0/8\n").needs_user());
}

}  // namespace

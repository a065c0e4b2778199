// mod_setenvif's matching (server/metadata/setenvif.cpp) against Apache's
// behaviour, observed on Apache 2.4 for each case: attributes, absent
// headers as "", earlier variables, $N, !VAR, NoCase, header-name regexes,
// and the one read per run of rules on the same attribute.
#include "server/metadata/setenvif.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace pillar::server::metadata {
namespace {

using config::SetEnvIfRule;

// The server-level rules of `lines`.
std::vector<SetEnvIfRule> rules(const std::string& lines) {
  config::LoadOptions o;
  o.server_root = "/tmp";
  auto r = config::load_config_text("Listen 127.0.0.1:0\n" + lines, "t.conf", o);
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.ok() ? r.config->main_server.meta.setenvif : std::vector<SetEnvIfRule>{};
}

struct Fixture {
  std::vector<http::HeaderField> headers{{"User-Agent", "curl/8.1.2"}, {"X-Thing", "abcd"}, {"Accept", "text/html"},
                                         {"Accept", "*/*"}, {"X-Hello", "yes"}};
  SetEnvIfSubject subject() const {
    SetEnvIfSubject s;
    s.remote_addr = "127.0.0.1";
    s.server_addr = "10.1.2.3";
    s.method = "GET";
    s.protocol = "HTTP/1.1";
    s.uri = "/a/b.gif";
    s.headers = headers;
    return s;
  }
};

TEST(SetEnvIf, SpecialAttributes) {
  Fixture f;
  http::RequestEnv env;
  run_setenvif(rules("SetEnvIf Remote_Addr ^127\\. ra\nSetEnvIf Remote_Host ^127 rh\nSetEnvIf Server_Addr ^10\\. sa\n"
                     "SetEnvIf Request_Method ^GET$ m\nSetEnvIf Request_Protocol HTTP/1\\.1 p\n"
                     "SetEnvIf Request_URI \\.gif$ gif\nSetEnvIf Request_Method POST post\n"),
               f.subject(), env);
  for (const char* v : {"ra", "rh", "sa", "m", "p", "gif"}) EXPECT_EQ(env.get(v), "1") << v;
  EXPECT_FALSE(env.has("post"));
}

TEST(SetEnvIf, BackReferencesOnlyForRegexPatterns) {
  Fixture f;
  http::RequestEnv env;
  run_setenvif(rules("SetEnvIf User-Agent \"^curl/(\\d+)\\.(\\d+)\" CURL=$1.$2 WHOLE=$0 ESC=\\$1\n"
                     "BrowserMatch curl LITERAL=$1\n"),
               f.subject(), env);
  EXPECT_EQ(env.get("CURL"), "8.1");
  EXPECT_EQ(env.get("WHOLE"), "curl/8.1");
  EXPECT_EQ(env.get("ESC"), "$1");
  EXPECT_EQ(env.get("LITERAL"), "$1");  // "curl" is a plain string: Apache sets the value as written
}

TEST(SetEnvIf, NoCaseUnsetAndEarlierVariables) {
  Fixture f;
  http::RequestEnv env;
  env.set("gone", "x");
  run_setenvif(rules("SetEnvIf X-Thing ^ABC upper\nSetEnvIfNoCase X-Thing ^ABC thing\nBrowserMatch curl !gone\n"
                     "SetEnvIf thing 1 from_var\nSetEnvIf Missing ^$ missing_is_empty\n"),
               f.subject(), env);
  EXPECT_FALSE(env.has("upper"));
  EXPECT_EQ(env.get("thing"), "1");
  EXPECT_FALSE(env.has("gone"));
  EXPECT_EQ(env.get("from_var"), "1");  // a variable set by an earlier line
  EXPECT_EQ(env.get("missing_is_empty"), "1");
}

TEST(SetEnvIf, RepeatedFieldsJoinedAndHeaderNameRegex) {
  Fixture f;
  http::RequestEnv env;
  run_setenvif(rules("SetEnvIf Accept \"^text/html, \\*/\\*$\" joined\nSetEnvIf ^X-H.* yes xh\n"), f.subject(), env);
  EXPECT_EQ(env.get("joined"), "1");
  EXPECT_EQ(env.get("xh"), "1");
  // A name regex follows the directive's case rule.
  run_setenvif(rules("SetEnvIf ^x-h.* yes lower\n"), f.subject(), env);
  EXPECT_FALSE(env.has("lower"));
  run_setenvif(rules("SetEnvIfNoCase ^x-h.* yes nocase\n"), f.subject(), env);
  EXPECT_EQ(env.get("nocase"), "1");
}

// Apache reads an attribute once for consecutive lines on it: a line that
// sets the variable it tests does not feed the next line on that name.
TEST(SetEnvIf, OneReadPerRunOfLinesOnTheSameAttribute) {
  Fixture f;
  http::RequestEnv env;
  run_setenvif(rules("SetEnvIf V ^$ V=set\nSetEnvIf V ^set$ seen_in_run\nSetEnvIf Request_Method . other\n"
                     "SetEnvIf V ^set$ seen_after\n"),
               f.subject(), env);
  EXPECT_EQ(env.get("V"), "set");
  EXPECT_FALSE(env.has("seen_in_run"));
  EXPECT_EQ(env.get("seen_after"), "1");
}

TEST(SetEnvIf, RequestEnvNamesCompareWithoutCase) {
  http::RequestEnv env;
  env.set("Foo", "1");
  env.set("FOO", "2");
  EXPECT_EQ(env.entries().size(), 1u);
  EXPECT_EQ(env.get("foo"), "2");
  env.unset("fOo");
  EXPECT_TRUE(env.empty());
}

}  // namespace
}  // namespace pillar::server::metadata

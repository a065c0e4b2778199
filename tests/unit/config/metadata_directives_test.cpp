// Unit tests for directives/metadata.cpp: mod_setenvif, mod_env,
// mod_headers, mod_expires and ServerSignature lines into config::Metadata
// of the section they sit in, and Apache's errors with file and line.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config_text.h"

using namespace pillar::config;

namespace {

using config_text::errors;
using config_text::load;

// The one error of `body` (after the Listen line, so body line N is t.conf:N+1).
std::string error_of(const std::string& body) {
  auto r = load(body);
  EXPECT_FALSE(r.ok()) << body;
  return r.errors.empty() ? std::string() : r.errors[0].to_string();
}

TEST(MetadataDirectives, SetEnvIfFormsAndAttributes) {
  auto r = load("SetEnvIf Request_URI \"\\.gif$\" image=gif !other X=$1\n"
                "SetEnvIfNoCase ^Authorization$ \"(.+)\" HTTP_AUTHORIZATION=$1\n"
                "BrowserMatch \"Mozilla/2\" nokeepalive\n"
                "<Location /a>\n  SetEnvIf Remote_Addr ^127 local\n</Location>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& rules = r.config->main_server.meta.setenvif;
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].attribute, SetEnvIfRule::Attribute::RequestUri);
  EXPECT_TRUE(rules[0].substitutes);  // a regex: $N are substituted
  ASSERT_EQ(rules[0].actions.size(), 3u);
  EXPECT_EQ(rules[0].actions[0].var, "image");
  EXPECT_EQ(rules[0].actions[0].value, "gif");
  EXPECT_TRUE(rules[0].actions[1].unset);
  EXPECT_EQ(rules[0].actions[1].var, "other");
  EXPECT_EQ(rules[1].attribute, SetEnvIfRule::Attribute::HeaderRegex);
  ASSERT_TRUE(rules[1].name_regex);
  EXPECT_EQ(rules[1].name_regex->match("AUTHORIZATION"), pillar::core::Regex::Result::Match);  // NoCase: names too
  EXPECT_EQ(rules[2].attribute, SetEnvIfRule::Attribute::Named);
  EXPECT_EQ(rules[2].name, "User-Agent");
  EXPECT_FALSE(rules[2].substitutes);  // "Mozilla/2" holds no regex character
  EXPECT_EQ(rules[2].actions[0].value, "1");
  ASSERT_EQ(r.config->main_server.locations.size(), 1u);
  ASSERT_EQ(r.config->main_server.locations[0].meta.setenvif.size(), 1u);  // per-directory, not the server's
  EXPECT_EQ(r.config->main_server.locations[0].meta.setenvif[0].attribute, SetEnvIfRule::Attribute::RemoteAddr);
}

TEST(MetadataDirectives, SetEnvIfErrorsNameTheLine) {
  EXPECT_NE(error_of("\nSetEnvIf User-Agent \"(\" x\n").find("t.conf:3: SetEnvIf regex '(' could not be compiled"),
            std::string::npos);
  EXPECT_NE(error_of("BrowserMatch x =y\n").find("t.conf:2: BrowserMatch '=y': the variable needs a name"),
            std::string::npos);
}

TEST(MetadataDirectives, EnvUnsetRemovesOnlyWhatTheSectionSetSoFar) {
  auto r = load("SetEnv A a\nSetEnv B\nPassEnv PATH\nUnsetEnv A\n<Directory /srv>\n  UnsetEnv B\n  SetEnv C c\n</Directory>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& e = r.config->main_server.meta.env;
  ASSERT_EQ(e.set.size(), 2u);
  EXPECT_EQ(e.set[0].first, "B");
  EXPECT_EQ(e.set[0].second, "");
  EXPECT_EQ(e.set[1].first, "PATH");
  const auto& d = r.config->main_server.directories.at(0).meta.env;
  ASSERT_EQ(d.unset.size(), 1u);
  EXPECT_EQ(d.unset[0], "B");
  ASSERT_EQ(d.set.size(), 1u);
}

TEST(MetadataDirectives, HeaderActionsConditionsAndFormats) {
  auto r = load("Header always set Strict-Transport-Security \"max-age=63072000\"\n"
                "Header add Set-Cookie \"ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/\" env=BALANCER_ROUTE_CHANGED\n"
                "Header onsuccess edit* Location ^http: https:\n"
                "Header unset X-Powered-By env=!keep\n"
                "Header echo ^X-Req\n"
                "Header set X-Content-Type-Options: nosniff\n"
                "Header set X-Time \"%t %D 50%% %{SSL_PROTOCOL}s tab\\\\tend %\"\n"
                "RequestHeader setifempty X-Forwarded-Proto https early\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& h = r.config->main_server.meta.headers;
  ASSERT_EQ(h.size(), 8u);
  EXPECT_EQ(h[0].table, HeaderAction::Table::Always);
  EXPECT_EQ(h[0].op, HeaderAction::Op::Set);
  EXPECT_EQ(h[1].op, HeaderAction::Op::Add);
  EXPECT_EQ(h[1].env, "BALANCER_ROUTE_CHANGED");
  EXPECT_FALSE(h[1].env_negated);
  ASSERT_EQ(h[1].value.pieces.size(), 3u);
  EXPECT_EQ(h[1].value.pieces[1].kind, HeaderFormat::Kind::Env);
  EXPECT_EQ(h[1].value.pieces[1].text, "BALANCER_WORKER_ROUTE");
  EXPECT_EQ(h[2].op, HeaderAction::Op::EditAll);
  EXPECT_EQ(h[2].table, HeaderAction::Table::OnSuccess);
  ASSERT_TRUE(h[2].regex);
  EXPECT_EQ(h[2].value.pieces.at(0).text, "https:");
  EXPECT_EQ(h[3].op, HeaderAction::Op::Unset);
  EXPECT_TRUE(h[3].env_negated);
  EXPECT_EQ(h[3].env, "keep");
  EXPECT_EQ(h[4].op, HeaderAction::Op::Echo);
  EXPECT_EQ(h[5].header, "X-Content-Type-Options");  // the colon dropped, as Apache
  const auto& p = h[6].value.pieces;
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0].kind, HeaderFormat::Kind::RequestTime);
  EXPECT_EQ(p[2].kind, HeaderFormat::Kind::Duration);
  EXPECT_EQ(p[3].text, " 50% ");
  EXPECT_EQ(p[4].kind, HeaderFormat::Kind::Ssl);
  EXPECT_EQ(p[5].text, " tab\tend %");
  EXPECT_TRUE(h[7].request);
  EXPECT_TRUE(h[7].early);
  EXPECT_EQ(h[7].op, HeaderAction::Op::SetIfEmpty);
}

TEST(MetadataDirectives, HeaderErrorsAsApache) {
  EXPECT_NE(error_of("Header frob X y\n").find("t.conf:2: Header frob: first argument must be 'add', 'set'"),
            std::string::npos);
  EXPECT_NE(error_of("Header set X \"%z\"\n").find("Unrecognized header format %z"), std::string::npos);
  EXPECT_NE(error_of("Header edit Location ^http:\n").find("edit requires a match and a substitution"), std::string::npos);
  EXPECT_NE(error_of("Header set X y bogus\n").find("Unknown parameter: bogus"), std::string::npos);
  EXPECT_NE(error_of("Header set X\n").find("requires three arguments"), std::string::npos);
  EXPECT_NE(error_of("RequestHeader echo X\n").find("Header echo only valid on Header directives"), std::string::npos);
  // expr= compiles the expression (config/expr.h): what it does not know is the error.
  EXPECT_NE(error_of("Header set X y \"expr=%{REQUEST_STATUS} == 200\"\n").find("unknown variable %{REQUEST_STATUS}"),
            std::string::npos);
  EXPECT_NE(error_of("<Location /a>\nHeader set X y early\n</Location>\n").find("t.conf:3:"), std::string::npos);
  EXPECT_NE(error_of("Header set X \"a\\nb\"\n").find("cannot hold a line break"), std::string::npos);
  EXPECT_NE(error_of("Header set X y env=\n").find("missing environment variable name"), std::string::npos);
}

TEST(MetadataDirectives, ExpiresBothSyntaxesAndMerging) {
  auto r = load("ExpiresActive On\nExpiresDefault A3600\n"
                "ExpiresByType text/HTML \"access plus 1 month 2 days\"\n"
                "ExpiresByType image/* \"modification plus 1 year\"\n"
                "ExpiresByType text/css \"now 2 hours 30 minutes\"\n"
                "<Location /nocache>\n  ExpiresActive Off\n</Location>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& e = r.config->main_server.meta.expires;
  EXPECT_EQ(e.active, true);
  ASSERT_TRUE(e.default_rule);
  EXPECT_EQ(e.default_rule->seconds, 3600);
  EXPECT_EQ(e.default_rule->base, ExpiresRule::Base::Access);
  ASSERT_EQ(e.by_type.size(), 3u);
  EXPECT_EQ(e.by_type[0].first, "text/html");
  EXPECT_EQ(e.by_type[0].second.seconds, 32 * 86400);
  EXPECT_EQ(e.by_type[1].second.base, ExpiresRule::Base::Modification);
  EXPECT_EQ(e.by_type[1].second.seconds, 365 * 86400);
  EXPECT_EQ(e.by_type[2].second.seconds, 9000);
  EXPECT_EQ(r.config->main_server.locations.at(0).meta.expires.active, false);
  EXPECT_NE(error_of("ExpiresDefault \"access plus 1 fortnight\"\n").find("t.conf:2: ExpiresDefault 'fortnight' is not a unit"),
            std::string::npos);
  EXPECT_NE(error_of("ExpiresByType html A60\n").find("expected a media type"), std::string::npos);
  EXPECT_NE(error_of("ExpiresDefault \"later plus 1 day\"\n").find("the base is access, now or modification"),
            std::string::npos);
}

TEST(MetadataDirectives, ServerSignatureAndAdminPerSection) {
  auto r = load("ServerSignature EMail\nServerAdmin webmaster@example.com\n<Directory /srv>\n  ServerSignature Off\n</Directory>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_EQ(r.config->main_server.meta.signature, ServerSignature::EMail);
  EXPECT_EQ(r.config->main_server.server_admin, "webmaster@example.com");
  EXPECT_EQ(r.config->main_server.directories.at(0).meta.signature, ServerSignature::Off);
  EXPECT_NE(error_of("ServerSignature Maybe\n").find("is not one of On, Off, EMail"), std::string::npos);
}

// A vhost starts from the main server's lines, then adds its own (Apache's
// merge: the main server's Header lines run first).
TEST(MetadataDirectives, VirtualHostAppendsToTheMainServers) {
  auto r = load("Header set X-Main 1\nBrowserMatch a b\n<VirtualHost *:80>\n  Header set X-Vhost 1\n</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& h = r.config->vhosts.at(0).meta.headers;
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].header, "X-Main");
  EXPECT_EQ(h[1].header, "X-Vhost");
  EXPECT_EQ(r.config->vhosts.at(0).meta.setenvif.size(), 1u);
}

}  // namespace

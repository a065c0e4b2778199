// Per-server and per-directory merging: which <Directory> supplies the
// rules, RewriteOptions Inherit / InheritBefore, the main server's rules
// reaching a <VirtualHost> only with Inherit; mod_alias matching.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "rewrite/alias.h"
#include "rewrite/site_rules.h"
#include "rewrite_fixture.h"

namespace {

using namespace pillar;
using Action = rewrite::Outcome::Action;

std::unique_ptr<config::ServerConfig> load(const std::string& text) {
  auto r = config::load_config_text("Listen 127.0.0.1:0\n" + text, "site.conf");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return std::move(r.config);
}

TEST(RewriteSite, NearestDirectoryWithRulesWinsAndInheritAppends) {
  auto cfg = load(R"(
<Directory /srv>
  RewriteEngine On
  RewriteRule ^top$ - [F]
</Directory>
<Directory /srv/a>
  Options -Indexes
</Directory>
<Directory /srv/b>
  RewriteRule ^own$ - [G]
</Directory>
<Directory /srv/c>
  RewriteOptions Inherit
  RewriteRule ^own$ - [G]
</Directory>
)");
  std::vector<config::ConfigError> errors;
  auto site = rewrite::compile_site(*cfg, cfg->main_server, errors);
  ASSERT_TRUE(errors.empty());
  rwtest::FakeContext ctx;
  auto status = [&](const std::string& file) {
    const rewrite::RuleSet* set = site->for_file(cfg->main_server, file);
    if (!set) return -1;
    rewrite::Input in;
    in.path = file;
    return rewrite::run(*set, ctx, in).status;
  };
  EXPECT_EQ(status("/srv/top"), 403);
  EXPECT_EQ(status("/srv/a/top"), 0);     // /srv/a has no rewrite lines: /srv's rules, stripped of "/srv/"
  EXPECT_EQ(status("/srv/b/own"), 410);
  EXPECT_EQ(status("/srv/b/top"), 0);     // its own rules replace the parent's (engine state inherited)
  EXPECT_EQ(status("/srv/c/own"), 410);
  EXPECT_EQ(status("/srv/c/top"), 403);   // Inherit: the parent's rules run after its own, with its prefix
  EXPECT_EQ(status("/elsewhere/top"), -1);
}

TEST(RewriteSite, MainServerRulesReachAVhostOnlyWithInherit) {
  auto cfg = load(R"(
RewriteEngine On
RewriteRule ^/main$ - [F]
<VirtualHost 127.0.0.1:0>
  ServerName plain
  RewriteEngine On
  RewriteRule ^/own$ - [G]
</VirtualHost>
<VirtualHost 127.0.0.1:0>
  ServerName inherits
  RewriteEngine On
  RewriteOptions Inherit
  RewriteRule ^/own$ - [G]
</VirtualHost>
)");
  std::vector<config::ConfigError> errors;
  auto plain = rewrite::compile_site(*cfg, cfg->vhosts[0], errors);
  auto inherits = rewrite::compile_site(*cfg, cfg->vhosts[1], errors);
  ASSERT_TRUE(errors.empty());
  rwtest::FakeContext ctx;
  rewrite::Input in;
  in.path = "/main";
  EXPECT_EQ(rewrite::run(*plain->server, ctx, in).action, Action::None);
  EXPECT_EQ(rewrite::run(*inherits->server, ctx, in).status, 403);
}

TEST(RewriteSite, CheckConfigReportsEachErrorOnce) {
  auto cfg = load(R"(
<Directory /srv>
  RewriteRule ^( /x
</Directory>
<VirtualHost 127.0.0.1:0>
  ServerName a
</VirtualHost>
)");
  std::vector<config::ConfigError> errors;
  rewrite::check_config(*cfg, errors);
  ASSERT_EQ(errors.size(), 1u);  // the <Directory> is copied into the vhost, reported once
  EXPECT_EQ(errors[0].file, "site.conf");
  EXPECT_EQ(errors[0].line, 4);
}

TEST(Alias, PrefixOnSegmentBoundaries) {
  EXPECT_EQ(rewrite::alias_matches("/icons/a.png", "/icons"), 6u);
  EXPECT_EQ(rewrite::alias_matches("/icons", "/icons"), 6u);
  EXPECT_EQ(rewrite::alias_matches("/iconsx", "/icons"), 0u);
  EXPECT_EQ(rewrite::alias_matches("/icons", "/icons/"), 0u);
  EXPECT_EQ(rewrite::alias_matches("//icons//a", "/icons/"), 9u);
}

TEST(Alias, RedirectsBeforeAliasesFirstMatchWins) {
  auto cfg = load(R"(
Redirect permanent /old https://new.example/base
RedirectMatch 410 ^/gone/
RedirectMatch seeother ^/m/(\d+)$ /items/$1
Redirect /rel /target
Alias /static /srv/static
AliasMatch ^/u/([a-z]+)/(.*)$ /home/$1/www/$2
ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/
)");
  const auto& vh = cfg->main_server;
  auto r = rewrite::apply_redirects(vh.redirects, "/old/a b", "x=1", "http://h");
  ASSERT_EQ(r.action, rewrite::AliasOutcome::Action::Redirect);
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.location, "https://new.example/base/a%20b?x=1");
  EXPECT_EQ(rewrite::apply_redirects(vh.redirects, "/gone/x", "", "http://h").status, 410);
  EXPECT_EQ(rewrite::apply_redirects(vh.redirects, "/gone/x", "", "http://h").action, rewrite::AliasOutcome::Action::Status);
  r = rewrite::apply_redirects(vh.redirects, "/m/42", "", "http://h");
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(r.location, "http://h/items/42");
  EXPECT_EQ(rewrite::apply_redirects(vh.redirects, "/rel", "", "http://h").location, "http://h/target");
  EXPECT_EQ(rewrite::apply_redirects(vh.redirects, "/oldish", "", "http://h").action, rewrite::AliasOutcome::Action::None);
  auto a = rewrite::apply_aliases(vh.alias_rules, "/static/css/a.css");
  EXPECT_EQ(a.filename, "/srv/static/css/a.css");
  EXPECT_EQ(rewrite::apply_aliases(vh.alias_rules, "/u/ann/index.html").filename, "/home/ann/www/index.html");
  a = rewrite::apply_aliases(vh.alias_rules, "/cgi-bin/test.cgi");
  EXPECT_EQ(a.filename, "/usr/lib/cgi-bin/test.cgi");
  EXPECT_TRUE(a.script);
  EXPECT_EQ(rewrite::apply_aliases(vh.alias_rules, "/other").action, rewrite::AliasOutcome::Action::None);
}

TEST(Alias, ConfigErrorsNameTheLine) {
  auto r = config::load_config_text("Listen 127.0.0.1:0\nRedirect 301 /a\nRedirectMatch 410 ^/x /y\nAliasMatch ^(x /z\n",
                                    "a.conf");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_NE(r.errors[0].message.find("needs a target URL"), std::string::npos) << r.errors[0].message;
  EXPECT_EQ(r.errors[1].line, 3);
  EXPECT_EQ(r.errors[2].line, 4);
}

}  // namespace

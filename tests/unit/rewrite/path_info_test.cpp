// Per-directory rules with the filename split as Apache's directory walk
// splits it (rewrite::Input::path_info): each rule's pattern sees the
// current value with PATH_INFO appended, %{REQUEST_FILENAME} does not, and
// [DPI] stops the appending for the rest of the round.
#include <gtest/gtest.h>

#include "rewrite_fixture.h"

namespace {

using namespace rwtest;
using Action = pillar::rewrite::Outcome::Action;

rewrite::Outcome per_dir(const Compiled& c, FakeContext& ctx, std::string_view file, std::string_view info) {
  rewrite::Input in;
  in.path = file;
  in.path_info = info;
  in.document_root = "/srv/www";
  in.server_url = "http://example.com";
  return rewrite::run(c.set, ctx, in);
}

TEST(RewritePathInfo, PatternSeesItRequestFilenameDoesNot) {
  auto c = compile("RewriteEngine On\n"
                   "RewriteCond %{REQUEST_FILENAME} -f\n"
                   "RewriteRule ^index\\.php/(.*)$ /front.php?route=$1 [L]\n",
                   "/srv/www");
  ASSERT_TRUE(c->errors.empty());
  FakeContext ctx;
  ctx.files = {"/srv/www/index.php"};
  auto o = per_dir(*c, ctx, "/srv/www/index.php", "/blog/post");
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/front.php");
  EXPECT_EQ(o.query, "route=blog/post");
}

TEST(RewritePathInfo, WordPressLeavesIndexPhpWithPathInfoAlone) {
  auto c = compile("RewriteEngine On\nRewriteBase /\nRewriteRule ^index\\.php$ - [L]\n"
                   "RewriteCond %{REQUEST_FILENAME} !-f\nRewriteCond %{REQUEST_FILENAME} !-d\n"
                   "RewriteRule . /index.php [L]\n",
                   "/srv/www");
  FakeContext ctx;
  ctx.files = {"/srv/www/index.php"};
  ctx.dirs = {"/srv/www"};
  // /index.php/extra: the file exists, so index.php runs with its PATH_INFO (no internal redirect).
  EXPECT_EQ(per_dir(*c, ctx, "/srv/www/index.php", "/extra").action, Action::None);
  // A missing path is split at its first missing component, and still goes to the front controller.
  auto o = per_dir(*c, ctx, "/srv/www/2024", "/01/hello/");
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/index.php");
}

TEST(RewritePathInfo, AppendedAgainAfterASubstitutionUnlessDpi) {
  // Apache's documented pitfall: the second rule sees the first's result + PATH_INFO again.
  auto twice = compile("RewriteEngine On\nRewriteRule ^(.*)$ a/$1\nRewriteRule ^(.*)$ b/$1\n", "/srv/www");
  FakeContext ctx;
  auto o = per_dir(*twice, ctx, "/srv/www/x", "/p");
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/b/a/x/p/p");
  auto dpi = compile("RewriteEngine On\nRewriteRule ^(.*)$ a/$1 [DPI]\nRewriteRule ^(.*)$ b/$1\n", "/srv/www");
  auto d = per_dir(*dpi, ctx, "/srv/www/x", "/p");
  ASSERT_EQ(d.action, Action::Uri);
  EXPECT_EQ(d.uri, "/b/a/x/p") << "DPI: PATH_INFO no longer appended";
  // Without PATH_INFO both read the same.
  EXPECT_EQ(per_dir(*twice, ctx, "/srv/www/x", "").uri, "/b/a/x");
}

TEST(RewritePathInfo, ServerContextIgnoresIt) {
  auto c = compile("RewriteEngine On\nRewriteRule ^/(.*)$ /s/$1 [PT]\n");
  FakeContext ctx;
  rewrite::Input in;
  in.path = "/x";
  in.path_info = "/ignored";
  in.document_root = "/srv/www";
  auto o = rewrite::run(c->set, ctx, in);
  EXPECT_EQ(o.uri, "/s/x");
}

TEST(RewriteHandler, HFlagReachesTheOutcome) {
  auto c = compile("RewriteEngine On\nRewriteRule \\.php$ - [H=proxy:unix:/run/php.sock|fcgi://localhost]\n", "/srv/www");
  FakeContext ctx;
  auto o = per_dir(*c, ctx, "/srv/www/x.php", "");
  EXPECT_EQ(o.handler, "proxy:unix:/run/php.sock|fcgi://localhost");
  EXPECT_TRUE(per_dir(*c, ctx, "/srv/www/x.html", "").handler.empty());
}

}  // namespace

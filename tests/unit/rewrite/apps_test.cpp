// The rule sets real applications ship (WordPress, Drupal, Laravel), in a
// <Directory> for the DocumentRoot: a pretty URL goes to the front
// controller, files and directories that exist are served as they are.
#include <gtest/gtest.h>

#include "rewrite_fixture.h"

namespace {

using namespace rwtest;
using Action = pillar::rewrite::Outcome::Action;

rewrite::Outcome per_dir(const Compiled& c, FakeContext& ctx, std::string_view filename, std::string_view query = {}) {
  rewrite::Input in;
  in.path = filename;
  in.query = query;
  in.document_root = "/srv/www";
  in.server_url = "http://example.com";
  return rewrite::run(c.set, ctx, in);
}

constexpr const char* kWordPress = R"(
RewriteEngine On
RewriteBase /
RewriteRule ^index\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /index.php [L]
)";

TEST(RewriteApps, WordPressPrettyUrlGoesToIndexPhp) {
  auto c = compile(kWordPress, "/srv/www");
  ASSERT_TRUE(c->errors.empty());
  FakeContext ctx;
  ctx.files = {"/srv/www/index.php", "/srv/www/style.css"};
  ctx.dirs = {"/srv/www", "/srv/www/wp-admin"};
  auto o = per_dir(*c, ctx, "/srv/www/2024/01/hello-world/", "p=1");
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/index.php");
  EXPECT_FALSE(o.query_set);  // the query string stays
}

TEST(RewriteApps, WordPressLeavesFilesDirectoriesAndIndexAlone) {
  auto c = compile(kWordPress, "/srv/www");
  FakeContext ctx;
  ctx.files = {"/srv/www/index.php", "/srv/www/style.css"};
  ctx.dirs = {"/srv/www", "/srv/www/wp-admin"};
  EXPECT_EQ(per_dir(*c, ctx, "/srv/www/style.css").action, Action::None);
  EXPECT_EQ(per_dir(*c, ctx, "/srv/www/wp-admin").action, Action::None);
  EXPECT_EQ(per_dir(*c, ctx, "/srv/www/index.php").action, Action::None);  // [L] on the first rule
  EXPECT_EQ(per_dir(*c, ctx, "/srv/www/").action, Action::None);           // "." needs a character
}

TEST(RewriteApps, DrupalRelativeSubstitutionUnderTheDocumentRoot) {
  auto c = compile(R"(
RewriteEngine on
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteCond %{REQUEST_URI} !=/favicon.ico
RewriteRule ^ index.php [L]
)", "/srv/www");
  ASSERT_TRUE(c->errors.empty());
  FakeContext ctx;
  ctx.vars["REQUEST_URI"] = "/node/7";
  auto o = per_dir(*c, ctx, "/srv/www/node/7");
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/index.php");  // prefix added back, then the DocumentRoot stripped
  ctx.vars["REQUEST_URI"] = "/favicon.ico";
  EXPECT_EQ(per_dir(*c, ctx, "/srv/www/favicon.ico").action, Action::None);
}

constexpr const char* kLaravel = R"(
Options -MultiViews -Indexes
RewriteEngine On
RewriteCond %{HTTP:Authorization} .
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
RewriteCond %{REQUEST_FILENAME} !-d
RewriteCond %{REQUEST_URI} (.+)/$
RewriteRule ^ %1 [L,R=301]
RewriteCond %{REQUEST_FILENAME} !-d
RewriteCond %{REQUEST_FILENAME} !-f
RewriteRule ^ index.php [L]
)";

TEST(RewriteApps, LaravelTrailingSlashRedirectAndFrontController) {
  // "Options" is not a rewrite line: the fixture takes only Rewrite* lines.
  std::string text = kLaravel;
  text.erase(0, text.find("RewriteEngine"));
  auto c = compile(text, "/srv/www/public");
  ASSERT_TRUE(c->errors.empty());
  FakeContext ctx;
  ctx.headers["Authorization"] = "Bearer abc";
  ctx.vars["REQUEST_URI"] = "/users/";
  rewrite::Input in;
  in.path = "/srv/www/public/users/";
  in.document_root = "/srv/www/public";
  in.server_url = "http://example.com";
  auto o = rewrite::run(c->set, ctx, in);
  ASSERT_EQ(o.action, Action::Redirect);
  EXPECT_EQ(o.status, 301);
  EXPECT_EQ(o.location, "http://example.com/users");
  EXPECT_EQ(ctx.envs["HTTP_AUTHORIZATION"], "Bearer abc");

  ctx.vars["REQUEST_URI"] = "/users";
  in.path = "/srv/www/public/users";
  o = rewrite::run(c->set, ctx, in);
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/index.php");
}

TEST(RewriteApps, PerDirectoryPrefixIsStrippedAndRewriteBaseApplied) {
  auto c = compile("RewriteEngine On\nRewriteBase /app\nRewriteRule ^old/(.*)$ new/$1\n", "/srv/apps/app");
  FakeContext ctx;
  rewrite::Input in;
  in.path = "/srv/apps/app/old/page";
  in.document_root = "/srv/www";
  auto o = rewrite::run(c->set, ctx, in);
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/app/new/page");  // the directory is not under the DocumentRoot: RewriteBase says where
  // Without RewriteBase the filename is not a URL-path: it stays the path.
  auto nobase = compile("RewriteEngine On\nRewriteRule ^old/(.*)$ new/$1\n", "/srv/apps/app");
  o = rewrite::run(nobase->set, ctx, in);
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/srv/apps/app/new/page");
}

TEST(RewriteApps, PerDirectoryPatternDoesNotSeeTheLeadingSlash) {
  auto c = compile("RewriteEngine On\nRewriteRule ^/?about$ about.html [L]\nRewriteRule ^/x$ - [F]\n", "/srv/www");
  FakeContext ctx;
  auto o = per_dir(*c, ctx, "/srv/www/about");
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/about.html");
  EXPECT_EQ(per_dir(*c, ctx, "/srv/www/x").action, Action::None);  // "^/x" never matches per-directory
}

TEST(RewriteApps, RewriteToTheSameFilenameIsIgnored) {
  auto c = compile("RewriteEngine On\nRewriteRule ^(.*)$ $1\n", "/srv/www");
  FakeContext ctx;
  EXPECT_EQ(per_dir(*c, ctx, "/srv/www/a.html").action, Action::None);
}

// Drupal's "RewriteRule ^core/install\.php core/install.php?rewrite=ok [QSA,L]":
// the same file, a new query. Apache compares filenames only, so there is no
// internal redirect (which would run the rule again until the recursion
// limit), and the script gets the rule's query with the client's appended.
TEST(RewriteApps, RewriteToTheSameFilenameWithANewQueryKeepsTheQuery) {
  auto c = compile("RewriteEngine on\nRewriteRule ^core/install\\.php core/install.php?rewrite=ok [QSA,L]\n", "/srv/www");
  ASSERT_TRUE(c->errors.empty());
  FakeContext ctx;
  ctx.files = {"/srv/www/core/install.php"};
  auto o = per_dir(*c, ctx, "/srv/www/core/install.php", "langcode=en");
  EXPECT_EQ(o.action, Action::None);
  EXPECT_TRUE(o.query_set);
  EXPECT_EQ(o.query, "rewrite=ok&langcode=en");
  // Another file with a new query is still an internal redirect.
  auto other = compile("RewriteEngine on\nRewriteRule ^setup\\.php core/install.php?rewrite=ok [QSA,L]\n", "/srv/www");
  o = per_dir(*other, ctx, "/srv/www/setup.php", "langcode=en");
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/core/install.php");
  EXPECT_EQ(o.query, "rewrite=ok&langcode=en");
}

}  // namespace

// The .htaccess files real applications ship, run unchanged (issue 15):
// WordPress's generated block, Laravel's public/.htaccess and Drupal's web
// root .htaccess, copied in tests/fixtures/apps/ with their sources and
// licenses. Each is installed as the DocumentRoot's .htaccess under
// AllowOverride All; index.php runs in ParamEcho (a FastCGI stand-in), so a
// test sees which script ran and with which REQUEST_URI, PATH_INFO and
// HTTP_AUTHORIZATION, while static files and directories are served directly.
#include <fstream>
#include <sstream>

#include "htaccess_fixture.h"

namespace itest {
namespace {

class HtaccessApps : public Htaccess {
 protected:
  ParamEcho app;
  std::string fcgi = "proxy:fcgi://127.0.0.1:" + std::to_string(app.port());

  // tests/fixtures/apps/NAME.htaccess, byte for byte, as the docroot's .htaccess.
  void install(const std::string& name) {
    std::string path = std::string(PILLAR_FIXTURES) + "/apps/" + name + ".htaccess";
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << path;
    std::stringstream text;
    text << in.rdbuf();
    ASSERT_NE(text.str().find("RewriteEngine"), std::string::npos) << path;
    tree.write("www/.htaccess", text.str());
  }
  // AllowOverride All; Options +Indexes, so that a file's "Options -Indexes"
  // is what refuses a listing; .php files run in ParamEcho.
  std::string app_config() const {
    return config("All", "  Options +Indexes\n") + "<FilesMatch \\.php$>\n  SetHandler \"" + fcgi + "\"\n</FilesMatch>\n";
  }
  // SCRIPT_FILENAME as proxy_fcgi sends it for `file` (below the docroot).
  std::string ran(const std::string& file = "/index.php") const { return fcgi + docroot + file; }
  static bool has_param(const RawExchange& r, const std::string& name) {
    std::string names = "," + r.first().header("X-Param-Names") + ",";
    return names.find("," + name + ",") != std::string::npos;
  }
};

// ---- WordPress: the block WordPress writes for a site at / -------------------

TEST_F(HtaccessApps, WordPressPermalinksReachIndexPhp) {
  ASSERT_NO_FATAL_FAILURE(install("wordpress"));
  tree.write("www/wp-content/uploads/2024/01/photo.jpg", "jpeg\n");
  START_SERVER(srv, app_config());

  // A pretty permalink: index.php, which routes on REQUEST_URI as the client sent it.
  auto post = raw_get(srv.port(), "/2024/01/hello-world/?replytocom=7");
  ASSERT_EQ(post.first().status, 200) << post.data << srv.stderr_text();
  EXPECT_EQ(post.first().header("X-Script-Filename"), ran());
  EXPECT_EQ(post.first().header("X-Script-Name"), "/index.php");
  EXPECT_EQ(post.first().header("X-Request-Uri"), "/2024/01/hello-world/?replytocom=7");
  EXPECT_EQ(post.first().header("X-Query-String"), "replytocom=7");
  EXPECT_FALSE(has_param(post, "PATH_INFO")) << post.first().header("X-Param-Names");
  // A file that does not exist is WordPress's to answer too.
  EXPECT_EQ(raw_get(srv.port(), "/wp-content/uploads/gone.jpg").first().header("X-Script-Filename"), ran());

  // Static files and directories are served directly.
  auto css = raw_get(srv.port(), "/style.css");
  EXPECT_EQ(css.first().status, 200);
  EXPECT_EQ(css.first().body, "body{}\n");
  EXPECT_EQ(css.first().header("X-Param-Names"), "") << "not through the application";
  EXPECT_EQ(raw_get(srv.port(), "/wp-content/uploads/2024/01/photo.jpg").first().body, "jpeg\n");
  EXPECT_EQ(raw_get(srv.port(), "/wp-admin/").first().body, "admin dir\n");
  auto listing = raw_get(srv.port(), "/wp-content/uploads/");
  EXPECT_EQ(listing.first().status, 200) << "the block leaves Options alone: the listing <Directory> allows";
  EXPECT_NE(listing.first().body.find("2024"), std::string::npos) << listing.data;
  auto noslash = raw_get(srv.port(), "/wp-admin");
  EXPECT_EQ(noslash.first().status, 301) << "a directory is not WordPress's: mod_dir adds the slash\n" << noslash.data;
  EXPECT_TRUE(noslash.first().header("Location").ends_with("/wp-admin/")) << noslash.data;

  // "RewriteRule ^index\.php$ - [L]": index.php itself runs, with PATH_INFO when the path goes on.
  auto direct = raw_get(srv.port(), "/index.php?p=12");
  ASSERT_EQ(direct.first().status, 200) << direct.data;
  EXPECT_EQ(direct.first().header("X-Script-Filename"), ran());
  EXPECT_EQ(direct.first().header("X-Request-Uri"), "/index.php?p=12");
  auto info = raw_get(srv.port(), "/index.php/2024/01/hello-world/");
  ASSERT_EQ(info.first().status, 200) << info.data;
  EXPECT_EQ(info.first().header("X-Script-Name"), "/index.php");
  EXPECT_EQ(info.first().header("X-Path-Info"), "/2024/01/hello-world/");
  EXPECT_EQ(info.first().header("X-Request-Uri"), "/index.php/2024/01/hello-world/");

  // "[E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]": the REST API sees the credentials.
  auto api = raw_get(srv.port(), "/wp-json/wp/v2/posts", "localhost", "Authorization: Basic YWxpY2U6c2VjcmV0\r\n");
  ASSERT_EQ(api.first().status, 200) << api.data;
  EXPECT_EQ(api.first().header("X-Script-Filename"), ran());
  EXPECT_EQ(api.first().header("X-Http-Authorization"), "Basic YWxpY2U6c2VjcmV0");

  EXPECT_EQ(raw_get(srv.port(), "/.htaccess").first().status, 403);
}

// ---- Laravel: public/.htaccess ------------------------------------------------

TEST_F(HtaccessApps, LaravelRoutesThroughIndexPhp) {
  ASSERT_NO_FATAL_FAILURE(install("laravel"));
  tree.write("www/css/app.css", "app css\n");
  tree.mkdir("www/build");
  START_SERVER(srv, app_config());

  auto route = raw_get(srv.port(), "/users?page=2");
  ASSERT_EQ(route.first().status, 200) << route.data << srv.stderr_text();
  EXPECT_EQ(route.first().header("X-Script-Filename"), ran());
  EXPECT_EQ(route.first().header("X-Script-Name"), "/index.php");
  EXPECT_EQ(route.first().header("X-Request-Uri"), "/users?page=2");
  EXPECT_EQ(route.first().header("X-Query-String"), "page=2");
  EXPECT_FALSE(has_param(route, "PATH_INFO")) << route.first().header("X-Param-Names");
  auto deep = raw_get(srv.port(), "/api/users/7/edit");
  EXPECT_EQ(deep.first().header("X-Script-Filename"), ran());
  EXPECT_EQ(deep.first().header("X-Request-Uri"), "/api/users/7/edit");

  auto css = raw_get(srv.port(), "/css/app.css");
  EXPECT_EQ(css.first().status, 200);
  EXPECT_EQ(css.first().body, "app css\n");
  EXPECT_EQ(css.first().header("X-Param-Names"), "");
  // A directory keeps its slash and its index; without an index,
  // "Options -Indexes" (in <IfModule mod_negotiation.c>) refuses the listing.
  auto dir = raw_get(srv.port(), "/wp-admin/");
  EXPECT_EQ(dir.first().status, 200) << dir.data;
  EXPECT_EQ(dir.first().body, "admin dir\n");
  EXPECT_EQ(raw_get(srv.port(), "/build/").first().status, 403);
}

TEST_F(HtaccessApps, LaravelRedirectsTrailingSlashesAndPassesAuthorization) {
  ASSERT_NO_FATAL_FAILURE(install("laravel"));
  START_SERVER(srv, app_config());

  // "Redirect Trailing Slashes If Not A Folder...": 301 to the path without it, query kept.
  auto slash = raw_get(srv.port(), "/users/");
  EXPECT_EQ(slash.first().status, 301) << slash.data << srv.stderr_text();
  EXPECT_EQ(slash.first().header("Location"), "http://localhost/users");
  auto query = raw_get(srv.port(), "/users/7/?tab=posts");
  EXPECT_EQ(query.first().status, 301) << query.data;
  EXPECT_EQ(query.first().header("Location"), "http://localhost/users/7?tab=posts");

  // "Handle Authorization Header": after the front controller's [L], the
  // round for index.php reaches the last rule, and PHP gets HTTP_AUTHORIZATION.
  auto auth = raw_get(srv.port(), "/api/user", "localhost", "Authorization: Bearer t0k3n\r\n");
  ASSERT_EQ(auth.first().status, 200) << auth.data;
  EXPECT_EQ(auth.first().header("X-Script-Filename"), ran());
  EXPECT_EQ(auth.first().header("X-Http-Authorization"), "Bearer t0k3n");
  // No header, no variable (the condition is "%{HTTP:Authorization} .").
  auto none = raw_get(srv.port(), "/api/user");
  ASSERT_EQ(none.first().status, 200) << none.data;
  EXPECT_TRUE(has_param(none, "REQUEST_URI")) << none.first().header("X-Param-Names");
  EXPECT_FALSE(has_param(none, "HTTP_AUTHORIZATION")) << none.first().header("X-Param-Names");
}

// ---- Drupal: the web root's .htaccess -------------------------------------------

TEST_F(HtaccessApps, DrupalFrontControllerAndStaticFiles) {
  ASSERT_NO_FATAL_FAILURE(install("drupal"));
  tree.write("www/core/misc/drupal.js", "js\n");
  tree.write("www/core/rebuild.php", "<?php\n");
  tree.write("www/core/install.php", "<?php\n");
  tree.write("www/themes/custom/index.htm", "theme index\n");
  tree.mkdir("www/sites/default/files");
  tree.write("www/logo.svgz", "svgz\n");
  tree.write("www/photo.webp", "webp\n");
  START_SERVER(srv, app_config());

  auto node = raw_get(srv.port(), "/node/1?destination=admin");
  ASSERT_EQ(node.first().status, 200) << node.data << srv.stderr_text();
  EXPECT_EQ(node.first().header("X-Script-Filename"), ran());
  EXPECT_EQ(node.first().header("X-Script-Name"), "/index.php");
  EXPECT_EQ(node.first().header("X-Request-Uri"), "/node/1?destination=admin");
  EXPECT_EQ(node.first().header("X-Query-String"), "destination=admin");
  EXPECT_FALSE(has_param(node, "PATH_INFO")) << node.first().header("X-Param-Names");
  // "DirectoryIndex index.php index.html index.htm": the front page is index.php.
  auto home = raw_get(srv.port(), "/");
  ASSERT_EQ(home.first().status, 200) << home.data;
  EXPECT_EQ(home.first().header("X-Script-Filename"), ran());
  // index.php with a path after it: no rule touches it, and it runs with PATH_INFO.
  auto info = raw_get(srv.port(), "/index.php/node/1");
  ASSERT_EQ(info.first().status, 200) << info.data;
  EXPECT_EQ(info.first().header("X-Script-Filename"), ran());
  EXPECT_EQ(info.first().header("X-Path-Info"), "/node/1");
  EXPECT_EQ(info.first().header("X-Request-Uri"), "/index.php/node/1");
  // "RewriteCond %{REQUEST_URI} !=/favicon.ico": a missing favicon is a plain 404.
  auto favicon = raw_get(srv.port(), "/favicon.ico");
  EXPECT_EQ(favicon.first().status, 404);
  EXPECT_EQ(favicon.first().header("X-Param-Names"), "");

  auto js = raw_get(srv.port(), "/core/misc/drupal.js");
  EXPECT_EQ(js.first().status, 200);
  EXPECT_EQ(js.first().body, "js\n");
  EXPECT_EQ(js.first().header("X-Param-Names"), "");
  EXPECT_EQ(raw_get(srv.port(), "/themes/custom/").first().body, "theme index\n") << "index.htm, the third name";
  EXPECT_EQ(raw_get(srv.port(), "/sites/default/files/").first().status, 403) << "Options -Indexes";
  auto svgz = raw_get(srv.port(), "/logo.svgz");
  EXPECT_EQ(svgz.first().header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(svgz.first().header("Content-Encoding"), "gzip");
  EXPECT_EQ(raw_get(srv.port(), "/photo.webp").first().header("Content-Type"), "image/webp");

  // Scripts in /core run; install.php is rewritten to say mod_rewrite works, and moved there from the top.
  auto install = raw_get(srv.port(), "/core/install.php?langcode=en");
  ASSERT_EQ(install.first().status, 200) << install.data << srv.stderr_text();
  EXPECT_EQ(install.first().header("X-Script-Filename"), ran("/core/install.php"));
  EXPECT_EQ(install.first().header("X-Query-String"), "rewrite=ok&langcode=en");
  EXPECT_EQ(install.first().header("X-Request-Uri"), "/core/install.php?langcode=en");
  EXPECT_EQ(raw_get(srv.port(), "/core/rebuild.php").first().header("X-Script-Filename"), ran("/core/rebuild.php"));
  auto moved = raw_get(srv.port(), "/install.php?profile=standard");
  EXPECT_EQ(moved.first().status, 301) << moved.data;
  EXPECT_EQ(moved.first().header("Location"), "http://localhost/core/install.php?profile=standard");
  EXPECT_EQ(raw_get(srv.port(), "/rebuild.php").first().header("Location"), "http://localhost/core/rebuild.php");

  // "RewriteRule ^ - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]", unconditional: set, empty without the header.
  auto auth = raw_get(srv.port(), "/jsonapi/node/article", "localhost", "Authorization: Bearer abc\r\n");
  ASSERT_EQ(auth.first().status, 200) << auth.data;
  EXPECT_EQ(auth.first().header("X-Http-Authorization"), "Bearer abc");
  EXPECT_TRUE(has_param(node, "HTTP_AUTHORIZATION")) << node.first().header("X-Param-Names");
  EXPECT_TRUE(has_param(node, "protossl")) << "[E=protossl] sets an empty variable";
}

TEST_F(HtaccessApps, DrupalRefusesWhatItProtects) {
  ASSERT_NO_FATAL_FAILURE(install("drupal"));
  for (const char* f : {"composer.json", "composer.lock", "package.json", "package-lock.json", "yarn.lock", "web.config",
                        "core/modules/node/node.module", "core/modules/node/node.install", "core/includes/common.inc",
                        "core/themes/olivero/templates/page.html.twig", "sites/default/default.services.yml",
                        "core/scripts/drupal.sh", "dump.sql", "index.php~", "index.php.bak", "index.php.orig",
                        "#index.php#", "Entries.log", ".env", ".git/HEAD", ".well-known/security.txt", "README.md",
                        "sites/default/settings.php", "modules/custom/hello/hello.php", "autoload.php",
                        "core/lib/Drupal.php"})
    tree.write(std::string("www/") + f, std::string(f) + "\n");
  START_SERVER(srv, app_config());

  // The <FilesMatch> at the top: Require all denied (in <IfModule mod_authz_core.c>).
  for (const char* f : {"/composer.json", "/composer.lock", "/package.json", "/package-lock.json", "/yarn.lock",
                        "/web.config", "/core/modules/node/node.module", "/core/modules/node/node.install",
                        "/core/includes/common.inc", "/core/themes/olivero/templates/page.html.twig",
                        "/sites/default/default.services.yml", "/core/scripts/drupal.sh", "/dump.sql", "/index.php~",
                        "/index.php.bak", "/index.php.orig", "/%23index.php%23", "/Entries.log", "/.env", "/.htaccess"}) {
    auto r = raw_get(srv.port(), f);
    EXPECT_EQ(r.first().status, 403) << f << "\n" << r.data;
  }
  // 'RewriteRule "/\.|^\.(?!well-known/)" - [F]': hidden directories, but not .well-known.
  EXPECT_EQ(raw_get(srv.port(), "/.git/HEAD").first().status, 403);
  auto wk = raw_get(srv.port(), "/.well-known/security.txt");
  EXPECT_EQ(wk.first().status, 200) << wk.data;
  EXPECT_EQ(wk.first().body, ".well-known/security.txt\n");
  EXPECT_EQ(raw_get(srv.port(), "/README.md").first().body, "README.md\n") << "not everything is refused";
  // 'RewriteRule "^(.+/.*|autoload)\.php($|/)" - [F]': PHP files outside /core, and autoload.php.
  for (const char* f : {"/sites/default/settings.php", "/modules/custom/hello/hello.php", "/autoload.php",
                        "/core/lib/Drupal.php", "/sites/default/settings.php/x"}) {
    auto r = raw_get(srv.port(), f);
    EXPECT_EQ(r.first().status, 403) << f << "\n" << r.data;
    EXPECT_EQ(r.first().header("X-Param-Names"), "") << f << " ran";
  }
}

}  // namespace
}  // namespace itest

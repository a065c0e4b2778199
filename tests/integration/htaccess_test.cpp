// .htaccess files in the request path: a WordPress-style front controller
// and a Drupal-like one in a subdirectory, AllowOverride None ignoring the
// file, a directive its class does not allow (500, file:line in the error
// log), an edit seen by the next requests without a reload, nested files
// merged in Apache's order, Options=... limits, php_value reaching a
// FastCGI application as PHP_VALUE, and files too large or binary.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "htaccess_fixture.h"
#include "php_fpm.h"
#include "test_common.h"

namespace itest {
namespace {

TEST_F(Htaccess, WordPressRulesFromTheFile) {
  tree.write("www/.htaccess", wordpress_rules());
  START_SERVER(srv, config("All"));
  auto pretty = raw_get(srv.port(), "/2024/01/hello-world/?p=1");
  EXPECT_EQ(pretty.first().status, 200) << pretty.data;
  EXPECT_EQ(pretty.first().body, "front controller\n");
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().body, "body{}\n");
  EXPECT_EQ(raw_get(srv.port(), "/wp-admin/").first().body, "admin dir\n");
  EXPECT_EQ(raw_get(srv.port(), "/no-such.css").first().body, "front controller\n");
  // The file itself is never served.
  EXPECT_EQ(raw_get(srv.port(), "/.htaccess").first().status, 403);
}

// [L] ends the round and the rewritten URL is walked and its rules run again; [END] stops for good.
TEST_F(Htaccess, LastRunsTheRulesAgainEndDoesNot) {
  tree.write("www/b.txt", "b\n");
  tree.write("www/c.txt", "c\n");
  tree.write("www/.htaccess", "RewriteEngine On\n"
                              "RewriteRule ^a$ b.txt [L]\n"
                              "RewriteRule ^e$ b.txt [END]\n"
                              "RewriteRule ^b\\.txt$ c.txt [L]\n");
  START_SERVER(srv, config("FileInfo"));
  EXPECT_EQ(raw_get(srv.port(), "/a").first().body, "c\n") << "a -> b.txt, then the round for b.txt -> c.txt";
  EXPECT_EQ(raw_get(srv.port(), "/e").first().body, "b\n");
  EXPECT_EQ(raw_get(srv.port(), "/b.txt").first().body, "c\n");
}

TEST_F(Htaccess, FileInfoIsEnoughForRewriteRules) {
  tree.write("www/.htaccess", wordpress_rules());
  START_SERVER(srv, config("FileInfo"));
  EXPECT_EQ(raw_get(srv.port(), "/some/page").first().body, "front controller\n");
}

// A Drupal-like front controller installed in a subdirectory: RewriteBase,
// a condition on REQUEST_URI, DirectoryIndex, Options, FilesMatch denying
// what must not be downloaded, ErrorDocument.
TEST_F(Htaccess, DrupalLikeFrontControllerInASubdirectory) {
  tree.write("www/drupal/index.php", "drupal front\n");
  tree.write("www/drupal/core/misc.js", "js\n");
  tree.write("www/drupal/sites/default/settings.inc", "secret\n");
  tree.write("www/drupal/empty/.keep", "");
  tree.write("www/drupal/.htaccess",
             "<FilesMatch \"\\.(engine|inc|install|module|sh|sql|theme|twig|yml)$|^(composer\\.(json|lock))$\">\n"
             "  Require all denied\n"
             "</FilesMatch>\n"
             "Options -Indexes\n"
             "DirectoryIndex index.php index.html\n"
             "ErrorDocument 403 \"drupal says no\"\n"
             "<IfModule mod_rewrite.c>\n"
             "  RewriteEngine on\n"
             "  RewriteBase /drupal\n"
             "  RewriteCond %{REQUEST_FILENAME} !-f\n"
             "  RewriteCond %{REQUEST_FILENAME} !-d\n"
             "  RewriteCond %{REQUEST_URI} !=/drupal/favicon.ico\n"
             "  RewriteRule ^ index.php [L]\n"
             "</IfModule>\n");
  tree.write("www/drupal/composer.json", "{}\n");
  START_SERVER(srv, config("All", "  Options +Indexes\n"));
  auto node = raw_get(srv.port(), "/drupal/node/1");
  EXPECT_EQ(node.first().status, 200) << node.data;
  EXPECT_EQ(node.first().body, "drupal front\n");
  EXPECT_EQ(raw_get(srv.port(), "/drupal/").first().body, "drupal front\n") << "DirectoryIndex index.php first";
  EXPECT_EQ(raw_get(srv.port(), "/drupal/core/misc.js").first().body, "js\n");
  auto inc = raw_get(srv.port(), "/drupal/sites/default/settings.inc");
  EXPECT_EQ(inc.first().status, 403);
  EXPECT_EQ(inc.first().body, "drupal says no");
  EXPECT_EQ(raw_get(srv.port(), "/drupal/composer.json").first().status, 403);
  EXPECT_EQ(raw_get(srv.port(), "/drupal/empty/").first().status, 403) << "Options -Indexes from the file";
  EXPECT_EQ(raw_get(srv.port(), "/drupal/favicon.ico").first().status, 404) << "excluded by the REQUEST_URI condition";
  // Outside the subdirectory the file does not apply.
  EXPECT_EQ(raw_get(srv.port(), "/nothing-here").first().status, 404);
  EXPECT_EQ(raw_get(srv.port(), "/wp-admin/").first().status, 200);
}

// Rules equivalent to Laravel's public/.htaccess (written here): Options in
// a nested <IfModule>, the Authorization header kept as a variable, trailing
// slashes redirected away, the front controller.
TEST_F(Htaccess, LaravelStyleRules) {
  tree.write("www/.htaccess",
             "<IfModule mod_rewrite.c>\n"
             "  <IfModule mod_negotiation.c>\n"
             "    Options -MultiViews -Indexes\n"
             "  </IfModule>\n"
             "  RewriteEngine On\n"
             "  RewriteCond %{HTTP:Authorization} .\n"
             "  RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]\n"
             "  RewriteCond %{REQUEST_FILENAME} !-d\n"
             "  RewriteCond %{REQUEST_URI} (.+)/$\n"
             "  RewriteRule ^ %1 [L,R=301]\n"
             "  RewriteCond %{REQUEST_FILENAME} !-d\n"
             "  RewriteCond %{REQUEST_FILENAME} !-f\n"
             "  RewriteRule ^ index.php [L]\n"
             "</IfModule>\n");
  START_SERVER(srv, config("All"));
  auto slash = raw_get(srv.port(), "/users/");
  EXPECT_EQ(slash.first().status, 301) << slash.data;
  EXPECT_EQ(slash.first().header("Location"), "http://localhost/users");
  EXPECT_EQ(raw_get(srv.port(), "/users").first().body, "front controller\n");
  EXPECT_EQ(raw_get(srv.port(), "/wp-admin/").first().body, "admin dir\n") << "a directory keeps its slash";
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().body, "body{}\n");
}

TEST_F(Htaccess, FallbackResourceAndRedirectFromTheFile) {
  tree.write("www/.htaccess", "FallbackResource /index.php\nRedirectMatch 301 ^/old/(.*)$ /new/$1\n");
  START_SERVER(srv, config("Indexes FileInfo"));
  EXPECT_EQ(raw_get(srv.port(), "/no/such/page").first().body, "front controller\n");
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().body, "body{}\n");
  auto r = raw_get(srv.port(), "/old/x");
  EXPECT_EQ(r.first().status, 301);
  EXPECT_EQ(r.first().header("Location"), "http://localhost/new/x");
}

// mod_headers, mod_setenvif and mod_expires from a customer's file: FileInfo
// lets Header and SetEnvIf in, Indexes the Expires lines; a class not given is a 500.
TEST_F(Htaccess, HeadersSetEnvIfAndExpiresFromTheFile) {
  tree.write("www/.htaccess", "SetEnvIf Request_URI \\.css$ is_css\n"
                              "Header set X-From-File yes\n"
                              "Header set X-Css on env=is_css\n"
                              "ExpiresActive On\nExpiresByType text/css A60\n");
  START_SERVER(srv, config("FileInfo Indexes"));
  auto css = raw_get(srv.port(), "/style.css").first();
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.header("X-From-File"), "yes");
  EXPECT_EQ(css.header("X-Css"), "on");
  EXPECT_EQ(css.header("Cache-Control"), "max-age=60");
  auto php = raw_get(srv.port(), "/index.php").first();
  EXPECT_EQ(php.header("X-From-File"), "yes");
  EXPECT_EQ(php.header("X-Css"), "") << "SetEnvIf did not match";

  START_SERVER(narrow, config("FileInfo"));
  EXPECT_EQ(raw_get(narrow.port(), "/style.css").first().status, 500) << "Expires* need the Indexes class";
  EXPECT_TRUE(logged(narrow, docroot + "/.htaccess:4: ExpiresActive not allowed here")) << narrow.stderr_text();
}

TEST_F(Htaccess, AllowOverrideNoneIgnoresTheFile) {
  tree.write("www/.htaccess", "Require all denied\nThis is not even a directive\n");
  START_SERVER(srv, config("None"));
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().status, 200);
  // And Apache 2.4's default, no AllowOverride at all, is None too.
  START_SERVER(plain, basic_config(docroot, kPhpAsText));
  EXPECT_EQ(raw_get(plain.port(), "/style.css").first().status, 200);
}

TEST_F(Htaccess, DisallowedDirectiveIs500WithFileAndLine) {
  tree.write("www/.htaccess", "RewriteEngine On\n# a comment\nOptions +Indexes\n");
  tree.write("www/sub/.htaccess", "RewriteEngine On\nFrobnicate yes\n");
  tree.write("www/sub/x.txt", "x\n");
  tree.write("www/other/y.txt", "y\n");
  START_SERVER(srv, config("FileInfo"));
  auto r = raw_get(srv.port(), "/style.css");
  EXPECT_EQ(r.first().status, 500) << r.data;
  EXPECT_TRUE(logged(srv, docroot + "/.htaccess:3: Options not allowed here")) << srv.stderr_text();
  EXPECT_TRUE(logged(srv, "does not include Options")) << srv.stderr_text();
  // The whole tree below answers 500; an unknown name is Apache's "Invalid command".
  EXPECT_EQ(raw_get(srv.port(), "/sub/x.txt").first().status, 500);
  EXPECT_EQ(raw_get(srv.port(), "/other/y.txt").first().status, 500);
}

TEST_F(Htaccess, InvalidCommandNamesItsLineAndOtherTreesStillServe) {
  tree.write("www/sub/.htaccess", "RewriteEngine On\nFrobnicate yes\n");
  tree.write("www/sub/x.txt", "x\n");
  START_SERVER(srv, config("All"));
  EXPECT_EQ(raw_get(srv.port(), "/sub/x.txt").first().status, 500);
  EXPECT_TRUE(logged(srv, docroot + "/sub/.htaccess:2: Invalid command 'Frobnicate'")) << srv.stderr_text();
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().status, 200) << "only the broken file's tree answers 500";
  // Nonfatal=Unknown: the same file is read with a warning.
  START_SERVER(lax, config("All Nonfatal=Unknown"));
  EXPECT_EQ(raw_get(lax.port(), "/sub/x.txt").first().status, 200);
}

TEST_F(Htaccess, EditIsSeenWithoutAReload) {
  tree.write("www/.htaccess", "Redirect /old /first\n");
  START_SERVER(srv, config("FileInfo AuthConfig") + "StartServers 2\n");
  EXPECT_EQ(raw_get(srv.port(), "/old").first().header("Location"), "http://localhost/first");
  tree.write("www/.htaccess", "Redirect /old /second-target\n");
  // Every worker (and each of its threads) sees the new file: poll a few answers in a row.
  EXPECT_TRUE(eventually([&] {
    for (int i = 0; i < 6; ++i) {
      if (raw_get(srv.port(), "/old").first().header("Location") != "http://localhost/second-target") return false;
    }
    return true;
  }, 5s));
  // A file created in a subdirectory is read by the next requests too; removing it undoes it.
  tree.write("www/wp-admin/.htaccess", "Require all denied\n");
  EXPECT_TRUE(eventually([&] { return raw_get(srv.port(), "/wp-admin/").first().status == 403; }, 5s));
  ::unlink(tree.path("www/wp-admin/.htaccess").c_str());
  EXPECT_TRUE(eventually([&] { return raw_get(srv.port(), "/wp-admin/").first().status == 200; }, 5s));
  // The same size and a new mtime is a new file, too.
  tree.write("www/.htaccess", "Redirect /old /third-target\n");
  tree.set_mtime("www/.htaccess", time(nullptr) + 10);
  EXPECT_TRUE(eventually([&] { return raw_get(srv.port(), "/old").first().header("Location") == "http://localhost/third-target"; }, 5s));
}

// Nested files merge after the <Directory> sections of their level, a
// deeper file overriding its parent's settings; a deeper <Directory> in
// httpd.conf overrides a shallower .htaccess.
TEST_F(Htaccess, NestedFilesMergeInApachesOrder) {
  tree.write("www/.htaccess",
             "ErrorDocument 404 \"root-404\"\n"
             "AddType text/x-root .dat\n"
             "RewriteEngine On\n"
             "RewriteRule ^(.*/)?alias-(.*)$ $1$2.dat [L]\n"
             "Require all granted\n");
  tree.write("www/a.dat", "a\n");
  tree.write("www/sub/b.dat", "b\n");
  tree.write("www/sub/.htaccess", "ErrorDocument 404 \"sub-404\"\n");
  tree.write("www/own/c.dat", "c\n");
  tree.write("www/own/.htaccess", "RewriteEngine On\nRewriteRule ^other-(.*)$ $1.dat [L]\nAddType text/x-own .dat\n");
  tree.write("www/secret/s.dat", "s\n");
  START_SERVER(srv, config("All") + "<Directory \"" + docroot + "/secret\">\n  Require all denied\n</Directory>\n");
  EXPECT_EQ(raw_get(srv.port(), "/nope").first().body, "root-404");
  EXPECT_EQ(raw_get(srv.port(), "/sub/nope").first().body, "sub-404");
  EXPECT_EQ(raw_get(srv.port(), "/own/nope").first().body, "root-404") << "inherited from the parent file";
  auto sub = raw_get(srv.port(), "/sub/b.dat");
  EXPECT_EQ(sub.first().header("Content-Type"), "text/x-root") << "AddType inherited";
  EXPECT_EQ(raw_get(srv.port(), "/own/c.dat").first().header("Content-Type"), "text/x-own");
  // The parent's rules run in a subdirectory without rewrite directives, with the parent's prefix
  // (the pattern sees "sub/alias-b") ...
  auto alias_sub = raw_get(srv.port(), "/sub/alias-b");
  EXPECT_EQ(alias_sub.first().status, 200) << alias_sub.data;
  EXPECT_EQ(alias_sub.first().body, "b\n");
  // ... and a subdirectory with its own replaces them (no RewriteOptions Inherit).
  EXPECT_EQ(raw_get(srv.port(), "/own/other-c").first().body, "c\n");
  EXPECT_EQ(raw_get(srv.port(), "/own/alias-c").first().status, 404);
  EXPECT_EQ(raw_get(srv.port(), "/alias-a").first().body, "a\n");
  EXPECT_EQ(raw_get(srv.port(), "/secret/s.dat").first().status, 403) << "the deeper <Directory> wins over the file above";
}

TEST_F(Htaccess, OptionsEqualsLimitsWhatTheFileMaySet) {
  tree.write("www/list/.htaccess", "Options +Indexes\n");
  tree.write("www/list/f.txt", "f\n");
  tree.write("www/cgi/.htaccess", "Options +ExecCGI\n");
  tree.write("www/cgi/g.txt", "g\n");
  START_SERVER(srv, config("Options=Indexes"));
  auto list = raw_get(srv.port(), "/list/");
  EXPECT_EQ(list.first().status, 200) << list.data;
  EXPECT_NE(list.first().body.find("f.txt"), std::string::npos);
  EXPECT_EQ(raw_get(srv.port(), "/cgi/g.txt").first().status, 500);
  EXPECT_TRUE(logged(srv, docroot + "/cgi/.htaccess:1: Option ExecCGI not allowed here")) << srv.stderr_text();
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().status, 200);
}

TEST_F(Htaccess, AllowOverrideListAloneLetsInTheNamedDirectives) {
  tree.write("www/.htaccess", "Redirect /old /new\n");
  tree.write("www/sub/.htaccess", "RewriteEngine On\n");
  tree.write("www/sub/x.txt", "x\n");
  START_SERVER(srv, config("None", "  AllowOverrideList Redirect RedirectMatch\n"));
  EXPECT_EQ(raw_get(srv.port(), "/old").first().status, 302);
  EXPECT_EQ(raw_get(srv.port(), "/sub/x.txt").first().status, 500);
  EXPECT_TRUE(logged(srv, "/sub/.htaccess:1: RewriteEngine not allowed here")) << srv.stderr_text();
}

TEST_F(Htaccess, HugeOrBinaryFileIs500AndTheWorkerGoesOn) {
  tree.write("www/big/.htaccess", "# " + std::string(300 * 1024, 'x') + "\n");
  tree.write("www/big/x.txt", "x\n");
  tree.write("www/bin/.htaccess", std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0", 12) + std::string(2000, '\xff'));
  tree.write("www/bin/y.txt", "y\n");
  START_SERVER(srv, config("All") + "StartServers 1\nServerLimit 1\nEventThreadsPerChild 1\n");
  EXPECT_EQ(raw_get(srv.port(), "/big/x.txt").first().status, 500);
  EXPECT_TRUE(logged(srv, "/big/.htaccess: is 307")) << srv.stderr_text();
  EXPECT_EQ(raw_get(srv.port(), "/bin/y.txt").first().status, 500);
  // Tags nested thousands deep within the size cap: refused, not a stack overflow.
  tree.write("www/deep/.htaccess", [] {
    std::string t;
    for (int i = 0; i < 25000; ++i) t += "<A>\n";
    for (int i = 0; i < 25000; ++i) t += "</A>\n";
    return t;
  }());
  tree.write("www/deep/z.txt", "z\n");
  EXPECT_EQ(raw_get(srv.port(), "/deep/z.txt").first().status, 500);
  EXPECT_TRUE(logged(srv, "/deep/.htaccess:65: <A> is nested more than 64 sections deep")) << srv.stderr_text();
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().status, 200) << "the one worker still serves";
}

TEST_F(Htaccess, AccessFileNameNamesTheFile) {
  tree.write("www/.acl", "Redirect /old /acl\n");
  tree.write("www/.htaccess", "Redirect /old /htaccess\n");
  START_SERVER(srv, config("All") + "AccessFileName .acl\n");
  EXPECT_EQ(raw_get(srv.port(), "/old").first().header("Location"), "http://localhost/acl");
  EXPECT_EQ(raw_get(srv.port(), "/.acl").first().status, 403) << "the access file is never served";
}

TEST_F(Htaccess, ConfigCheckRefusesAllowOverrideOutsideDirectory) {
  std::string path;
  auto r = check_config(basic_config(docroot, "<Location />\n  AllowOverride All\n</Location>\n"), &path);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(path + ":5: AllowOverride is not allowed in <Location>"), std::string::npos) << r.err;
  auto ok = check_config(config("AuthConfig FileInfo Indexes Limit Options=Indexes,FollowSymLinks Nonfatal=Override",
                                "  AllowOverrideList Redirect\n"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

// ---- php_value to a FastCGI application -------------------------------------

TEST_F(Htaccess, PhpValueReachesTheFastCgiApplication) {
  ParamEcho app;
  std::string handler = "\"proxy:fcgi://127.0.0.1:" + std::to_string(app.port()) + "\"";
  tree.write("www/app/index.php", "<?php\n");
  tree.write("www/app/.htaccess",
             "php_value memory_limit 64M\n"
             "php_flag display_errors on\n"
             "php_value open_basedir /\n");  // the admin's php_admin_value wins
  tree.write("www/app/deep/page.php", "<?php\n");
  tree.write("www/app/deep/.htaccess", "php_value memory_limit 128M\n");
  tree.write("www/app2/.htaccess", "<FilesMatch \\.php$>\n  SetHandler \"proxy:fcgi://127.0.0.1:1\"\n</FilesMatch>\n");
  tree.write("www/app2/x.php", "<?php\n");
  START_SERVER(srv, basic_config(docroot, "<FilesMatch \\.php$>\n  SetHandler " + handler + "\n</FilesMatch>\n"
                                          "<Directory \"" + docroot + "\">\n  AllowOverride All\n"
                                          "  php_admin_value open_basedir /srv/www\n</Directory>\n"));
  auto r = raw_get(srv.port(), "/app/index.php");
  ASSERT_EQ(r.first().status, 200) << r.data;
  EXPECT_EQ(r.first().body,
            "[PHP_VALUE]\nmemory_limit=64M\ndisplay_errors=1\n[PHP_ADMIN_VALUE]\nopen_basedir=/srv/www\n");
  auto deep = raw_get(srv.port(), "/app/deep/page.php");
  ASSERT_EQ(deep.first().status, 200) << deep.data;
  EXPECT_EQ(deep.first().body, "[PHP_VALUE]\nmemory_limit=128M\ndisplay_errors=1\n[PHP_ADMIN_VALUE]\nopen_basedir=/srv/www\n");
  // No php_value there: nothing sent.
  tree.write("www/plain.php", "<?php\n");
  EXPECT_EQ(raw_get(srv.port(), "/plain.php").first().body, "[PHP_ADMIN_VALUE]\nopen_basedir=/srv/www\n");
  // An .htaccess cannot point the handler at an application the admin did not configure.
  EXPECT_EQ(raw_get(srv.port(), "/app2/x.php").first().status, 500);
  EXPECT_TRUE(logged(srv, "/app2/.htaccess:2: SetHandler proxy:fcgi://127.0.0.1:1 in .htaccess names a FastCGI"))
      << srv.stderr_text();
}

// The real thing: PHP-FPM applies what php_value / php_admin_value sent.
TEST_F(Htaccess, PhpFpmAppliesPhpValueFromTheFile) {
  START_FPM(fpm, tree);
  tree.write("www/ini.php", "<?php echo ini_get('precision'), ' ', ini_get('default_charset'), ' ', ini_get('user_agent');\n");
  tree.write("www/.htaccess", "php_value precision 7\nphp_value default_charset ISO-8859-15\nphp_value user_agent from-htaccess\n");
  ::chmod(tree.root().c_str(), 0755);
  START_SERVER(srv, basic_config(docroot, "<FilesMatch \\.php$>\n  SetHandler \"proxy:unix:" + fpm.socket() +
                                          "|fcgi://localhost\"\n</FilesMatch>\n<Directory \"" + docroot +
                                          "\">\n  AllowOverride FileInfo Options\n  php_admin_value user_agent from-admin\n</Directory>\n"));
  auto r = raw_get(srv.port(), "/ini.php");
  ASSERT_EQ(r.first().status, 200) << r.data << srv.stderr_text();
  EXPECT_EQ(r.first().body, "7 ISO-8859-15 from-admin");
}

// AuthType Basic (mod_auth_basic) joined .htaccess by declaring its class: AuthConfig.
TEST_F(Htaccess, BasicAuthenticationFromTheFile) {
  if (::access("/usr/bin/htpasswd", X_OK) != 0) GTEST_SKIP() << "htpasswd is not installed (apache2-utils)";
  std::string users = tree.path("users");
  ASSERT_EQ(std::system(("htpasswd -c -b -B -C 4 '" + users + "' alice secret >/dev/null 2>&1").c_str()), 0);
  tree.write("www/private/doc.txt", "private\n");
  tree.write("www/private/.htaccess", "AuthType Basic\nAuthName \"Members\"\nAuthUserFile \"" + users +
                                          "\"\n<RequireAny>\n  Require user alice\n</RequireAny>\n");
  START_SERVER(srv, config("AuthConfig"));
  auto anon = raw_get(srv.port(), "/private/doc.txt");
  EXPECT_EQ(anon.first().status, 401) << anon.data;
  EXPECT_EQ(anon.first().header("WWW-Authenticate"), "Basic realm=\"Members\"");
  auto ok = raw_get(srv.port(), "/private/doc.txt", "localhost", "Authorization: Basic YWxpY2U6c2VjcmV0\r\n");
  EXPECT_EQ(ok.first().status, 200) << ok.data;
  EXPECT_EQ(ok.first().body, "private\n");
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().status, 200) << "outside the directory: no authentication";
  // Without AuthConfig the same file is refused.
  START_SERVER(fi, config("FileInfo"));
  EXPECT_EQ(raw_get(fi.port(), "/private/doc.txt").first().status, 500);
}

TEST_F(Htaccess, PhpAdminValueIsNotAllowedInTheFile) {
  tree.write("www/.htaccess", "php_admin_value open_basedir /\n");
  START_SERVER(srv, config("All"));
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().status, 500);
  EXPECT_TRUE(logged(srv, "/.htaccess:1: php_admin_value not allowed here: it cannot be used in .htaccess files"))
      << srv.stderr_text();
}

// ---- H=, DPI, PATH_INFO, <Location> rules --------------------------------------

TEST_F(Htaccess, HandlerFlagRunsTheFileInAConfiguredApplication) {
  ParamEcho app;
  std::string url = "proxy:fcgi://127.0.0.1:" + std::to_string(app.port());
  tree.write("www/page.tpl", "template source\n");
  tree.write("www/.htaccess", "RewriteEngine On\nRewriteRule \\.tpl$ - [H=" + url + "]\n"
                              "RewriteRule \\.src$ - [H=proxy:fcgi://127.0.0.1:1]\n");
  tree.write("www/other.src", "other source\n");
  // The application is one this vhost uses (the <Location>), so H= may name it.
  START_SERVER(srv, config("All") + "<Location /app>\n  SetHandler \"" + url + "\"\n</Location>\n");
  auto r = raw_get(srv.port(), "/page.tpl");
  ASSERT_EQ(r.first().status, 200) << r.data;
  EXPECT_EQ(r.first().header("X-Script-Filename"), url + docroot + "/page.tpl");
  EXPECT_NE(r.first().body, "template source\n");
  // A handler naming an application the configuration does not use: the default handler, as Apache's "handler not found".
  auto o = raw_get(srv.port(), "/other.src");
  EXPECT_EQ(o.first().body, "other source\n");
  EXPECT_TRUE(logged(srv, "[H=proxy:fcgi://127.0.0.1:1]: handler not found")) << srv.stderr_text();
}

TEST_F(Htaccess, FrontControllerGetsItsPathInfo) {
  ParamEcho app;
  tree.write("www/.htaccess", wordpress_rules());
  START_SERVER(srv, config("All") + "<FilesMatch \\.php$>\n  SetHandler \"proxy:fcgi://127.0.0.1:" +
                        std::to_string(app.port()) + "\"\n</FilesMatch>\n");
  // /index.php/extra: index.php exists, so the rules leave it and it runs with PATH_INFO (Apache's split).
  auto r = raw_get(srv.port(), "/index.php/extra/path");
  ASSERT_EQ(r.first().status, 200) << r.data;
  EXPECT_EQ(r.first().header("X-Path-Info"), "/extra/path");
  auto pretty = raw_get(srv.port(), "/2024/01/hello/");
  ASSERT_EQ(pretty.first().status, 200) << pretty.data;
  EXPECT_EQ(pretty.first().header("X-Script-Filename"),
            "proxy:fcgi://127.0.0.1:" + std::to_string(app.port()) + docroot + "/index.php");
}

TEST_F(Htaccess, PathInfoAppendedPerRuleUnlessDpi) {
  tree.write("www/plain/.htaccess", "RewriteEngine On\nRewriteRule ^x(.*)$ y$1\nRewriteRule ^(y.*)$ /show/$1 [R=302,L]\n");
  tree.write("www/dpi/.htaccess", "RewriteEngine On\nRewriteRule ^x(.*)$ y$1 [DPI]\nRewriteRule ^(y.*)$ /show/$1 [R=302,L]\n");
  START_SERVER(srv, config("All"));
  // xfile does not exist: the filename stops there, "/p" is PATH_INFO, and the second rule sees it again.
  EXPECT_EQ(raw_get(srv.port(), "/plain/xfile/p").first().header("Location"), "http://localhost/show/yfile/p/p");
  EXPECT_EQ(raw_get(srv.port(), "/dpi/xfile/p").first().header("Location"), "http://localhost/show/yfile/p");
}

TEST_F(Htaccess, RulesInALocation) {
  tree.write("www/app/new.txt", "new\n");
  tree.write("www/top.txt", "top\n");
  START_SERVER(srv, basic_config(docroot, "<Location /app>\n  RewriteEngine On\n"
                                          "  RewriteRule app/old$ new.txt [L]\n"
                                          "  RewriteRule app/up$ /top.txt [L]\n</Location>\n"));
  // The pattern sees the whole filename; a relative substitution gets the location's path back.
  auto r = raw_get(srv.port(), "/app/old");
  EXPECT_EQ(r.first().status, 200) << r.data;
  EXPECT_EQ(r.first().body, "new\n");
  EXPECT_EQ(raw_get(srv.port(), "/app/up").first().body, "top\n");
  EXPECT_EQ(raw_get(srv.port(), "/old").first().status, 404) << "only requests routed to the <Location>";
}

// ---- RewriteMap prg: --------------------------------------------------------

namespace prg {

// The helper: "val-KEY" for a key, NULL for "none", a long sleep for
// "hang"; it tells stderr (the server's) each key it got and its pid.
const char* kHelper =
    "#!/usr/bin/python3\n"
    "import os, sys, time\n"
    "sys.stderr.write('prg-helper ready pid=%d\\n' % os.getpid()); sys.stderr.flush()\n"
    "for line in sys.stdin:\n"
    "    key = line.rstrip('\\n')\n"
    "    sys.stderr.write('prg-helper got %s\\n' % key); sys.stderr.flush()\n"
    "    if key == 'hang':\n"
    "        time.sleep(30)\n"
    "    sys.stdout.write('NULL\\n' if key == 'none' else 'val-' + key + '\\n'); sys.stdout.flush()\n";

// The pid of the last helper that said it was ready (0: none yet).
pid_t last_ready(const ServerProcess& srv) {
  std::string err = srv.stderr_text();
  size_t at = err.rfind("prg-helper ready pid=");
  return at == std::string::npos ? 0 : static_cast<pid_t>(std::stol(err.substr(at + 21)));
}

std::string looked_up(uint16_t port, const std::string& key) {
  return raw_get(port, "/m/" + key).first().header("Location");
}

}  // namespace prg

TEST_F(Htaccess, PrgMapHelperAnswersAndIsRestartedWhenKilled) {
  std::string helper = tree.write("helper.py", prg::kHelper);
  ::chmod(helper.c_str(), 0755);
  START_SERVER(srv, basic_config(docroot, "StartServers 2\nPillarRewriteMapTimeout 3s\n"
                                          "RewriteEngine On\nRewriteMap up prg:" + helper + "\n"
                                          "RewriteRule ^/m/(.*)$ /show?v=${up:$1|DEFAULT} [R=302,L]\n"));
  ASSERT_TRUE(eventually([&] { return prg::last_ready(srv) > 0; }, 5s)) << srv.stderr_text();
  EXPECT_EQ(prg::looked_up(srv.port(), "x"), "http://localhost/show?v=val-x") << srv.stderr_text();
  EXPECT_EQ(prg::looked_up(srv.port(), "none"), "http://localhost/show?v=DEFAULT") << "NULL: the default";
  // Several connections (both workers) share the one helper, answers in order.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(prg::looked_up(srv.port(), "k" + std::to_string(i)), "http://localhost/show?v=val-k" + std::to_string(i));

  // Killed while idle: the master starts another; lookups work again.
  pid_t first = prg::last_ready(srv);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return prg::last_ready(srv) != first && prg::last_ready(srv) > 0; }, 5s)) << srv.stderr_text();
  EXPECT_TRUE(eventually([&] { return prg::looked_up(srv.port(), "y") == "http://localhost/show?v=val-y"; }, 5s))
      << srv.stderr_text();

  // Killed in the middle of a lookup: that request answers the default at once (well before
  // the 3 s timeout), the next ones are answered by the restarted helper.
  pid_t second = prg::last_ready(srv);
  std::string pending;
  std::chrono::steady_clock::duration took{};
  std::thread t([&] {
    auto t0 = std::chrono::steady_clock::now();
    pending = prg::looked_up(srv.port(), "hang");
    took = std::chrono::steady_clock::now() - t0;
  });
  bool asked = eventually([&] { return srv.stderr_text().find("prg-helper got hang") != std::string::npos; }, 5s);
  auto killed_at = std::chrono::steady_clock::now();
  ::kill(second, SIGKILL);
  t.join();
  ASSERT_TRUE(asked) << srv.stderr_text();
  EXPECT_EQ(pending, "http://localhost/show?v=DEFAULT") << srv.stderr_text();
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 2s) << "the lookup did not wait out its timeout";
  EXPECT_TRUE(eventually([&] { return prg::looked_up(srv.port(), "z") == "http://localhost/show?v=val-z"; }, 5s))
      << srv.stderr_text();
  EXPECT_TRUE(eventually([&] { return prg::last_ready(srv) != second; })) << "the answer came from a new helper";
}

TEST_F(Htaccess, PrgMapLookupThatTimesOutAnswersTheDefault) {
  std::string helper = tree.write("helper.py", prg::kHelper);
  ::chmod(helper.c_str(), 0755);
  START_SERVER(srv, basic_config(docroot, "StartServers 1\nServerLimit 1\nEventThreadsPerChild 1\nPillarRewriteMapTimeout 300ms\n"
                                          "RewriteEngine On\nRewriteMap up prg:" + helper + "\n"
                                          "RewriteRule ^/m/(.*)$ /show?v=${up:$1|DEFAULT} [R=302,L]\n"));
  ASSERT_TRUE(eventually([&] { return prg::last_ready(srv) > 0; }, 5s)) << srv.stderr_text();
  pid_t first = prg::last_ready(srv);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(prg::looked_up(srv.port(), "hang"), "http://localhost/show?v=DEFAULT");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(logged(srv, "did not answer in time")) << srv.stderr_text();
  // The slow helper is replaced, so its late answer is never taken for the next key's.
  EXPECT_TRUE(eventually([&] { return prg::looked_up(srv.port(), "after") == "http://localhost/show?v=val-after"; }, 5s))
      << srv.stderr_text();
  EXPECT_TRUE(eventually([&] { return prg::last_ready(srv) != first; })) << srv.stderr_text();
}

TEST_F(Htaccess, PrgMapConfigErrors) {
  std::string path;
  auto r = check_config(basic_config(docroot, "RewriteEngine On\nRewriteMap up prg:/no/such/helper\n"), &path);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(path + ":5: RewriteMap up: /no/such/helper is not an executable file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace itest

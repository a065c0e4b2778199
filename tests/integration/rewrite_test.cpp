// mod_rewrite in the request path: WordPress's rules in a <Directory>
// inside <IfModule mod_rewrite.c>, server-context redirects with QSA, F, G,
// [P] to a balancer, E= in the access log, the bounded internal-redirect
// loop, a catastrophic regex answered 500 without stalling the worker, and
// `pillar -t` naming a bad rule's file:line.
#include <chrono>
#include <memory>
#include <sstream>

#include "backend.h"
#include "test_common.h"

namespace itest {
namespace {

// index.php stands in for a PHP front controller and is served as a file
// (there is no FastCGI here), which ScriptSourceGuard would refuse.
const std::string kPhpAsText = "ScriptSourceGuard Off\n";

class Rewrite : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::string logdir = tree.mkdir("logs");

  void SetUp() override {
    tree.write("www/index.php", "front controller index.php\n");
    tree.write("www/style.css", "body{}\n");
    tree.write("www/wp-admin/index.html", "admin dir\n");
  }

  std::string wordpress() const {
    return "<Directory \"" + docroot + "\">\n"
           "  <IfModule mod_rewrite.c>\n"
           "  RewriteEngine On\n"
           "  RewriteBase /\n"
           "  RewriteRule ^index\\.php$ - [L]\n"
           "  RewriteCond %{REQUEST_FILENAME} !-f\n"
           "  RewriteCond %{REQUEST_FILENAME} !-d\n"
           "  RewriteRule . /index.php [L]\n"
           "  </IfModule>\n"
           "</Directory>\n";
  }
};

TEST_F(Rewrite, WordPressPrettyUrlReachesIndexPhpFilesAndDirectoriesPass) {
  START_SERVER(srv, basic_config(docroot, kPhpAsText + wordpress()));
  auto pretty = raw_get(srv.port(), "/2024/01/hello-world/?p=1");
  EXPECT_EQ(pretty.first().status, 200) << pretty.data;
  EXPECT_EQ(pretty.first().body, "front controller index.php\n");
  auto file = raw_get(srv.port(), "/style.css");
  EXPECT_EQ(file.first().status, 200);
  EXPECT_EQ(file.first().body, "body{}\n");
  auto dir = raw_get(srv.port(), "/wp-admin/");
  EXPECT_EQ(dir.first().status, 200);
  EXPECT_EQ(dir.first().body, "admin dir\n");
  auto missing = raw_get(srv.port(), "/no-such.css");
  EXPECT_EQ(missing.first().body, "front controller index.php\n");
}

// A RewriteCond on a request header that held puts the header in Vary (the
// answer depends on it), as mod_rewrite; not when it failed, nor with [NV].
TEST_F(Rewrite, ConditionsOnRequestHeadersThatHeldAddThemToVary) {
  tree.write("www/mobile.html", "mobile\n");
  tree.write("www/home.html", "home\n");
  START_SERVER(srv, basic_config(docroot, "RewriteEngine On\n"
                                          "RewriteCond %{HTTP_USER_AGENT} iPhone\n"
                                          "RewriteCond %{HTTP:X-Variant} ^b$\n"
                                          "RewriteRule ^/$ /mobile.html [L]\n"
                                          "RewriteCond %{HTTP_REFERER} example [NV]\n"
                                          "RewriteRule ^/home$ /home.html [L]\n"));
  auto m = raw_get(srv.port(), "/", "localhost", "User-Agent: iPhone\r\nX-Variant: b\r\n");
  EXPECT_EQ(m.first().body, "mobile\n");
  EXPECT_EQ(m.first().header("Vary"), "User-Agent, X-Variant") << m.data;
  auto other = raw_get(srv.port(), "/", "localhost", "User-Agent: Firefox\r\n");
  EXPECT_FALSE(other.first().has("Vary")) << other.data;
  auto nv = raw_get(srv.port(), "/home", "localhost", "Referer: http://example/\r\n");
  EXPECT_EQ(nv.first().body, "home\n");
  EXPECT_FALSE(nv.first().has("Vary")) << nv.data;
}

// Laravel's public/.htaccess, in its <Directory>: the Authorization header
// kept as a variable, a trailing slash redirected away, the front controller.
TEST_F(Rewrite, LaravelRulesInDirectory) {
  std::string conf = "LogFormat \"%U %{HTTP_AUTHORIZATION}e\" auth\n"
                     "CustomLog \"" + logdir + "/access.log\" auth\n"
                     "<Directory \"" + docroot + "\">\n"
                     "  <IfModule mod_rewrite.c>\n"
                     "    RewriteEngine On\n"
                     "    RewriteCond %{HTTP:Authorization} .\n"
                     "    RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]\n"
                     "    RewriteCond %{REQUEST_FILENAME} !-d\n"
                     "    RewriteCond %{REQUEST_URI} (.+)/$\n"
                     "    RewriteRule ^ %1 [L,R=301]\n"
                     "    RewriteCond %{REQUEST_FILENAME} !-d\n"
                     "    RewriteCond %{REQUEST_FILENAME} !-f\n"
                     "    RewriteRule ^ index.php [L]\n"
                     "  </IfModule>\n"
                     "</Directory>\n";
  START_SERVER(srv, basic_config(docroot, kPhpAsText + conf));
  auto slash = raw_get(srv.port(), "/users/");
  EXPECT_EQ(slash.first().status, 301) << slash.data;
  EXPECT_EQ(slash.first().header("Location"), "http://localhost/users");
  auto front = raw_get(srv.port(), "/users", "localhost", "Authorization: Bearer t0k\r\n");
  EXPECT_EQ(front.first().status, 200);
  EXPECT_EQ(front.first().body, "front controller index.php\n");
  EXPECT_EQ(raw_get(srv.port(), "/wp-admin/").first().body, "admin dir\n");  // a directory keeps its slash
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().body, "body{}\n");
  std::string log;
  ASSERT_TRUE(eventually([&] {
    log = tree.read("logs/access.log");
    return std::count(log.begin(), log.end(), '\n') >= 4;
  })) << log;
  EXPECT_NE(log.find("Bearer t0k"), std::string::npos) << log;
}

TEST_F(Rewrite, ServerRedirectWithQsaForbiddenGone) {
  START_SERVER(srv, basic_config(docroot,
                                 "RewriteEngine On\n"
                                 "RewriteRule ^/old/(.*)$ /new/$1?via=old [R=301,QSA,L]\n"
                                 "RewriteRule ^/private/ - [F]\n"
                                 "RewriteRule ^/gone$ - [G]\n"));
  auto r = raw_get(srv.port(), "/old/page?a=1");
  EXPECT_EQ(r.first().status, 301) << r.data;
  EXPECT_EQ(r.first().header("Location"), "http://localhost/new/page?via=old&a=1");
  EXPECT_EQ(raw_get(srv.port(), "/private/x").first().status, 403);
  EXPECT_EQ(raw_get(srv.port(), "/gone").first().status, 410);
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().status, 200);  // no rule: served
}

TEST_F(Rewrite, ProxyFlagGoesToTheBalancer) {
  Backend be{"be1"};
  ASSERT_TRUE(be.ok());
  START_SERVER(srv, basic_config(docroot,
                                 "<Proxy balancer://app>\n  BalancerMember " + be.url() + "\n</Proxy>\n"
                                 "RewriteEngine On\n"
                                 "RewriteRule ^/api/(.*)$ balancer://app/v1/$1 [P]\n"
                                 "RewriteRule ^/direct/(.*)$ " + be.url() + "/d/$1 [P,QSA]\n"));
  auto r = raw_get(srv.port(), "/api/users?q=1");
  ASSERT_EQ(r.first().status, 200) << r.data;
  EXPECT_EQ(r.first().header("X-Backend"), "be1");
  EXPECT_EQ(parse_echo(r.first().body).target, "/v1/users?q=1");
  auto d = raw_get(srv.port(), "/direct/x?y=2");
  ASSERT_EQ(d.first().status, 200) << d.data;
  EXPECT_EQ(parse_echo(d.first().body).target, "/d/x?y=2");
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().body, "body{}\n");
}

TEST_F(Rewrite, EnvFromRulesIsInTheAccessLog) {
  START_SERVER(srv, basic_config(docroot, kPhpAsText +
                                 "LogFormat \"%U %{RWTAG}e\" tagged\n"
                                 "CustomLog \"" + logdir + "/access.log\" tagged\n"
                                 "RewriteEngine On\n"
                                 "RewriteRule ^/style - [E=RWTAG:styled]\n"));
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().status, 200);
  EXPECT_EQ(raw_get(srv.port(), "/index.php").first().status, 200);
  std::string log;
  ASSERT_TRUE(eventually([&] {
    log = tree.read("logs/access.log");
    return std::count(log.begin(), log.end(), '\n') >= 2;
  })) << log;
  EXPECT_NE(log.find("/style.css styled\n"), std::string::npos) << log;
  EXPECT_NE(log.find("/index.php -\n"), std::string::npos) << log;
}

TEST_F(Rewrite, TypeAndCookieFlagsReachTheResponse) {
  START_SERVER(srv, basic_config(docroot, kPhpAsText + "RewriteEngine On\n"
                                          "RewriteRule ^/style\\.css$ - [T=text/x-special,CO=seen:1:localhost]\n"));
  auto r = raw_get(srv.port(), "/style.css");
  EXPECT_EQ(r.first().status, 200);
  EXPECT_EQ(r.first().header("Content-Type"), "text/x-special");
  EXPECT_EQ(r.first().header("Set-Cookie"), "seen=1; path=/; domain=localhost");
  auto plain = raw_get(srv.port(), "/index.php");
  EXPECT_NE(plain.first().header("Content-Type"), "text/x-special");
  EXPECT_FALSE(plain.first().has("Set-Cookie"));
}

TEST_F(Rewrite, InternalRedirectLoopIsBounded) {
  std::string conf = "<Directory \"" + docroot + "\">\n"
                     "  RewriteEngine On\n"
                     "  RewriteRule ^(.*)$ /loop/$1\n"
                     "</Directory>\n";
  START_SERVER(srv, basic_config(docroot, kPhpAsText + conf));
  auto r = raw_get(srv.port(), "/a");
  EXPECT_EQ(r.first().status, 500) << r.data;
  EXPECT_TRUE(eventually([&] { return srv.stderr_text().find("internal redirects") != std::string::npos; }))
      << srv.stderr_text();
}

TEST_F(Rewrite, CatastrophicRegexIsA500AndTheWorkerGoesOn) {
  START_SERVER(srv, basic_config(docroot, kPhpAsText + "RewriteEngine On\nRewriteRule ^/(a+)+$ /x\n"));
  auto t0 = std::chrono::steady_clock::now();
  auto r = raw_get(srv.port(), "/" + std::string(4000, 'a') + "!");
  EXPECT_EQ(r.first().status, 500) << r.data;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(eventually([&] { return srv.stderr_text().find("match limit") != std::string::npos; }))
      << srv.stderr_text();
  EXPECT_EQ(raw_get(srv.port(), "/style.css").first().status, 200);  // the same (only) worker still serves
}

TEST_F(Rewrite, TraceAtLogLevelRewriteTrace3) {
  START_SERVER(srv, basic_config(docroot, kPhpAsText + "LogLevel warn rewrite:trace3\nRewriteEngine On\nRewriteRule ^/a$ /style.css\n"));
  EXPECT_EQ(raw_get(srv.port(), "/a").first().body, "body{}\n");
  EXPECT_TRUE(eventually([&] {
    return srv.stderr_text().find("applying pattern '^/a$' to uri '/a'") != std::string::npos;
  })) << srv.stderr_text();
}

TEST_F(Rewrite, ConfigCheckNamesTheBadRule) {
  std::string path;
  auto r = check_config(basic_config(docroot, "RewriteEngine On\nRewriteRule ^(broken /x\n"), &path);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(path + ":5: RewriteRule pattern ^(broken"), std::string::npos) << r.err;
  auto flag = check_config(basic_config(docroot, "RewriteEngine On\nRewriteRule ^ /x [L,Bogus]\n"), &path);
  EXPECT_NE(flag.exit_code, 0);
  EXPECT_NE(flag.err.find(":5: RewriteRule: unknown flag 'Bogus'"), std::string::npos) << flag.err;
  auto ok = check_config(basic_config(docroot, kPhpAsText + wordpress()));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace itest

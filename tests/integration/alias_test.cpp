// mod_alias and FallbackResource in the request path: Alias to a directory
// outside the DocumentRoot, Redirect and RedirectMatch with their statuses
// (server and <Location> contexts), server-level rewrite rules before the
// aliases, a ScriptAlias'ed file never served as a file (CGI runs it: cgi_test.cpp).
#include "test_common.h"

namespace itest {
namespace {

// index.php stands in for a PHP front controller and is served as a file
// (there is no FastCGI here), which ScriptSourceGuard would refuse.
const std::string kPhpAsText = "ScriptSourceGuard Off\n";

class AliasTest : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::string outside = tree.mkdir("outside");

  void SetUp() override {
    tree.write("www/index.php", "fallback index.php\n");
    tree.write("www/here.txt", "in the docroot\n");
    tree.write("www/strict/kept.txt", "kept\n");
    tree.write("outside/file.txt", "outside the docroot\n");
  }
};

TEST_F(AliasTest, AliasServesADirectoryOutsideTheDocumentRoot) {
  START_SERVER(srv, basic_config(docroot, kPhpAsText + "Alias /files \"" + outside + "\"\n"
                                          "RewriteEngine On\nRewriteRule ^/short$ /files/file.txt [PT]\n"));
  auto r = raw_get(srv.port(), "/files/file.txt");
  EXPECT_EQ(r.first().status, 200) << r.data;
  EXPECT_EQ(r.first().body, "outside the docroot\n");
  EXPECT_EQ(raw_get(srv.port(), "/filesx/file.txt").first().status, 404);  // a segment boundary
  EXPECT_EQ(raw_get(srv.port(), "/here.txt").first().body, "in the docroot\n");
  EXPECT_EQ(raw_get(srv.port(), "/short").first().body, "outside the docroot\n");  // rewrite [PT], then Alias
}

// ScriptSourceGuard (on by default) covers a file an Alias maps outside the
// DocumentRoot: a .php there with no handler is refused, never sent as text.
TEST_F(AliasTest, AScriptUnderAnAliasWithNoHandlerIsRefusedNotSent) {
  tree.write("outside/app.php", "<?php echo 'secret source';\n");
  START_SERVER(srv, basic_config(docroot, "Alias /files \"" + outside + "\"\n"));
  auto r = raw_get(srv.port(), "/files/app.php");
  EXPECT_EQ(r.first().status, 403) << r.data;
  EXPECT_EQ(r.data.find("secret source"), std::string::npos);
  EXPECT_EQ(raw_get(srv.port(), "/files/file.txt").first().status, 200);  // other files still served
}

TEST_F(AliasTest, RedirectsWithTheirStatuses) {
  START_SERVER(srv, basic_config(docroot,
                                 "Redirect permanent /old http://example.com/new\n"
                                 "RedirectMatch 410 ^/gone/\n"
                                 "RedirectMatch seeother ^/m/(\\d+)$ /items/$1\n"
                                 "RedirectTemp /moved /here.txt\n"
                                 "<Location /legacy>\n  Redirect 308 https://new.example/legacy\n</Location>\n"
                                 "<Location /tree>\n  Redirect /tree/old https://new.example/t\n</Location>\n"
                                 "<Location /retired>\n  Redirect gone\n</Location>\n"));
  auto p = raw_get(srv.port(), "/old/page?x=1");
  EXPECT_EQ(p.first().status, 301) << p.data;
  EXPECT_EQ(p.first().header("Location"), "http://example.com/new/page?x=1");
  EXPECT_EQ(raw_get(srv.port(), "/gone/a").first().status, 410);
  auto m = raw_get(srv.port(), "/m/42");
  EXPECT_EQ(m.first().status, 303);
  EXPECT_EQ(m.first().header("Location"), "http://localhost/items/42");
  auto t = raw_get(srv.port(), "/moved");
  EXPECT_EQ(t.first().status, 302);
  EXPECT_EQ(t.first().header("Location"), "http://localhost/here.txt");
  auto l = raw_get(srv.port(), "/legacy/a/b");
  EXPECT_EQ(l.first().status, 308);
  EXPECT_EQ(l.first().header("Location"), "https://new.example/legacy");  // without a URL-path: the whole target
  auto t2 = raw_get(srv.port(), "/tree/old/x");
  EXPECT_EQ(t2.first().status, 302);
  EXPECT_EQ(t2.first().header("Location"), "https://new.example/t/x");
  EXPECT_EQ(raw_get(srv.port(), "/retired/page").first().status, 410);
  EXPECT_EQ(raw_get(srv.port(), "/oldish").first().status, 404);
}

TEST_F(AliasTest, FallbackResourceForMissingFilesOnly) {
  START_SERVER(srv, basic_config(docroot, kPhpAsText + "FallbackResource /index.php\n"
                                          "<Directory \"" + docroot + "/strict\">\n  FallbackResource disabled\n</Directory>\n"));
  auto f = raw_get(srv.port(), "/blog/2024/post");
  EXPECT_EQ(f.first().status, 200) << f.data;
  EXPECT_EQ(f.first().body, "fallback index.php\n");
  EXPECT_EQ(raw_get(srv.port(), "/here.txt").first().body, "in the docroot\n");
  // A file with a path after it is found (PATH_INFO), not missing: as
  // mod_dir, no fallback (a front controller's /index.php/route runs itself).
  auto info = raw_get(srv.port(), "/here.txt/more");
  EXPECT_NE(info.first().body, "fallback index.php\n") << info.data;
  EXPECT_EQ(info.first().status, 404) << "a static file takes no PATH_INFO (AcceptPathInfo's default)";
  EXPECT_EQ(raw_get(srv.port(), "/strict/missing").first().status, 404);
  EXPECT_EQ(raw_get(srv.port(), "/strict/kept.txt").first().body, "kept\n");
}

// A directory without an index is no file either: Apache 2.4's mod_dir
// answers the fallback there (Options Indexes or not); the trailing-slash
// redirect comes first, a directory with an index keeps it.
TEST_F(AliasTest, FallbackResourceForADirectoryWithoutIndex) {
  tree.write("www/app/sub/.keep", "");
  tree.write("www/listed/a.txt", "a\n");
  tree.write("www/indexed/index.html", "<p>own index</p>\n");
  START_SERVER(srv, basic_config(docroot, kPhpAsText + "FallbackResource /index.php\n"
                                          "<Directory \"" + docroot + "/listed\">\n  Options +Indexes\n</Directory>\n"));
  EXPECT_EQ(raw_get(srv.port(), "/app/").first().body, "fallback index.php\n");
  EXPECT_EQ(raw_get(srv.port(), "/app/sub/").first().body, "fallback index.php\n");
  EXPECT_EQ(raw_get(srv.port(), "/listed/").first().body, "fallback index.php\n");
  EXPECT_EQ(raw_get(srv.port(), "/app").first().status, 301);
  EXPECT_EQ(raw_get(srv.port(), "/indexed/").first().body, "<p>own index</p>\n");
}

TEST_F(AliasTest, ScriptAliasIsNotServedAsAFile) {
  tree.write("outside/test.cgi", "#!/bin/sh\necho secret source\n");
  START_SERVER(srv, basic_config(docroot, kPhpAsText + "ScriptAlias /cgi-bin/ \"" + outside + "/\"\n"));
  auto r = raw_get(srv.port(), "/cgi-bin/test.cgi");
  EXPECT_EQ(r.first().status, 403) << r.data << "a script the server cannot execute (mode 0644), as Apache";
  EXPECT_EQ(r.first().body.find("secret source"), std::string::npos);
}

}  // namespace
}  // namespace itest

// Each RewriteRule flag, each RewriteCond operator and flag, back-references
// and maps, in server context (the pattern sees the URL-path).
#include <gtest/gtest.h>

#include <fstream>

#include "rewrite_fixture.h"

namespace {

using namespace rwtest;
using Action = pillar::rewrite::Outcome::Action;

std::unique_ptr<Compiled> ok(const std::string& text) {
  auto c = compile("RewriteEngine On\n" + text);
  EXPECT_TRUE(c->errors.empty()) << (c->errors.empty() ? "" : c->errors[0].to_string());
  return c;
}

TEST(RewriteFlags, EngineOffDoesNothing) {
  auto c = compile("RewriteEngine Off\nRewriteRule ^ /x [F]\n");
  FakeContext ctx;
  EXPECT_EQ(run(*c, ctx, "/a").action, Action::None);
}

TEST(RewriteFlags, InternalRewriteBecomesAFilenameUnderTheDocumentRoot) {
  auto c = ok("RewriteRule ^/old/(.*)$ /new/$1\n");
  FakeContext ctx;
  auto o = run(*c, ctx, "/old/a.html");
  ASSERT_EQ(o.action, Action::Filename);
  EXPECT_EQ(o.filename, "/srv/www/new/a.html");
  ctx.dirs = {"/new"};  // the first component exists on disk: a filesystem path
  o = run(*c, ctx, "/old/a.html");
  EXPECT_EQ(o.filename, "/new/a.html");
}

TEST(RewriteFlags, PassThroughGivesAUrl) {
  auto c = ok("RewriteRule ^/old/(.*)$ /new/$1 [PT]\n");
  FakeContext ctx;
  auto o = run(*c, ctx, "/old/a");
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/new/a");
}

TEST(RewriteFlags, RedirectWithStatusAndQsa) {
  auto c = ok("RewriteRule ^/old/(.*)$ /new/$1?from=old [R=301,QSA,L]\n");
  FakeContext ctx;
  auto o = run(*c, ctx, "/old/page", "a=1");
  ASSERT_EQ(o.action, Action::Redirect);
  EXPECT_EQ(o.status, 301);
  EXPECT_EQ(o.location, "http://example.com/new/page?from=old&a=1");
  auto plain = ok("RewriteRule ^/old/(.*)$ /new/$1?from=old [R]\n");
  o = run(*plain, ctx, "/old/page", "a=1");
  EXPECT_EQ(o.status, 302);
  EXPECT_EQ(o.location, "http://example.com/new/page?from=old");  // no QSA: replaced
}

TEST(RewriteFlags, QueryKeptDiscardedOrEmptied) {
  FakeContext ctx;
  auto keep = ok("RewriteRule ^/a$ /b [R]\n");
  EXPECT_EQ(run(*keep, ctx, "/a", "x=1").location, "http://example.com/b?x=1");
  auto qsd = ok("RewriteRule ^/a$ /b [R,QSD]\n");
  EXPECT_EQ(run(*qsd, ctx, "/a", "x=1").location, "http://example.com/b");
  auto empty = ok("RewriteRule ^/a$ /b? [R]\n");
  EXPECT_EQ(run(*empty, ctx, "/a", "x=1").location, "http://example.com/b");
  auto qsl = ok("RewriteRule ^/a$ /b?c?d=1 [R,QSL,NE]\n");
  EXPECT_EQ(run(*qsl, ctx, "/a").location, "http://example.com/b?c?d=1");
}

TEST(RewriteFlags, RedirectEscapesUnlessNe) {
  FakeContext ctx;
  auto esc = ok("RewriteRule ^/anchor/(.+) /bigpage.html#$1 [R]\n");
  EXPECT_EQ(run(*esc, ctx, "/anchor/x y").location, "http://example.com/bigpage.html%23x%20y");
  auto ne = ok("RewriteRule ^/anchor/(.+) /bigpage.html#$1 [R,NE]\n");
  EXPECT_EQ(run(*ne, ctx, "/anchor/x").location, "http://example.com/bigpage.html#x");
}

TEST(RewriteFlags, AbsoluteUrlToAnotherHostRedirects) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/(.*)$ https://other.example/$1\n");
  auto o = run(*c, ctx, "/p");
  ASSERT_EQ(o.action, Action::Redirect);
  EXPECT_EQ(o.status, 302);
  EXPECT_EQ(o.location, "https://other.example/p");
  auto self = ok("RewriteRule ^/(.*)$ http://example.com/x/$1\n");  // this server: a local path again
  EXPECT_EQ(run(*self, ctx, "/p").filename, "/srv/www/x/p");
}

TEST(RewriteFlags, NocaseForbiddenGone) {
  FakeContext ctx;
  auto f = ok("RewriteRule ^/secret - [NC,F]\n");
  auto o = run(*f, ctx, "/SECRET/x");
  ASSERT_EQ(o.action, Action::Status);
  EXPECT_EQ(o.status, 403);
  auto cs = ok("RewriteRule ^/secret - [F]\n");
  EXPECT_EQ(run(*cs, ctx, "/SECRET/x").action, Action::None);
  auto g = ok("RewriteRule ^/old$ - [G]\n");
  EXPECT_EQ(run(*g, ctx, "/old").status, 410);
  auto r4 = ok("RewriteRule ^/teapot$ - [R=418]\n");
  EXPECT_EQ(run(*r4, ctx, "/teapot").status, 418);
}

TEST(RewriteFlags, LastStopsEndIsReported) {
  FakeContext ctx;
  auto l = ok("RewriteRule ^/a$ /b [L]\nRewriteRule ^/b$ /c\n");
  EXPECT_EQ(run(*l, ctx, "/a").filename, "/srv/www/b");
  auto nol = ok("RewriteRule ^/a$ /b\nRewriteRule ^/b$ /c\n");
  EXPECT_EQ(run(*nol, ctx, "/a").filename, "/srv/www/c");
  auto end = ok("RewriteRule ^/a$ /b [END]\nRewriteRule ^/b$ /c\n");
  auto o = run(*end, ctx, "/a");
  EXPECT_EQ(o.filename, "/srv/www/b");
  EXPECT_TRUE(o.end);
  EXPECT_FALSE(run(*l, ctx, "/a").end);
}

TEST(RewriteFlags, ChainSkipsTheRestWhenOneFails) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/a(.*)$ /b$1 [C]\nRewriteRule ^/bx$ /chained\nRewriteRule ^/z$ /zz\n");
  EXPECT_EQ(run(*c, ctx, "/ax").filename, "/srv/www/chained");
  EXPECT_EQ(run(*c, ctx, "/ay").filename, "/srv/www/by");
  auto c2 = ok("RewriteRule ^/nomatch$ /x [C]\nRewriteRule ^/q$ /chained\nRewriteRule ^/q$ /after\n");
  EXPECT_EQ(run(*c2, ctx, "/q").filename, "/srv/www/after");  // the chained rule was skipped
}

TEST(RewriteFlags, SkipJumpsOverRules) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/a$ - [S=2]\nRewriteRule ^ /one\nRewriteRule ^ /two\nRewriteRule ^/a$ /three\n");
  EXPECT_EQ(run(*c, ctx, "/a").filename, "/srv/www/three");
  EXPECT_EQ(run(*c, ctx, "/b").filename, "/srv/www/two");
}

TEST(RewriteFlags, NextRestartsAndIsBounded) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/(.*)-(.*)$ /$1_$2 [N]\n");
  EXPECT_EQ(run(*c, ctx, "/a-b-c-d").filename, "/srv/www/a_b_c_d");
  auto loop = ok("RewriteRule ^/(.*)$ /$1 [N=50]\n");
  auto o = run(*loop, ctx, "/a");
  ASSERT_EQ(o.action, Action::Error);
  EXPECT_NE(o.error.find("N=50"), std::string::npos) << o.error;
}

TEST(RewriteFlags, EnvCookieTypeHandler) {
  FakeContext ctx;
  ctx.envs["gone"] = "1";
  auto c = ok("RewriteRule ^/(img)/ - [E=KIND:$1,E=!gone,E=EMPTY,CO=seen:yes:example.com:10:/img:secure:httponly,T=image/png,H=none]\n");
  auto o = run(*c, ctx, "/img/a");
  EXPECT_EQ(o.action, Action::None);  // "-": nothing rewritten
  EXPECT_EQ(ctx.envs["KIND"], "img");
  EXPECT_EQ(ctx.envs.count("gone"), 0u);
  EXPECT_EQ(ctx.envs.count("EMPTY"), 1u);
  ASSERT_EQ(o.set_cookies.size(), 1u);
  EXPECT_EQ(o.set_cookies[0].rfind("seen=yes; path=/img; domain=example.com; expires=", 0), 0u) << o.set_cookies[0];
  EXPECT_NE(o.set_cookies[0].find("; secure; HttpOnly"), std::string::npos);
  EXPECT_EQ(o.type, "image/png");
  EXPECT_EQ(o.handler, "none");
}

TEST(RewriteFlags, EnvSeenByLaterConditions) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/a - [E=STEP:one]\nRewriteCond %{ENV:STEP} =one\nRewriteRule ^/a$ /seen\n");
  EXPECT_EQ(run(*c, ctx, "/a").filename, "/srv/www/seen");
}

TEST(RewriteFlags, BEscapesBackReferences) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/search/(.*)$ /s.php?term=$1 [B,PT]\n");
  auto o = run(*c, ctx, "/search/x & y");
  ASSERT_EQ(o.action, Action::Uri);
  EXPECT_EQ(o.uri, "/s.php");
  EXPECT_EQ(o.query, "term=x+%26+y");
  auto bnp = ok("RewriteRule ^/search/(.*)$ /s.php?term=$1 [B,BNP,PT]\n");
  EXPECT_EQ(run(*bnp, ctx, "/search/x y").query, "term=x%20y");
  auto none = ok("RewriteRule ^/search/(.*)$ /s.php?term=$1 [PT]\n");
  EXPECT_EQ(run(*none, ctx, "/search/x & y").query, "term=x & y");
}

TEST(RewriteFlags, ProxyTarget) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/api/(.*)$ http://backend:8080/v1/$1 [P]\nRewriteRule ^ - [F]\n");
  auto o = run(*c, ctx, "/api/users", "q=1");
  ASSERT_EQ(o.action, Action::Proxy);
  EXPECT_EQ(o.proxy_url, "http://backend:8080/v1/users?q=1");
}

TEST(RewriteFlags, NosubreqSkippedInSubrequests) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/a$ /b [NS]\n");
  rewrite::Input in;
  in.path = "/a";
  in.document_root = "/srv/www";
  in.subrequest = true;
  EXPECT_EQ(rewrite::run(c->set, ctx, in).action, Action::None);
  EXPECT_EQ(run(*c, ctx, "/a").action, Action::Filename);
}

TEST(RewriteConds, RegexBackReferencesAndNocase) {
  FakeContext ctx;
  ctx.headers["Host"] = "WWW.Example.com";
  auto c = ok("RewriteCond %{HTTP_HOST} ^www\\.(.+)$ [NC]\nRewriteRule ^/(.*)$ https://%1/$1 [R=301,L]\n");
  auto o = run(*c, ctx, "/x");
  ASSERT_EQ(o.action, Action::Redirect);
  EXPECT_EQ(o.location, "https://Example.com/x");
  ctx.headers["Host"] = "example.com";
  EXPECT_EQ(run(*c, ctx, "/x").action, Action::None);
}

TEST(RewriteConds, OrGroups) {
  FakeContext ctx;
  auto c = ok("RewriteCond %{REQUEST_METHOD} =PUT [OR]\nRewriteCond %{REQUEST_METHOD} =DELETE\nRewriteRule ^ - [F]\n");
  ctx.vars["REQUEST_METHOD"] = "DELETE";
  EXPECT_EQ(run(*c, ctx, "/a").status, 403);
  ctx.vars["REQUEST_METHOD"] = "PUT";
  EXPECT_EQ(run(*c, ctx, "/a").status, 403);
  ctx.vars["REQUEST_METHOD"] = "GET";
  EXPECT_EQ(run(*c, ctx, "/a").action, Action::None);
}

TEST(RewriteConds, LexicographicAndIntegerComparisons) {
  FakeContext ctx;
  auto c = ok("RewriteCond %{ENV:N} -ge10\nRewriteCond %{ENV:N} -lt20\nRewriteCond %{ENV:S} >m\nRewriteCond %{ENV:S} <=t\n"
              "RewriteRule ^ - [F]\n");
  ctx.envs = {{"N", "15"}, {"S", "pillar"}};
  EXPECT_EQ(run(*c, ctx, "/").status, 403);
  ctx.envs = {{"N", "9"}, {"S", "pillar"}};  // 9 < 10 (a string comparison would say "9" > "10")
  EXPECT_EQ(run(*c, ctx, "/").action, Action::None);
  ctx.envs = {{"N", "15"}, {"S", "zebra"}};
  EXPECT_EQ(run(*c, ctx, "/").action, Action::None);
  auto empty = ok("RewriteCond %{HTTP_REFERER} =\"\"\nRewriteRule ^ - [F]\n");
  EXPECT_EQ(run(*empty, ctx, "/").status, 403);
  ctx.headers["Referer"] = "http://x/";
  EXPECT_EQ(run(*empty, ctx, "/").action, Action::None);
  auto ne = ok("RewriteCond %{ENV:N} -ne15\nRewriteCond %{ENV:N} -eq16 [OR]\nRewriteCond %{ENV:N} -gt1\nRewriteRule ^ - [G]\n");
  ctx.envs = {{"N", "16"}};
  EXPECT_EQ(run(*ne, ctx, "/").status, 410);
  ctx.envs = {{"N", "15"}};
  EXPECT_EQ(run(*ne, ctx, "/").action, Action::None);
  auto le = ok("RewriteCond %{ENV:N} -le3\nRewriteCond %{ENV:N} -gt1\nRewriteRule ^ - [G]\n");
  ctx.envs = {{"N", "3"}};
  EXPECT_EQ(run(*le, ctx, "/").status, 410);
}

TEST(RewriteConds, FileTests) {
  FakeContext ctx;
  ctx.files = {"/srv/www/a.txt"};
  ctx.dirs = {"/srv/www/d"};
  ctx.links = {"/srv/www/l"};
  auto f = ok("RewriteCond /srv/www%{REQUEST_URI} -f\nRewriteRule ^ - [F]\n");
  ctx.vars["REQUEST_URI"] = "/a.txt";
  EXPECT_EQ(run(*f, ctx, "/a.txt").status, 403);
  ctx.vars["REQUEST_URI"] = "/d";
  EXPECT_EQ(run(*f, ctx, "/d").action, Action::None);
  auto d = ok("RewriteCond /srv/www%{REQUEST_URI} -d\nRewriteRule ^ - [F]\n");
  EXPECT_EQ(run(*d, ctx, "/d").status, 403);
  auto s = ok("RewriteCond /srv/www/a.txt -s\nRewriteCond /srv/www/l -l\nRewriteCond /srv/www/a.txt -F\nRewriteRule ^ - [F]\n");
  EXPECT_EQ(run(*s, ctx, "/").status, 403);
  auto u = ok("RewriteCond %{REQUEST_URI} -U\nRewriteRule ^ - [F]\n");
  ctx.vars["REQUEST_URI"] = "/a.txt";
  EXPECT_EQ(run(*u, ctx, "/").status, 403);
  ctx.vars["REQUEST_URI"] = "/missing";
  EXPECT_EQ(run(*u, ctx, "/").action, Action::None);
  auto x = ok("RewriteCond /srv/www/a.txt -x\nRewriteRule ^ - [F]\n");
  EXPECT_EQ(run(*x, ctx, "/").action, Action::None);  // not executable
}

TEST(RewriteConds, ServerVariablesAndTime) {
  FakeContext ctx;
  ctx.vars = {{"HTTPS", "off"}, {"SERVER_PORT", "80"}, {"THE_REQUEST", "GET /a?x HTTP/1.1"}};
  auto c = ok("RewriteCond %{HTTPS} !=on\nRewriteCond %{THE_REQUEST} ^GET\\s\nRewriteCond %{TIME_YEAR} ^20\\d\\d$\n"
              "RewriteRule ^/(.*)$ https://example.com/$1?port=%{SERVER_PORT} [R=301,NE]\n");
  auto o = run(*c, ctx, "/a", "x");
  ASSERT_EQ(o.action, Action::Redirect);
  EXPECT_EQ(o.location, "https://example.com/a?port=80");
  ctx.vars["HTTPS"] = "on";
  EXPECT_EQ(run(*c, ctx, "/a").action, Action::None);
}

TEST(RewriteMaps, IntTxtRndAndDefault) {
  char path[] = "/tmp/rwmapXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "# products\nwidget 17\ngadget 23 # trailing comment\n";
  auto c = ok(std::string("RewriteMap lc int:tolower\nRewriteMap ids txt:") + path + "\nRewriteMap pool rnd:" + path +
              "\nRewriteRule ^/p/(.*)$ /item?id=${ids:${lc:$1}|0} [PT]\n");
  FakeContext ctx;
  EXPECT_EQ(run(*c, ctx, "/p/WIDGET").query, "id=17");
  EXPECT_EQ(run(*c, ctx, "/p/gadget").query, "id=23");
  EXPECT_EQ(run(*c, ctx, "/p/other").query, "id=0");
  auto esc = ok("RewriteMap e int:escape\nRewriteMap u int:unescape\nRewriteMap up int:toupper\n"
                "RewriteRule ^/(.*)$ /x?a=${e:$1}&b=${u:\\%41b}&c=${up:$1} [PT]\n");
  EXPECT_EQ(run(*esc, ctx, "/a b").query, "a=a%20b&b=Ab&c=A B");
  unlink(path);
}

TEST(RewriteMaps, PrgNeedsAnExecutableAndOptionsOnlyForPrg) {
  auto missing = compile("RewriteMap helper prg:/no/such/helper\n");
  ASSERT_EQ(missing->errors.size(), 1u);
  EXPECT_NE(missing->errors[0].message.find("/no/such/helper is not an executable file"), std::string::npos);
  EXPECT_EQ(missing->errors[0].line, 1);
  EXPECT_EQ(compile("RewriteMap r prg:relative/helper\n")->errors.size(), 1u);
  EXPECT_TRUE(compile("RewriteMap helper \"prg:/bin/cat -u\"\n")->errors.empty()) << "validated, not started";
  EXPECT_EQ(compile("RewriteMap helper prg:/bin/cat nosuchuser:nosuchgroup\n")->errors.size(), 1u);
  EXPECT_EQ(compile("RewriteMap m int:tolower root:root\n")->errors.size(), 1u);
}

TEST(RewriteErrors, NameFileAndLine) {
  auto bad_regex = compile("RewriteEngine On\nRewriteRule ^(unclosed /x\n");
  ASSERT_EQ(bad_regex->errors.size(), 1u);
  EXPECT_EQ(bad_regex->errors[0].file, "test.conf");
  EXPECT_EQ(bad_regex->errors[0].line, 2);
  EXPECT_NE(bad_regex->errors[0].message.find("parenthesis"), std::string::npos);
  auto bad_flag = compile("RewriteEngine On\n\nRewriteRule ^ /x [L,QQ]\n");
  ASSERT_EQ(bad_flag->errors.size(), 1u);
  EXPECT_EQ(bad_flag->errors[0].line, 3);
  EXPECT_NE(bad_flag->errors[0].message.find("unknown flag 'QQ'"), std::string::npos);
  auto lonely = compile("RewriteEngine On\nRewriteRule ^ /x\nRewriteCond %{HTTPS} on\n");
  ASSERT_EQ(lonely->errors.size(), 1u);
  EXPECT_EQ(lonely->errors[0].line, 3);
  EXPECT_NE(lonely->errors[0].message.find("without a RewriteRule"), std::string::npos);
  auto bad_delims = compile("RewriteRule ^ /x L\n");
  ASSERT_EQ(bad_delims->errors.size(), 1u);
  EXPECT_NE(bad_delims->errors[0].message.find("bad flag delimiters"), std::string::npos);
  auto bad_status = compile("RewriteRule ^ /x [R=200]\n");
  ASSERT_EQ(bad_status->errors.size(), 1u);
  auto bad_int = compile("RewriteCond %{ENV:x} -ltfoo\nRewriteRule ^ /x\n");
  ASSERT_EQ(bad_int->errors.size(), 1u);
}

TEST(RewriteLimits, CatastrophicPatternIsAnErrorNotAStall) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/(a+)+$ /x\n");
  std::string path = "/" + std::string(5000, 'a') + "!";
  auto o = run(*c, ctx, path);
  ASSERT_EQ(o.action, Action::Error);
  EXPECT_NE(o.error.find("test.conf:2"), std::string::npos) << o.error;
}

TEST(RewriteTrace, LinesWhenTheLevelAsksForThem) {
  FakeContext ctx;
  auto c = ok("RewriteRule ^/a$ /b\n");
  run(*c, ctx, "/a");
  EXPECT_TRUE(ctx.traces.empty());
  ctx.trace_level = 3;
  run(*c, ctx, "/a");
  ASSERT_FALSE(ctx.traces.empty());
  EXPECT_NE(ctx.traces[0].find("applying pattern '^/a$' to uri '/a'"), std::string::npos) << ctx.traces[0];
}

}  // namespace

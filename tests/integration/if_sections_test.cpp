// <If>, <ElseIf>, <Else> and Header expr= on real requests, with the
// configurations Apache sites carry (canonical host and HTTPS redirects,
// an internal-network header, an admin area for one address, a debug
// switch, X-Frame-Options on HTML only): the expected answers are Apache
// 2.4's for the same lines. Also: sections inside <Directory>,
// <Location> and .htaccess, nested <If>, a proxied location, and
// `pillar -t` naming the line of a broken expression.
#include "backend.h"
#include "test_common.h"

namespace itest {
namespace {

class IfSections : public ::testing::Test {
 protected:
  TempTree t;
  std::string docroot = t.mkdir("www");
  void SetUp() override {
    t.write("www/a.txt", "body\n");
    t.write("www/page.html", "<p>page</p>\n");
    t.write("www/admin/index.html", "admin\n");
    t.write("www/sub/b.txt", "b\n");
    t.write("www/sub/index.html", "sub index\n");
    t.write("www/sub/start.html", "start\n");
  }
  std::string config(const std::string& extra) const {
    return basic_config(docroot, "StartServers 1\nServerLimit 1\nEventThreadsPerChild 1\nPidFile " + t.path("pillar.pid") +
                                     "\n" + extra);
  }
};

TEST_F(IfSections, CanonicalHostRedirect) {
  START_SERVER(s, config("<If \"%{HTTP_HOST} != 'www.example.com'\">\n"
                         "    Redirect permanent / https://www.example.com/\n"
                         "</If>\n"));
  CurlResult r = curl_get(s.base_url() + "/a.txt?x=1");
  ASSERT_EQ(r.status, 301);
  EXPECT_EQ(r.header("Location"), "https://www.example.com/a.txt?x=1");
  CurlResult ok = curl_get(s.base_url() + "/a.txt", {"Host: www.example.com"});
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "body\n");
}

TEST_F(IfSections, HttpsRedirectBothForms) {
  START_SERVER(s, config("<If \"%{HTTPS} != 'on'\">\n"
                         "    Redirect / https://secure.example/\n"
                         "</If>\n"
                         "<Location /whole>\n"
                         "  <If \"%{REQUEST_SCHEME} == 'http'\">\n"
                         "    Redirect 308 https://secure.example/landing\n"
                         "  </If>\n"
                         "</Location>\n"));
  CurlResult r = curl_get(s.base_url() + "/sub/b.txt");
  ASSERT_EQ(r.status, 302);
  EXPECT_EQ(r.header("Location"), "https://secure.example/sub/b.txt");
  // The last true <If> merges last: the one-argument form (the whole request) wins.
  CurlResult w = curl_get(s.base_url() + "/whole/x");
  ASSERT_EQ(w.status, 308);
  EXPECT_EQ(w.header("Location"), "https://secure.example/landing");
}

TEST_F(IfSections, ChainsNestingAndTheClientNetwork) {
  START_SERVER(s, config("<If \"-R '10.0.0.0/8'\">\n"
                         "    Header set X-Net ten\n"
                         "</If>\n"
                         "<ElseIf \"%{REMOTE_ADDR} -ipmatch '127.0.0.0/8'\">\n"
                         "    Header set X-Net loopback\n"
                         "    <If \"req('X-Debug') == '1'\">\n"
                         "        Header set X-Debug-Mode on\n"
                         "        SetEnv DEBUGGING yes\n"
                         "    </If>\n"
                         "</ElseIf>\n"
                         "<Else>\n"
                         "    Header set X-Net other\n"
                         "</Else>\n"
                         "<If \"%{REQUEST_METHOD} -in {'HEAD', 'GET'} && !(%{QUERY_STRING} =~ /nocache/)\">\n"
                         "    Header set X-Cacheable yes\n"
                         "</If>\n"
                         "<Else>\n"
                         "    Header set X-Cacheable no\n"
                         "</Else>\n"
                         "Header set X-Env \"%{DEBUGGING}e\"\n"));
  CurlResult r = curl_get(s.base_url() + "/a.txt");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("X-Net"), "loopback");
  EXPECT_FALSE(r.has("X-Debug-Mode"));
  EXPECT_EQ(r.header("X-Cacheable"), "yes");
  EXPECT_EQ(r.header("X-Env"), "(null)");
  CurlResult d = curl_get(s.base_url() + "/a.txt?nocache=1", {"X-Debug: 1"});
  ASSERT_EQ(d.status, 200);
  EXPECT_EQ(d.header("X-Net"), "loopback");
  EXPECT_EQ(d.header("X-Debug-Mode"), "on");
  EXPECT_EQ(d.header("X-Env"), "yes") << "SetEnv in a nested <If>";
  EXPECT_EQ(d.header("X-Cacheable"), "no");
  EXPECT_EQ(d.body, "body\n");
}

TEST_F(IfSections, AdminAreaForOneAddress) {
  START_SERVER(s, config("<If \"%{REQUEST_URI} =~ m#^/admin#\">\n"
                         "    Require ip 192.0.2.1\n"
                         "</If>\n"
                         "<Directory \"" + docroot + "/sub\">\n"
                         "    Require all denied\n"
                         "    <If \"req('X-Key') == 'open'\">\n"
                         "        Require all granted\n"
                         "    </If>\n"
                         "</Directory>\n"));
  EXPECT_EQ(curl_get(s.base_url() + "/admin/").status, 403);
  EXPECT_EQ(curl_get(s.base_url() + "/a.txt").status, 200);
  EXPECT_EQ(curl_get(s.base_url() + "/sub/b.txt").status, 403);
  CurlResult open = curl_get(s.base_url() + "/sub/b.txt", {"X-Key: open"});
  EXPECT_EQ(open.status, 200) << "the <If>'s Require replaces its <Directory>'s";
  EXPECT_EQ(open.body, "b\n");
}

TEST_F(IfSections, AdminAreaLetsTheListedAddressIn) {
  START_SERVER(s, config("<If \"%{REQUEST_URI} =~ m#^/admin#\">\n    Require ip 127.0.0.1\n</If>\n"));
  CurlResult r = curl_get(s.base_url() + "/admin/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "admin\n");
}

TEST_F(IfSections, HeaderExprOnTheResponseContentType) {
  START_SERVER(s, config("Header always set X-Frame-Options DENY \"expr=%{CONTENT_TYPE} =~ m#text/html#\"\n"
                         "Header set X-Host-Check yes \"expr=tolower(req('Host')) -strmatch '127.0.0.1:*'\"\n"
                         "RequestHeader set X-Seen 1 \"expr=%{REQUEST_URI} == '/never'\"\n"));
  CurlResult html = curl_get(s.base_url() + "/page.html");
  ASSERT_EQ(html.status, 200);
  EXPECT_EQ(html.header("X-Frame-Options"), "DENY");
  EXPECT_EQ(html.header("X-Host-Check"), "yes");
  CurlResult text = curl_get(s.base_url() + "/a.txt");
  ASSERT_EQ(text.status, 200);
  EXPECT_FALSE(text.has("X-Frame-Options"));
  CurlResult missing = curl_get(s.base_url() + "/nothing");
  ASSERT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("X-Frame-Options"), "DENY") << "the error page is HTML";
}

TEST_F(IfSections, PerDirectoryDirectivesMergeFromTheBody) {
  START_SERVER(s, config("<Location /sub>\n"
                         "  <If \"req('X-Variant') == 'start'\">\n"
                         "    DirectoryIndex start.html\n"
                         "    ErrorDocument 404 \"no such page here\"\n"
                         "    ExpiresActive On\n"
                         "    ExpiresByType application/x-test \"access plus 1 hour\"\n"
                         "  </If>\n"
                         "</Location>\n"
                         "<Files \"b.txt\">\n"
                         "  <If \"true\">\n"
                         "    ForceType application/x-test\n"
                         "  </If>\n"
                         "</Files>\n"));
  EXPECT_EQ(curl_get(s.base_url() + "/sub/").body, "sub index\n");
  CurlResult v = curl_get(s.base_url() + "/sub/", {"X-Variant: start"});
  ASSERT_EQ(v.status, 200);
  EXPECT_EQ(v.body, "start\n");
  CurlResult e = curl_get(s.base_url() + "/sub/gone", {"X-Variant: start"});
  ASSERT_EQ(e.status, 404);
  EXPECT_EQ(e.body, "no such page here");
  CurlResult b = curl_get(s.base_url() + "/sub/b.txt", {"X-Variant: start"});
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(b.header("Content-Type"), "application/x-test");
  EXPECT_EQ(b.header("Cache-Control"), "max-age=3600");
  CurlResult plain = curl_get(s.base_url() + "/sub/b.txt");
  EXPECT_EQ(plain.header("Content-Type"), "application/x-test");
  EXPECT_FALSE(plain.has("Cache-Control"));
  EXPECT_NE(curl_get(s.base_url() + "/a.txt").header("Content-Type"), "application/x-test");
}

TEST_F(IfSections, OptionsAndSetEnvIfFromTheBody) {
  t.write("www/list/one.txt", "1\n");
  START_SERVER(s, config("<Directory \"" + docroot + "/list\">\n  Options +Indexes\n</Directory>\n"
                         "<If \"req('X-No-List') == '1'\">\n"
                         "  Options -Indexes\n"
                         "  SetEnvIf User-Agent ^curl IS_CURL=yes\n"
                         "</If>\n"
                         "Header set X-Curl \"%{IS_CURL}e\"\n"));
  CurlResult listing = curl_get(s.base_url() + "/list/");
  ASSERT_EQ(listing.status, 200);
  EXPECT_NE(listing.body.find("one.txt"), std::string::npos);
  EXPECT_EQ(listing.header("X-Curl"), "(null)");
  CurlResult refused = curl_get(s.base_url() + "/list/", {"X-No-List: 1", "User-Agent: curl/8"});
  EXPECT_EQ(refused.status, 403) << "the <If>'s Options -Indexes is merged after the <Directory>'s";
  EXPECT_EQ(curl_get(s.base_url() + "/a.txt", {"X-No-List: 1", "User-Agent: curl/8"}).header("X-Curl"), "yes");
}

TEST_F(IfSections, HtaccessIfSections) {
  t.write("www/sub/.htaccess",
          "<If \"req('X-Debug') == '1'\">\n  Header set X-From-Htaccess yes\n</If>\n<Else>\n  Header set X-From-Htaccess no\n</Else>\n");
  START_SERVER(s, config("<Directory \"" + docroot + "\">\n  AllowOverride All\n</Directory>\n"));
  EXPECT_EQ(curl_get(s.base_url() + "/sub/b.txt", {"X-Debug: 1"}).header("X-From-Htaccess"), "yes");
  EXPECT_EQ(curl_get(s.base_url() + "/sub/b.txt").header("X-From-Htaccess"), "no");
  EXPECT_FALSE(curl_get(s.base_url() + "/a.txt").has("X-From-Htaccess"));
  t.write("www/sub/.htaccess", "<If \"%{HTTP_HOST} == \">\n</If>\n");
  CurlResult broken = curl_get(s.base_url() + "/sub/b.txt");
  EXPECT_EQ(broken.status, 500) << "a broken expression in .htaccess answers for that tree only";
  EXPECT_EQ(curl_get(s.base_url() + "/a.txt").status, 200);
}

TEST_F(IfSections, ProxiedLocationGetsTheHeaders) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  START_SERVER(s, config("ProxyPass /app/ " + be.url() + "/\n"
                         "<If \"%{REQUEST_URI} =~ m#^/app/#\">\n"
                         "    Header set X-Proxied-If yes\n"
                         "    RequestHeader set X-To-Member from-if\n"
                         "</If>\n"));
  CurlResult r = curl_get(s.base_url() + "/app/hello");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("X-Proxied-If"), "yes");
  auto reqs = be.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().header("X-To-Member"), "from-if");
}

TEST_F(IfSections, ConfigCheckNamesTheLine) {
  std::string path;
  RunResult r = check_config(config("<If \"%{HTTP_HOST} =! 'x'\">\n  Header set A b\n</If>\n"), &path);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(path + ":8: <If \"%{HTTP_HOST} =! 'x'\">: "), std::string::npos) << r.err;
  r = check_config(config("<If \"true\">\n  Listen 8081\n</If>\n"), &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":9: Listen is not allowed in <If>"), std::string::npos) << r.err;
  r = check_config(config("<Else>\n</Else>\n"), &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":8: <Else> must directly follow"), std::string::npos) << r.err;
  r = check_config(config("<If \"%{HTTPS} != 'on'\">\n  Redirect / https://x.example/\n</If>\n"
                          "<ElseIf \"-R '10.0.0.0/8'\">\n  Require all granted\n</ElseIf>\n<Else>\n</Else>\n"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Syntax OK"), std::string::npos);
}

}  // namespace
}  // namespace itest

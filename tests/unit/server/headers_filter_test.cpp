// The headers filter (server/metadata/headers_filter.cpp) over a scripted
// sink, no sockets: which Header lines a response gets by who made it (the
// server's own success, its own error, an application's), mod_expires'
// fields, the sections a request's file and path select, and the body
// passing untouched.
#include "server/metadata/headers_filter.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <ctime>
#include <filesystem>

#include "config/loader.h"
#include "http/http_date.h"
#include "scripted_client.h"
#include "server/metadata/sections.h"
#include "server/site.h"

namespace pillar::server::metadata {
namespace {

class HeadersFilterTest : public ::testing::Test {
 protected:
  std::unique_ptr<config::ServerConfig> cfg;
  Site site;
  Request req;
  test_support::ScriptedSink sink;

  std::string root;  // a temporary directory: "/srv/www" in the lines below stands for its www/

  void SetUp() override {
    char tmpl[] = "/tmp/pillar-headers-filter-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root = tmpl;
    std::filesystem::create_directories(root + "/www/sub");
  }
  void TearDown() override { std::filesystem::remove_all(root); }

  void load(std::string lines) {
    lines = "Listen 127.0.0.1:0\nDocumentRoot /srv/www\n" + lines;
    for (size_t at = lines.find("/srv/www"); at != std::string::npos; at = lines.find("/srv/www", at + 1))
      lines.replace(at, 8, root + "/www");
    config::LoadOptions o;
    o.server_root = "/tmp";
    auto r = config::load_config_text(lines, "t.conf", o);
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    cfg = std::move(r.config);
    site.cfg = &cfg->main_server;
    site.server_banner = "Pillar";
    req.site = &site;
  }
  // A request for `path`, mapped (its sections collected) as the fixups step does.
  void request(const std::string& path) {
    req.path = path;
    req.head.path = req.path;
    req.head_len = 16;
    req.wall = time(nullptr);
    collect_sections(req);
  }
  // The response `fields` with `status` through the filter; the head the sink got.
  std::string respond(int status, const std::string& fields, bool local = true) {
    req.meta.local_answer = local;
    HeadersFilter f(req);
    f.attach(sink);
    f.begin_head(status) += fields;
    f.end_head(http::BodyLength::Known, 4);
    f.body("body");
    return sink.out;
  }
};

TEST_F(HeadersFilterTest, TheServersOwnSuccessGetsBothTables) {
  load("Header set X-OnSuccess yes\nHeader always set X-Always yes\nHeader unset ETag\nHeader always unset Accept-Ranges\n");
  request("/a.txt");
  std::string out = respond(200, "Date: d\r\nServer: Pillar\r\nETag: \"1\"\r\nAccept-Ranges: bytes\r\nContent-Type: text/plain\r\n");
  EXPECT_NE(out.find("X-OnSuccess: yes\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Always: yes\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("ETag"), std::string::npos) << out;
  EXPECT_NE(out.find("Accept-Ranges: bytes\r\n"), std::string::npos) << "always does not see the onsuccess table\n" << out;
  EXPECT_NE(out.find("Content-Length: 4\r\n\r\nbody"), std::string::npos) << out;
}

TEST_F(HeadersFilterTest, TheServersOwnErrorGetsOnlyAlwaysAndKeepsItsFields) {
  load("Header set X-OnSuccess yes\nHeader always set X-Always yes\nHeader always unset Allow\n"
       "ExpiresActive On\nExpiresDefault A60\n");
  request("/nope");
  std::string out = respond(405, "Date: d\r\nAllow: GET\r\nContent-Type: text/html\r\n");
  EXPECT_EQ(out.find("X-OnSuccess"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Always: yes\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Allow: GET\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("Expires"), std::string::npos) << "no Expires on an error\n" << out;
}

TEST_F(HeadersFilterTest, TheServersOwnRedirectGetsExpiresAndAlways) {
  load("Header set X-OnSuccess yes\nHeader always set X-Always yes\nExpiresActive On\nExpiresDefault \"access plus 1 hour\"\n");
  request("/old");
  std::string out = respond(302, "Location: http://x/\r\nContent-Type: text/html\r\n");
  EXPECT_EQ(out.find("X-OnSuccess"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Always: yes\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Cache-Control: max-age=3600\r\n"), std::string::npos) << out;
}

TEST_F(HeadersFilterTest, AnApplicationsFieldsAreInTheAlwaysTable) {
  load("Header unset X-Powered-By\nHeader always unset X-Other\nHeader edit Location ^http: https:\n"
       "Header always edit Set-Cookie $ \"; Secure\"\nHeader set X-OnSuccess yes\n");
  request("/index.php");
  std::string out = respond(404, "Date: d\r\nX-Powered-By: PHP/8.2\r\nX-Other: 1\r\nLocation: http://a/\r\nSet-Cookie: s=1\r\n",
                            false);
  EXPECT_NE(out.find("X-Powered-By: PHP/8.2\r\n"), std::string::npos) << "onsuccess does not see a script's field\n" << out;
  EXPECT_EQ(out.find("X-Other"), std::string::npos) << out;
  EXPECT_NE(out.find("Location: https://a/\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Set-Cookie: s=1; Secure\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X-OnSuccess: yes\r\n"), std::string::npos) << "a script's 404 is not the server's error\n" << out;
}

TEST_F(HeadersFilterTest, ExpiresByTypeWildcardDefaultAndAnExistingExpires) {
  load("ExpiresActive On\nExpiresDefault A10\nExpiresByType image/* A60\nExpiresByType text/html \"access plus 2 minutes\"\n");
  request("/i.png");
  std::string out = respond(200, "Content-Type: image/png\r\nCache-Control: public\r\n");
  EXPECT_NE(out.find("Cache-Control: public, max-age=60\r\n"), std::string::npos) << out;
  char date[30];
  std::string expires = "Expires: " + std::string(date, http::format_http_date(req.wall + 60, date)) + "\r\n";
  EXPECT_NE(out.find(expires), std::string::npos) << out;
  sink.out.clear();
  EXPECT_NE(respond(200, "Content-Type: Text/HTML; charset=utf-8\r\n").find("max-age=120\r\n"), std::string::npos) << sink.out;
  sink.out.clear();
  EXPECT_NE(respond(200, "Content-Type: application/json\r\n").find("max-age=10\r\n"), std::string::npos) << sink.out;
  sink.out.clear();
  std::string kept = respond(200, "Content-Type: image/png\r\nExpires: Thu, 01 Jan 2037 00:00:00 GMT\r\n", false);
  EXPECT_EQ(kept.find("max-age"), std::string::npos) << "an application's Expires stays\n" << kept;
}

// A static 304 sends no Content-Type; the file's type still picks the rule.
TEST_F(HeadersFilterTest, A304GoesByTheFilesType) {
  load("ExpiresActive On\nExpiresDefault A10\nExpiresByType text/plain A100\nHeader set X-OnSuccess yes\n");
  request("/a.txt");
  req.resp.media_type = "text/plain";
  std::string out = respond(304, "ETag: \"1\"\r\n");
  EXPECT_NE(out.find("Cache-Control: max-age=100\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("X-OnSuccess: yes\r\n"), std::string::npos) << "a 304 is a success, as Apache\n" << out;
}

TEST_F(HeadersFilterTest, ModificationExpiresNeedsTheFilesTime) {
  load("ExpiresActive On\nExpiresByType text/plain M3600\n");
  request("/a.txt");
  char lm[30];
  std::string last = std::string(lm, http::format_http_date(req.wall - 600, lm));
  std::string out = respond(200, "Last-Modified: " + last + "\r\nContent-Type: text/plain\r\n");
  EXPECT_NE(out.find("Cache-Control: max-age=3000\r\n"), std::string::npos) << out;
  sink.out.clear();
  out = respond(200, "Content-Type: text/plain\r\n", false);  // not a file: nothing
  EXPECT_EQ(out.find("max-age"), std::string::npos) << out;
  sink.out.clear();
  std::string old = std::string(lm, http::format_http_date(req.wall - 7200, lm));
  out = respond(200, "Last-Modified: " + old + "\r\nContent-Type: text/plain\r\n");
  EXPECT_NE(out.find("Cache-Control: max-age=0\r\n"), std::string::npos) << "a past expiry is now\n" << out;
}

TEST_F(HeadersFilterTest, SectionsByFileAndPathInApachesOrder) {
  load("Header set X-Order vhost\n<Directory /srv/www/sub>\n  Header append X-Order dir\n</Directory>\n"
       "<Files \"*.txt\">\n  Header append X-Order files\n</Files>\n<Location /sub>\n  Header append X-Order loc\n</Location>\n"
       "<Directory /srv/www/other>\n  Header set X-Other 1\n</Directory>\n");
  request("/sub/a.txt");
  EXPECT_NE(respond(200, "").find("X-Order: vhost, dir, files, loc\r\n"), std::string::npos) << sink.out;
  EXPECT_EQ(sink.out.find("X-Other"), std::string::npos) << sink.out;
  sink.out.clear();
  request("/sub/a.html");
  EXPECT_NE(respond(200, "").find("X-Order: vhost, dir, loc\r\n"), std::string::npos) << sink.out;
}

TEST_F(HeadersFilterTest, NoFilterForARequestNoLineConcerns) {
  load("<Location /x>\n  Header set X 1\n</Location>\nRequestHeader set Y 1\n");
  request("/y");
  maybe_push_headers_filter(req);
  EXPECT_TRUE(req.filters.empty());
  request("/x/1");
  maybe_push_headers_filter(req);
  EXPECT_FALSE(req.filters.empty());
}

TEST_F(HeadersFilterTest, ForceResponse10ForAnHttp10Client) {
  load("BrowserMatch Java/1\\.0 force-response-1.0\n");
  request("/a");
  req.head.version_minor = 0;
  req.env.set("force-response-1.0", "1");
  maybe_push_headers_filter(req);
  ASSERT_FALSE(req.filters.empty());
  sink.out = "earlier response bytes HTTP/1.1 \r\n";
  req.filters.top(sink).begin_head(200) += "X: 1\r\n";
  req.filters.top(sink).end_head(http::BodyLength::None, 0);
  EXPECT_NE(sink.out.find("\r\nHTTP/1.0 200\r\nX: 1\r\n"), std::string::npos) << sink.out;
  EXPECT_EQ(sink.out.rfind("earlier response bytes HTTP/1.1 \r\n", 0), 0u) << sink.out;
}

}  // namespace
}  // namespace pillar::server::metadata

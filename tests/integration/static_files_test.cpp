// Static files: headers, HEAD, 404, directories, indexes, protected files,
// symlinks, conditional requests, ranges and methods.
#include <sys/stat.h>

#include <regex>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

class StaticFiles : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  const std::string text = "Hello, Pillar!\n";          // 15 bytes
  const std::string digits = "0123456789abcdefghij";    // 20 bytes

  void SetUp() override {
    tree.write("www/hello.txt", text);
    tree.write("www/digits.txt", digits);
    tree.write("www/page.html", "<html><body>page</body></html>\n");
    tree.write("www/style.css", "body{}\n");
    tree.write("www/with space.txt", "spaced\n");
    tree.write("www/dir/index.html", "<p>dir index</p>\n");
    tree.write("www/dir/other.txt", "other\n");
    tree.write("www/custom/home.html", "<p>home</p>\n");
    tree.write("www/custom/index.html", "<p>plain index</p>\n");
    tree.write("www/list/alpha.txt", "a\n");
    tree.write("www/list/beta.txt", "b\n");
    tree.write("www/list/.htpasswd", "user:secret\n");
    tree.write("www/.htaccess", "Require all denied\n");
    tree.write("www/file.foo", "foo\n");
    tree.set_mtime("www/hello.txt", 1700000000);  // Tue, 14 Nov 2023 22:13:20 GMT
    tree.set_mtime("www/digits.txt", 1700000000);
  }
};

TEST_F(StaticFiles, GetFileHasEntityHeaders) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult r = curl_get(srv.base_url() + "/hello.txt");
  ASSERT_EQ(r.curl_code, 0) << r.curl_error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, text);
  EXPECT_TRUE(r.header("Content-Type").rfind("text/plain", 0) == 0) << r.header("Content-Type");
  EXPECT_EQ(r.header("Content-Length"), std::to_string(text.size()));
  EXPECT_EQ(r.header("Last-Modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
  std::string etag = r.header("ETag");
  EXPECT_TRUE(std::regex_match(etag, std::regex("(W/)?\"[^\"]+\""))) << etag;
  EXPECT_EQ(r.header("Accept-Ranges"), "bytes");
  EXPECT_TRUE(r.has("Date"));
  // Same file, same validator.
  CurlResult again = curl_get(srv.base_url() + "/hello.txt");
  EXPECT_EQ(again.header("ETag"), etag);
}

TEST_F(StaticFiles, ContentTypesByExtension) {
  START_SERVER(srv, basic_config(docroot, "AddType application/x-foo .foo\n"));
  EXPECT_TRUE(curl_get(srv.base_url() + "/page.html").header("Content-Type").rfind("text/html", 0) == 0);
  EXPECT_TRUE(curl_get(srv.base_url() + "/style.css").header("Content-Type").rfind("text/css", 0) == 0);
  CurlResult foo = curl_get(srv.base_url() + "/file.foo");
  EXPECT_EQ(foo.status, 200);
  EXPECT_EQ(foo.header("Content-Type"), "application/x-foo");
}

TEST_F(StaticFiles, PercentEncodedPathAndQueryString) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult r = curl_get(srv.base_url() + "/with%20space.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "spaced\n");
  CurlResult q = curl_get(srv.base_url() + "/hello.txt?x=1&y=2");
  EXPECT_EQ(q.status, 200);
  EXPECT_EQ(q.body, text);
}

// The two paths are told apart by pillar_sendfile_bytes_total: the file's
// bytes go by sendfile with EnableSendfile On, by pread+write with Off.
TEST_F(StaticFiles, LargeFileWithAndWithoutSendfile) {
  std::string big;
  for (int i = 0; big.size() < 300000; ++i) big += "line " + std::to_string(i) + "\n";
  tree.write("www/big.txt", big);
  for (bool on : {true, false}) {
    SCOPED_TRACE(on ? "EnableSendfile On" : "EnableSendfile Off");
    START_SERVER(srv, basic_config(docroot, std::string("EnableSendfile ") + (on ? "On" : "Off") +
                                                "\n<Location /metrics>\n  SetHandler pillar-metrics\n</Location>\n"));
    const long long before = metric_value(srv.port(), "pillar_sendfile_bytes_total");
    const long long sent_before = metric_value(srv.port(), "pillar_sent_bytes_total");
    ASSERT_GE(before, 0) << "no pillar_sendfile_bytes_total in /metrics";
    CurlResult r = curl_get(srv.base_url() + "/big.txt");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Length"), std::to_string(big.size()));
    EXPECT_TRUE(r.body == big) << "body of " << r.body.size() << " bytes differs";
    // The worker adds the response to pillar_sent_bytes_total when it ends,
    // after its last sendfile: once that shows, the sendfile count is final.
    ASSERT_TRUE(eventually([&] {
      return metric_value(srv.port(), "pillar_sent_bytes_total") - sent_before >= static_cast<long long>(big.size());
    })) << "the response never ended in the scoreboard";
    const long long after = metric_value(srv.port(), "pillar_sendfile_bytes_total");
    EXPECT_EQ(after - before, on ? static_cast<long long>(big.size()) : 0);
  }
}

TEST_F(StaticFiles, HeadHasHeadersButNoBody) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult get = curl_get(srv.base_url() + "/hello.txt");
  CurlResult head = curl_head(srv.base_url() + "/hello.txt");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.header("Content-Length"), std::to_string(text.size()));
  EXPECT_EQ(head.header("ETag"), get.header("ETag"));
  EXPECT_EQ(head.header("Last-Modified"), get.header("Last-Modified"));
  EXPECT_EQ(head.header("Content-Type"), get.header("Content-Type"));
  // On the wire: nothing after the header block.
  RawExchange x = raw_exchange(srv.port(), "HEAD /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                               5s, true);
  ASSERT_EQ(x.responses.size(), 1u) << x.data;
  size_t end = x.data.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(x.data.size(), end + 4) << "bytes after the HEAD response headers: " << x.data.substr(end + 4);
}

TEST_F(StaticFiles, MissingFileIs404) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult r = curl_get(srv.base_url() + "/no-such-file.txt");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(icontains(r.header("Content-Type"), "text/html"));
  EXPECT_EQ(curl_get(srv.base_url() + "/no/such/dir/").status, 404);
  // A file used as a directory is not found either.
  EXPECT_EQ(curl_get(srv.base_url() + "/hello.txt/extra").status, 404);
}

// The embedded default's welcome site (its <Location /> sections, on an
// ephemeral port): one page, 404 for what it does not have, the live pages live.
TEST_F(StaticFiles, WelcomeSiteIsOnePageAnd404Elsewhere) {
  START_SERVER(srv, "Listen 127.0.0.1:0\nServerName localhost\n"
                    "<Location />\n  SetHandler pillar-welcome\n</Location>\n"
                    "<Location /server-status>\n  SetHandler server-status\n  Require local\n</Location>\n"
                    "<Location /metrics>\n  SetHandler metrics\n  Require local\n</Location>\n");
  CurlResult home = curl_get(srv.base_url() + "/");
  EXPECT_EQ(home.status, 200);
  EXPECT_NE(home.body.find("/server-status"), std::string::npos) << home.body;
  EXPECT_NE(home.body.find("/metrics"), std::string::npos) << home.body;
  CurlResult missing = curl_get(srv.base_url() + "/favicon.ico");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body.find("Pillar is running"), std::string::npos) << missing.body;
  EXPECT_EQ(curl_get(srv.base_url() + "/docs/x.html").status, 404);
  EXPECT_EQ(curl_get(srv.base_url() + "/server-status?auto").status, 200);
  EXPECT_EQ(curl_get(srv.base_url() + "/metrics").status, 200);
}

TEST_F(StaticFiles, DirectoryWithoutSlashRedirects) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult r = curl_get(srv.base_url() + "/dir");
  EXPECT_EQ(r.status, 301);
  // Absolute, from the Host the client sent, as mod_dir's.
  EXPECT_EQ(r.header("Location"), srv.base_url() + "/dir/");
  EXPECT_EQ(curl_get(srv.base_url() + "/dir", {"Host: www.example.test:8080"}).header("Location"),
            "http://www.example.test:8080/dir/");
  // The query string is kept (mod_dir).
  CurlResult q = curl_get(srv.base_url() + "/dir?a=b");
  EXPECT_EQ(q.status, 301);
  EXPECT_EQ(q.header("Location"), srv.base_url() + "/dir/?a=b");
}

TEST_F(StaticFiles, DirectoryIndex) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult r = curl_get(srv.base_url() + "/dir/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<p>dir index</p>\n");
  EXPECT_TRUE(r.header("Content-Type").rfind("text/html", 0) == 0);
}

TEST_F(StaticFiles, DirectoryIndexCustomListOrder) {
  START_SERVER(srv, basic_config(docroot, "DirectoryIndex home.html index.html\n"));
  EXPECT_EQ(curl_get(srv.base_url() + "/custom/").body, "<p>home</p>\n");
  EXPECT_EQ(curl_get(srv.base_url() + "/dir/").body, "<p>dir index</p>\n");  // falls back to the second name
}

TEST_F(StaticFiles, DirectoryWithoutIndexIsForbiddenWithoutIndexesOption) {
  START_SERVER(srv, basic_config(docroot));
  EXPECT_EQ(curl_get(srv.base_url() + "/list/").status, 403);
}

TEST_F(StaticFiles, OptionsIndexesListsDirectory) {
  START_SERVER(srv, basic_config(docroot, "<Directory \"" + docroot + "/list\">\n  Options Indexes\n</Directory>\n"));
  CurlResult r = curl_get(srv.base_url() + "/list/");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.header("Content-Type").rfind("text/html", 0) == 0);
  EXPECT_NE(r.body.find("alpha.txt"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("beta.txt"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find(".htpasswd"), std::string::npos) << ".ht* files must not be listed";
  // Other directories keep the default (no listing).
  tree.write("www/nolist/x.txt", "x");
  EXPECT_EQ(curl_get(srv.base_url() + "/nolist/").status, 403);
}

// mod_autoindex's HeaderName/ReadmeName: HTML as it is, text in <pre>, found
// relative to the listed directory (per <Directory>), or from the
// DocumentRoot with a leading '/'; another type is not inserted.
TEST_F(StaticFiles, HeaderNameAndReadmeNameAreInsertedInListings) {
  tree.write("www/list/HEADER.html", "<p>the header</p>\n");
  tree.write("www/list/README.txt", "a < b\n");
  tree.write("www/pics/x.gif", "GIF");
  tree.write("www/pics/README.txt", "GIF89a");
  tree.write("www/top-readme.html", "<p>from the root</p>\n");
  START_SERVER(srv, basic_config(docroot, "HeaderName HEADER.html\nReadmeName README.txt\n"
                                          "<Directory \"" + docroot + "/list\">\n  Options Indexes\n</Directory>\n"
                                          "<Directory \"" + docroot + "/pics\">\n  Options Indexes\n"
                                          "  HeaderName x.gif\n  ReadmeName /top-readme.html\n</Directory>\n"));
  CurlResult r = curl_get(srv.base_url() + "/list/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<p>the header</p>"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("<h1>Index of"), std::string::npos) << r.body;  // the header replaces the heading
  EXPECT_NE(r.body.find("<pre>\na &lt; b\n</pre>"), std::string::npos) << r.body;
  CurlResult p = curl_get(srv.base_url() + "/pics/");
  EXPECT_EQ(p.status, 200);
  EXPECT_NE(p.body.find("<h1>Index of /pics/</h1>"), std::string::npos) << p.body;  // a GIF is no header
  EXPECT_EQ(p.body.find("GIF89a"), std::string::npos) << p.body;
  EXPECT_NE(p.body.find("<p>from the root</p>"), std::string::npos) << p.body;
}

TEST_F(StaticFiles, HtaccessIsNeverServed) {
  START_SERVER(srv, basic_config(docroot));
  EXPECT_EQ(curl_get(srv.base_url() + "/.htaccess").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/list/.htpasswd").status, 403);
}

TEST_F(StaticFiles, FilesSectionDenies) {
  tree.write("www/.htsecret", "s");
  tree.write("www/secret.txt", "s");
  tree.write("www/backup.bak", "b");
  START_SERVER(srv, basic_config(docroot,
                                 "<Files \".ht*\">\n  Require all denied\n</Files>\n"
                                 "<Files \"secret.txt\">\n  Require all denied\n</Files>\n"
                                 "<FilesMatch \"\\.bak$\">\n  Require all denied\n</FilesMatch>\n"));
  EXPECT_EQ(curl_get(srv.base_url() + "/.htsecret").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/secret.txt").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/dir/../secret.txt").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/backup.bak").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/hello.txt").status, 200);
}

TEST_F(StaticFiles, SymlinkRefusedWithoutFollowSymLinks) {
  tree.write("outside/secret.txt", "outside secret\n");
  tree.symlink(tree.path("outside/secret.txt"), "www/link.txt");
  tree.symlink("hello.txt", "www/inner-link.txt");
  tree.symlink(tree.path("outside"), "www/linkdir");
  START_SERVER(srv, basic_config(docroot, "<Directory \"" + docroot + "\">\n  Options None\n</Directory>\n"));
  EXPECT_EQ(curl_get(srv.base_url() + "/link.txt").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/inner-link.txt").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/linkdir/secret.txt").status, 403);
  EXPECT_EQ(curl_get(srv.base_url() + "/hello.txt").status, 200);
}

TEST_F(StaticFiles, SymlinkFollowedWithFollowSymLinks) {
  tree.write("outside/secret.txt", "outside secret\n");
  tree.symlink(tree.path("outside/secret.txt"), "www/link.txt");
  START_SERVER(srv,
               basic_config(docroot, "<Directory \"" + docroot + "\">\n  Options FollowSymLinks\n</Directory>\n"));
  CurlResult r = curl_get(srv.base_url() + "/link.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "outside secret\n");
}

TEST_F(StaticFiles, IfNoneMatchGives304) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult r = curl_get(srv.base_url() + "/hello.txt");
  std::string etag = r.header("ETag");
  ASSERT_FALSE(etag.empty());
  CurlResult c = curl_get(srv.base_url() + "/hello.txt", {"If-None-Match: " + etag});
  EXPECT_EQ(c.status, 304);
  EXPECT_EQ(c.body, "");
  EXPECT_EQ(c.header("ETag"), etag);
  EXPECT_EQ(curl_get(srv.base_url() + "/hello.txt", {"If-None-Match: \"other\", " + etag}).status, 304);
  EXPECT_EQ(curl_get(srv.base_url() + "/hello.txt", {"If-None-Match: *"}).status, 304);
  CurlResult miss = curl_get(srv.base_url() + "/hello.txt", {"If-None-Match: \"does-not-match\""});
  EXPECT_EQ(miss.status, 200);
  EXPECT_EQ(miss.body, text);
  // If-None-Match takes precedence over If-Modified-Since (RFC 9110 13.2.2).
  CurlResult both = curl_get(srv.base_url() + "/hello.txt",
                             {"If-None-Match: \"does-not-match\"", "If-Modified-Since: " + r.header("Last-Modified")});
  EXPECT_EQ(both.status, 200);
}

TEST_F(StaticFiles, IfModifiedSinceGives304) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult same = curl_get(srv.base_url() + "/hello.txt", {"If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT"});
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(same.body, "");
  // Later than the file, earlier than now: not modified.
  EXPECT_EQ(curl_get(srv.base_url() + "/hello.txt", {"If-Modified-Since: " + http_date(1710000000)}).status, 304);
  CurlResult older = curl_get(srv.base_url() + "/hello.txt", {"If-Modified-Since: " + http_date(1600000000)});
  EXPECT_EQ(older.status, 200);
  EXPECT_EQ(older.body, text);
  // An invalid date is ignored.
  EXPECT_EQ(curl_get(srv.base_url() + "/hello.txt", {"If-Modified-Since: yesterday"}).status, 200);
}

TEST_F(StaticFiles, IfMatchFailureGives412) {
  START_SERVER(srv, basic_config(docroot));
  EXPECT_EQ(curl_get(srv.base_url() + "/hello.txt", {"If-Match: \"nope\""}).status, 412);
  std::string etag = curl_get(srv.base_url() + "/hello.txt").header("ETag");
  EXPECT_EQ(curl_get(srv.base_url() + "/hello.txt", {"If-Match: " + etag}).status, 200);
}

TEST_F(StaticFiles, SingleRangeGives206) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult r = curl_get(srv.base_url() + "/digits.txt", {"Range: bytes=2-5"});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "2345");
  EXPECT_EQ(r.header("Content-Range"), "bytes 2-5/20");
  EXPECT_EQ(r.header("Content-Length"), "4");
  CurlResult suffix = curl_get(srv.base_url() + "/digits.txt", {"Range: bytes=-3"});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.body, "hij");
  EXPECT_EQ(suffix.header("Content-Range"), "bytes 17-19/20");
  CurlResult open = curl_get(srv.base_url() + "/digits.txt", {"Range: bytes=15-"});
  EXPECT_EQ(open.status, 206);
  EXPECT_EQ(open.body, "fghij");
  CurlResult past = curl_get(srv.base_url() + "/digits.txt", {"Range: bytes=18-100"});
  EXPECT_EQ(past.status, 206);
  EXPECT_EQ(past.body, "ij");
  EXPECT_EQ(past.header("Content-Range"), "bytes 18-19/20");
}

TEST_F(StaticFiles, MultipleRangesGiveMultipart) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult r = curl_get(srv.base_url() + "/digits.txt", {"Range: bytes=0-1,10-12"});
  EXPECT_EQ(r.status, 206);
  std::string ct = r.header("Content-Type");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(ct, m, std::regex("^multipart/byteranges; *boundary=\"?([^\";]+)\"?"))) << ct;
  std::string boundary = m[1];
  EXPECT_EQ(r.header("Content-Length"), std::to_string(r.body.size()));
  EXPECT_NE(r.body.find("--" + boundary + "\r\n"), std::string::npos);
  EXPECT_NE(r.body.find("Content-Range: bytes 0-1/20\r\n\r\n01\r\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("Content-Range: bytes 10-12/20\r\n\r\nabc\r\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("--" + boundary + "--"), std::string::npos) << r.body;
  EXPECT_LT(r.body.find("bytes 0-1/20"), r.body.find("bytes 10-12/20"));
}

TEST_F(StaticFiles, UnsatisfiableRangeGives416) {
  START_SERVER(srv, basic_config(docroot));
  CurlResult r = curl_get(srv.base_url() + "/digits.txt", {"Range: bytes=100-200"});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.header("Content-Range"), "bytes */20");
  // A syntactically invalid Range is ignored: the whole file.
  CurlResult bad = curl_get(srv.base_url() + "/digits.txt", {"Range: lines=1-2"});
  EXPECT_EQ(bad.status, 200);
  EXPECT_EQ(bad.body, digits);
}

TEST_F(StaticFiles, IfRange) {
  START_SERVER(srv, basic_config(docroot));
  std::string etag = curl_get(srv.base_url() + "/digits.txt").header("ETag");
  CurlResult match = curl_get(srv.base_url() + "/digits.txt", {"Range: bytes=0-3", "If-Range: " + etag});
  EXPECT_EQ(match.status, 206);
  EXPECT_EQ(match.body, "0123");
  CurlResult stale = curl_get(srv.base_url() + "/digits.txt", {"Range: bytes=0-3", "If-Range: \"old\""});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, digits);
}

TEST_F(StaticFiles, PostToStaticFileIs405WithAllow) {
  START_SERVER(srv, basic_config(docroot));
  CurlOptions o;
  o.method = "POST";
  o.body = "a=1";
  CurlResult r = curl_request(srv.base_url() + "/hello.txt", o);
  EXPECT_EQ(r.status, 405);
  std::string allow = r.header("Allow");
  EXPECT_TRUE(icontains(allow, "GET")) << allow;
  EXPECT_TRUE(icontains(allow, "HEAD")) << allow;
  o.method = "DELETE";
  o.body.clear();
  CurlResult d = curl_request(srv.base_url() + "/hello.txt", o);
  EXPECT_EQ(d.status, 405);
  EXPECT_TRUE(d.has("Allow"));
}

TEST_F(StaticFiles, UnknownMethodIs501) {
  START_SERVER(srv, basic_config(docroot));
  RawExchange x = raw_exchange(srv.port(), "FROB /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(x.first().status, 501) << x.data;
}

}  // namespace
}  // namespace itest

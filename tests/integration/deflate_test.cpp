// mod_deflate on real responses: a static file, HEAD, Range, an HTTP/1.0
// client, pipelined requests, a proxied body (Content-Length and chunked),
// PHP-FPM's streamed output (FastCGI), the cache (which
// stores the member's bytes: each client gets its coding from the same
// object), no-gzip from the environment, an error page, SetOutputFilter and
// AddOutputFilter; bodies are gunzipped and compared byte for byte. A
// client that leaves in the middle of a compressed body leaves the worker
// serving the next one.
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <random>

#include "backend.h"
#include "codings.h"
#include "php_fpm.h"
#include "test_common.h"

namespace itest {
namespace {

// Byte-exact equality that reports sizes and the first difference, not
// megabytes of text.
::testing::AssertionResult same(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                       << ", first difference at " << i;
}

// About 100 KB of page-like text (compresses several times, not to nothing).
std::string page_text(size_t n = 100 * 1024, unsigned seed = 3) {
  static const char* words[] = {"the ",     "server ",  "answers ", "with ",   "compressed ", "bytes ",
                                "when ",    "asked, ",  "and ",     "plain ",  "ones ",       "otherwise. ",
                                "<p>",      "</p>\n",   "Pillar ",  "Apache "};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) {
    s += words[rng() % 16];
    if (rng() % 7 == 0) s += std::to_string(rng() % 1000) + " ";
  }
  s.resize(n);
  return s;
}

const std::vector<std::string> kGzip = {"Accept-Encoding: gzip, deflate"};

// Sends `request`, reads at least `want` bytes (bounded in time), and
// closes with bytes unread: the server sees the client go mid-body.
std::string read_then_leave(uint16_t port, const std::string& request, size_t want) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    char buf[16384];
    while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return got;
}

class Deflate : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::string page = page_text();
  void SetUp() override {
    tree.write("www/page.txt", page);
    tree.write("www/page.html", page);
    tree.write("www/image.png", page);  // a type nobody listed
    tree.write("www/tiny.txt", "tiny\n");
    tree.write("www/notes.log", page);
  }
  std::string config(const std::string& extra = "") const {
    return basic_config(docroot, "StartServers 1\nServerLimit 1\n"
                                 "AddOutputFilterByType DEFLATE text/html text/plain\n" + extra);
  }
};

TEST_F(Deflate, AStaticFileIsGzippedForAClientThatAsks) {
  START_SERVER(srv, config());
  CurlResult gz = curl_get(srv.base_url() + "/page.txt", kGzip);
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(gz.header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(gz.has("Content-Length"));
  EXPECT_EQ(gz.header("ETag").substr(gz.header("ETag").size() - 6), "-gzip\"");
  EXPECT_LT(gz.body.size(), page.size() / 2);
  bool complete = false;
  EXPECT_TRUE(same(gunzip(gz.body, &complete), page));
  EXPECT_TRUE(complete);

  // The same file, not asked for gzip (or refused with q=0): as it is, with Vary.
  for (const auto& h : std::vector<std::vector<std::string>>{{}, {"Accept-Encoding: gzip;q=0, br"}}) {
    CurlResult plain = curl_get(srv.base_url() + "/page.txt", h);
    EXPECT_EQ(plain.status, 200);
    EXPECT_FALSE(plain.has("Content-Encoding"));
    EXPECT_EQ(plain.header("Vary"), "Accept-Encoding");
    EXPECT_EQ(plain.header("Content-Length"), std::to_string(page.size()));
    EXPECT_TRUE(same(plain.body, page));
  }
  // A type not listed, and a small file, stay as they are (no Vary either).
  CurlResult png = curl_get(srv.base_url() + "/image.png", kGzip);
  EXPECT_FALSE(png.has("Content-Encoding"));
  EXPECT_FALSE(png.has("Vary"));
  EXPECT_TRUE(same(png.body, page));
  CurlResult tiny = curl_get(srv.base_url() + "/tiny.txt", kGzip);
  EXPECT_FALSE(tiny.has("Content-Encoding"));
  EXPECT_EQ(tiny.body, "tiny\n");
}

// The server's own error and redirect pages skip the content filters, as
// Apache's (ap_send_error_response): not compressed, no Vary, even where
// DEFLATE covers text/html.
TEST_F(Deflate, TheServersOwnErrorPagesAreNotCompressed) {
  tree.write("www/dir/x.txt", "x\n");
  START_SERVER(srv, config("SetOutputFilter DEFLATE\n"));
  START_SERVER(redirects, config("Redirect /old http://elsewhere.test/new\nRewriteEngine On\nRewriteRule ^/f - [F]\n"));
  for (const char* path : {"/old", "/f"}) {
    CurlResult r = curl_get(redirects.base_url() + path, kGzip);
    EXPECT_GE(r.status, 300) << path;
    EXPECT_FALSE(r.has("Content-Encoding")) << path;
    EXPECT_FALSE(r.has("Vary")) << path;
  }
  for (const char* path : {"/missing.html", "/dir"}) {
    CurlResult r = curl_get(srv.base_url() + path, kGzip);
    EXPECT_GE(r.status, 300) << path;
    EXPECT_FALSE(r.has("Content-Encoding")) << path;
    EXPECT_FALSE(r.has("Vary")) << path;
  }
}

// mod_brotli's recipe: `BROTLI_COMPRESS;DEFLATE` gives br to a client that
// takes it and gzip to one that takes only gzip, for static files and
// proxied bodies alike; `no-brotli` turns Brotli off where it is set.
TEST_F(Deflate, BrotliForClientsThatTakeBrGzipForTheOthers) {
  std::string body = page_text(120 * 1024, 5);
  Backend be("origin", [&](const BackendRequest&) {
    BackendReply rep;
    rep.bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"v2\"\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body;
    return rep;
  });
  ASSERT_TRUE(be.ok());
  START_SERVER(srv, proxy_front_config(docroot, "AddOutputFilterByType BROTLI_COMPRESS;DEFLATE text/html text/plain\n"
                                                "BrotliCompressionQuality 4\nProxyPass /app/ " + be.url() + "/\n"
                                                "<Location /nobr>\n  SetEnv no-brotli 1\n</Location>\n"));
  const std::vector<std::string> both = {"Accept-Encoding: gzip, deflate, br"};
  CurlResult br = curl_get(srv.base_url() + "/page.txt", both);
  ASSERT_EQ(br.status, 200);
  EXPECT_EQ(br.header("Content-Encoding"), "br");
  EXPECT_EQ(br.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(br.header("ETag").substr(br.header("ETag").size() - 4), "-br\"");
  EXPECT_LT(br.body.size(), page.size() / 2);
  bool complete = false;
  EXPECT_TRUE(same(unbrotli(br.body, &complete), page));
  EXPECT_TRUE(complete);
  CurlResult gz = curl_get(srv.base_url() + "/page.txt", kGzip);
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_TRUE(same(gunzip(gz.body), page));
  CurlResult proxied = curl_get(srv.base_url() + "/app/x", both);
  ASSERT_EQ(proxied.status, 200) << proxied.curl_error;
  EXPECT_EQ(proxied.header("Content-Encoding"), "br");
  EXPECT_EQ(proxied.header("ETag"), "\"v2-br\"");
  EXPECT_TRUE(same(unbrotli(proxied.body, &complete), body));
  EXPECT_TRUE(complete);
  tree.mkdir("www/nobr");
  tree.write("www/nobr/page.html", page);
  CurlResult nobr = curl_get(srv.base_url() + "/nobr/page.html", both);
  EXPECT_EQ(nobr.header("Content-Encoding"), "gzip") << "no-brotli leaves DEFLATE";
  EXPECT_TRUE(same(gunzip(nobr.body), page));
}

// PillarPrecompressed br gzip: FILE.br or FILE.gz beside FILE is sent as
// it is, with FILE's type, its own validators and Vary, to a client that
// takes that coding; a copy older than FILE is never sent; off in a
// <Directory> turns it off there; the DEFLATE filter leaves it alone.
TEST_F(Deflate, PrecompressedCopiesBesideTheFileAreSentToClientsThatTakeThem) {
  std::string gz_bytes = "GZ-COPY-OF-PAGE", br_bytes = "BR-COPY-OF-PAGE";  // not real codings: the test sees them pass untouched
  tree.write("www/page.html.gz", gz_bytes);
  tree.write("www/page.html.br", br_bytes);
  tree.mkdir("www/plain");
  tree.write("www/plain/page.html", page);
  tree.write("www/plain/page.html.gz", gz_bytes);
  START_SERVER(srv, config("PillarPrecompressed br gzip\n<Directory \"" + docroot + "/plain\">\n  PillarPrecompressed off\n"
                           "</Directory>\n"));
  CurlResult br = curl_get(srv.base_url() + "/page.html", {"Accept-Encoding: gzip, br"});
  ASSERT_EQ(br.status, 200);
  EXPECT_EQ(br.header("Content-Encoding"), "br");
  EXPECT_EQ(br.header("Content-Type"), "text/html");
  EXPECT_EQ(br.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(br.header("Content-Length"), std::to_string(br_bytes.size()));
  EXPECT_EQ(br.body, br_bytes);
  CurlResult gz = curl_get(srv.base_url() + "/page.html", kGzip);
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.body, gz_bytes) << "the copy, not gzipped again by DEFLATE";
  EXPECT_NE(gz.header("ETag"), br.header("ETag"));
  CurlResult plain = curl_get(srv.base_url() + "/page.html", {"Accept-Encoding: identity"});
  EXPECT_FALSE(plain.has("Content-Encoding"));
  EXPECT_EQ(plain.header("Vary"), "Accept-Encoding");
  EXPECT_TRUE(same(plain.body, page));
  // A revalidation of the copy's ETag: 304.
  CurlResult again = curl_get(srv.base_url() + "/page.html", {"Accept-Encoding: br", "If-None-Match: " + br.header("ETag")});
  EXPECT_EQ(again.status, 304);
  // Off below /plain: DEFLATE compresses the file itself.
  CurlResult off = curl_get(srv.base_url() + "/plain/page.html", kGzip);
  EXPECT_EQ(off.header("Content-Encoding"), "gzip");
  EXPECT_TRUE(same(gunzip(off.body), page));
  // A copy older than the file is stale: the file is sent (compressed by DEFLATE).
  struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, tree.path("www/page.html.br").c_str(), old, 0), 0);
  CurlResult stale = curl_get(srv.base_url() + "/page.html", {"Accept-Encoding: br"});
  EXPECT_NE(stale.body, br_bytes);
  EXPECT_TRUE(same(stale.body, page));
  // -t names a coding it does not serve.
  RunResult bad = check_config(basic_config(docroot, "PillarPrecompressed zstd\n"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("PillarPrecompressed: 'zstd'"), std::string::npos) << bad.err;
}

TEST_F(Deflate, HeadHasTheSameHeadersAndRangeIsNotCompressed) {
  START_SERVER(srv, config());
  CurlResult get = curl_get(srv.base_url() + "/page.html", kGzip);
  RawExchange head = raw_exchange(srv.port(),
                                  "HEAD /page.html HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n"
                                  "Connection: close\r\n\r\n", 5s, true);
  ASSERT_FALSE(head.responses.empty()) << head.data;
  const HttpResponse& h = head.first();
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Encoding"), "gzip");
  EXPECT_EQ(h.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(h.header("ETag"), get.header("ETag"));
  EXPECT_FALSE(h.has("Content-Length"));
  EXPECT_FALSE(h.has("Transfer-Encoding"));
  EXPECT_EQ(head.data.substr(head.data.find("\r\n\r\n") + 4), "");  // no body bytes at all

  CurlResult range = curl_get(srv.base_url() + "/page.html", {"Accept-Encoding: gzip", "Range: bytes=100-199"});
  EXPECT_EQ(range.status, 206);
  EXPECT_FALSE(range.has("Content-Encoding"));
  EXPECT_EQ(range.header("Vary"), "Accept-Encoding");  // the URL's answer depends on it, as Apache's
  EXPECT_EQ(range.body, page.substr(100, 100));
}

TEST_F(Deflate, AnHttp10ClientGetsACloseDelimitedBody) {
  START_SERVER(srv, config());
  RawExchange r = raw_exchange(srv.port(), "GET /page.txt HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n");
  size_t end = r.data.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << r.data;
  std::string head = r.data.substr(0, end);
  EXPECT_NE(head.find("Content-Encoding: gzip"), std::string::npos) << head;
  EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  EXPECT_EQ(r.close, CloseKind::Eof);
  bool complete = false;
  EXPECT_TRUE(same(gunzip(std::string_view(r.data).substr(end + 4), &complete), page));
  EXPECT_TRUE(complete);
}

TEST_F(Deflate, ProxiedBodiesAreGzippedLengthOrChunked) {
  std::string body = page_text(150 * 1024, 9);
  Backend be("origin", [&](const BackendRequest& r) {
    BackendReply rep;
    if (r.target == "/chunked") {
      rep.bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (size_t at = 0; at < body.size(); at += 10000) {
        std::string piece = body.substr(at, 10000);
        char hex[16];
        std::snprintf(hex, sizeof hex, "%zx\r\n", piece.size());
        rep.bytes += hex + piece + "\r\n";
      }
      rep.bytes += "0\r\n\r\n";
    } else if (r.target == "/encoded") {
      rep.bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: br\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body;
    } else {
      rep.bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"v1\"\r\nVary: Cookie\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    return rep;
  });
  ASSERT_TRUE(be.ok());
  START_SERVER(srv, proxy_front_config(docroot, "AddOutputFilterByType DEFLATE text/html\nProxyPass / " + be.url() + "/\n"));
  CurlResult len = curl_get(srv.base_url() + "/length", kGzip);
  ASSERT_EQ(len.status, 200) << len.curl_error;
  EXPECT_EQ(len.header("Content-Encoding"), "gzip");
  EXPECT_EQ(len.header("Vary"), "Cookie, Accept-Encoding");
  EXPECT_EQ(len.header("ETag"), "\"v1-gzip\"");
  EXPECT_TRUE(same(gunzip(len.body), body));
  CurlResult ch = curl_get(srv.base_url() + "/chunked", kGzip);
  EXPECT_EQ(ch.header("Content-Encoding"), "gzip");
  EXPECT_TRUE(same(gunzip(ch.body), body));
  CurlResult plain = curl_get(srv.base_url() + "/length");
  EXPECT_FALSE(plain.has("Content-Encoding"));
  EXPECT_TRUE(same(plain.body, body));
  // Already encoded by the member: passed as it is.
  CurlResult br = curl_get(srv.base_url() + "/encoded", kGzip);
  EXPECT_EQ(br.header("Content-Encoding"), "br");
  EXPECT_TRUE(same(br.body, body));
}

TEST_F(Deflate, TheCacheStoresTheMembersBytesAndEachClientGetsItsCoding) {
  // 80 KB streams from the store; 30 KB goes out whole with its head (the
  // delivery announces its length and never ends the body itself).
  std::map<std::string, std::string> bodies = {{"/big", page_text(80 * 1024, 5)}, {"/small", page_text(30 * 1024, 6)}};
  Backend be("origin", [&](const BackendRequest& r) {
    const std::string& body = bodies[r.target];
    BackendReply rep;
    rep.bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=300\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body;
    return rep;
  });
  ASSERT_TRUE(be.ok());
  START_SERVER(srv, proxy_front_config(docroot, "CacheSize 16M\nCacheHeader on\nCacheEnable mem /\n"
                                                "AddOutputFilterByType DEFLATE text/plain\nProxyPass / " + be.url() + "/\n"));
  for (const auto& [target, body] : bodies) {
    CurlResult first = curl_get(srv.base_url() + target, kGzip);  // the fill, compressed on its way out
    ASSERT_EQ(first.status, 200) << first.curl_error;
    EXPECT_EQ(first.header("Content-Encoding"), "gzip");
    EXPECT_TRUE(same(gunzip(first.body), body));
    ASSERT_TRUE(eventually([&] { return curl_get(srv.base_url() + target).header("X-Cache").find("HIT") == 0; }));
    CurlResult plain = curl_get(srv.base_url() + target);
    EXPECT_EQ(plain.header("X-Cache").substr(0, 3), "HIT");
    EXPECT_FALSE(plain.has("Content-Encoding"));
    EXPECT_TRUE(same(plain.body, body));
    CurlResult hit = curl_get(srv.base_url() + target, kGzip);
    EXPECT_EQ(hit.header("X-Cache").substr(0, 3), "HIT");
    EXPECT_EQ(hit.header("Content-Encoding"), "gzip");
    EXPECT_EQ(hit.header("Vary"), "Accept-Encoding");
    bool complete = false;
    EXPECT_TRUE(same(gunzip(hit.body, &complete), body)) << target;
    EXPECT_TRUE(complete) << target;
  }
  EXPECT_EQ(be.request_count(), 2u);
}

// The fetching client of a cacheable page reads nothing for a while: the
// proxy stops at its back-pressure (and may hand the client over to the
// store, which then feeds the same filter from where the proxy stopped).
// Another client meanwhile gets the whole page, compressed; the slow one's
// gzip stream, read at last, is whole and byte-exact.
TEST_F(Deflate, ASlowClientOfACacheFillKeepsItsGzipStream) {
  std::string body = page_text(4 << 20, 17);
  Backend be("origin", [&](const BackendRequest&) {
    BackendReply rep;
    rep.bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=300\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body;
    return rep;
  });
  ASSERT_TRUE(be.ok());
  START_SERVER(srv, proxy_front_config(docroot, "CacheSize 32M\nCacheHeader on\nCacheMaxObjectSize 8M\nCacheEnable mem /\n"
                                                "AddOutputFilterByType DEFLATE text/plain\nProxyPass / " + be.url() + "/\n"));
  // A: a small receive buffer, reads the head and stops.
  int a = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rcv = 4096;
  ::setsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(srv.port());
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(a, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  const std::string req = "GET /slow HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(a, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string got;
  auto until = std::chrono::steady_clock::now() + 3s;
  char buf[65536];
  while (got.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < until) {
    pollfd p{a, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(a, buf, 1024, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ASSERT_NE(got.find("Content-Encoding: gzip"), std::string::npos) << got.substr(0, 400);
  // B, meanwhile, gets all of it, compressed too, without waiting for A.
  CurlResult b = curl_get(srv.base_url() + "/slow", kGzip);
  EXPECT_EQ(b.status, 200) << b.curl_error;
  EXPECT_TRUE(same(gunzip(b.body), body));
  // A reads the rest now: a whole chunked gzip stream of the whole page.
  until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{a, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(a, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(a);
  HttpResponse r;
  ASSERT_GT(parse_response(got, r), 0u) << got.size();
  bool complete = false;
  EXPECT_TRUE(same(gunzip(r.body, &complete), body));
  EXPECT_TRUE(complete);
}

TEST_F(Deflate, NoGzipFromTheEnvironmentAndOtherWaysToNameTheFilter) {
  START_SERVER(srv, config("RewriteEngine On\nRewriteRule \\.html$ - [E=no-gzip:1]\n"
                           "<Directory \"" + docroot + "/set\">\n  SetOutputFilter DEFLATE\n</Directory>\n"
                           "AddOutputFilter DEFLATE log\n"));
  tree.write("www/set/data.bin", page);
  CurlResult html = curl_get(srv.base_url() + "/page.html", kGzip);
  EXPECT_FALSE(html.has("Content-Encoding"));
  EXPECT_FALSE(html.has("Vary"));  // no-gzip: as if the filter were not there
  EXPECT_TRUE(same(html.body, page));
  CurlResult bin = curl_get(srv.base_url() + "/set/data.bin", kGzip);  // SetOutputFilter: any type
  EXPECT_EQ(bin.header("Content-Encoding"), "gzip");
  EXPECT_TRUE(same(gunzip(bin.body), page));
  CurlResult log = curl_get(srv.base_url() + "/notes.log", kGzip);  // AddOutputFilter by extension
  EXPECT_EQ(log.header("Content-Encoding"), "gzip");
  EXPECT_TRUE(same(gunzip(log.body), page));
  // The server's own error page (text/html) is not compressed, as Apache's
  // (apache_compare_test: Apache sends it through the protocol filters only).
  CurlResult missing = curl_get(srv.base_url() + "/nope", kGzip);
  EXPECT_EQ(missing.status, 404);
  EXPECT_FALSE(missing.has("Content-Encoding"));
  EXPECT_NE(missing.body.find("Not Found"), std::string::npos);
}

TEST_F(Deflate, AClientThatLeavesMidBodyLeavesTheWorkerServing) {
  std::string big = page_text(8 * 1024 * 1024, 11);
  tree.write("www/big.txt", big);
  START_SERVER(srv, config());
  for (int i = 0; i < 3; ++i) {
    // Read the head and some of the body, then go away (with unread bytes:
    // the server sees a reset).
    std::string got = read_then_leave(srv.port(), "GET /big.txt HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n",
                                      64 * 1024);
    EXPECT_NE(got.find("Content-Encoding: gzip"), std::string::npos) << got.substr(0, 300);
    EXPECT_GE(got.size(), 64u * 1024);
  }
  // The worker goes on: the next requests are answered, whole.
  CurlResult next = curl_get(srv.base_url() + "/page.txt", kGzip);
  EXPECT_EQ(next.status, 200);
  EXPECT_TRUE(same(gunzip(next.body), page));
  CurlResult whole = curl_get(srv.base_url() + "/big.txt", kGzip);
  EXPECT_EQ(whole.status, 200);
  bool complete = false;
  EXPECT_EQ(gunzip(whole.body, &complete).size(), big.size());
  EXPECT_TRUE(complete);
  EXPECT_EQ(srv.stderr_text().find("exit signal"), std::string::npos) << srv.stderr_text();
}

TEST_F(Deflate, ConfigCheckNamesTheLineAndTheFix) {
  std::string path;
  RunResult ok = check_config(config("DeflateCompressionLevel 9\nDeflateAlterETag NoChange\n"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  RunResult bad = check_config(basic_config(docroot, "AddOutputFilterByType DEFLATE;INCLUDES text/html\n"), &path);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(path + ":4: AddOutputFilterByType: the output filter 'INCLUDES' is not available in Pillar"),
            std::string::npos) << bad.err;
  RunResult level = check_config(basic_config(docroot, "DeflateCompressionLevel 11\n"), &path);
  EXPECT_EQ(level.exit_code, 1);
  EXPECT_NE(level.err.find(path + ":4: DeflateCompressionLevel must be between 1 and 9"), std::string::npos) << level.err;
}

TEST_F(Deflate, PipelinedRequestsComeBackWholeAndInOrder) {
  std::string big = page_text(1024 * 1024, 13);
  tree.write("www/big.txt", big);
  START_SERVER(srv, config());
  const std::string get = "Host: localhost\r\nAccept-Encoding: gzip\r\n";
  RawExchange r = raw_exchange(srv.port(),
                               "GET /big.txt HTTP/1.1\r\n" + get + "\r\nGET /page.html HTTP/1.1\r\n" + get +
                                   "\r\nGET /tiny.txt HTTP/1.1\r\n" + get + "Connection: close\r\n\r\n",
                               10s);
  ASSERT_EQ(r.responses.size(), 3u) << r.data.substr(0, 500);
  EXPECT_EQ(r.responses[0].header("Content-Encoding"), "gzip");
  EXPECT_TRUE(same(gunzip(r.responses[0].body), big));
  EXPECT_EQ(r.responses[1].header("Content-Encoding"), "gzip");
  EXPECT_TRUE(same(gunzip(r.responses[1].body), page));
  EXPECT_EQ(r.responses[2].body, "tiny\n");
}

TEST(DeflateFastCgi, PhpOutputIsGzippedAsItStreams) {
  TempTree t;
  START_FPM(fpm, t);
  t.write("www/page.php",
          "<?php header('Content-Type: text/html; charset=utf-8');\n"
          "for ($i = 0; $i < 2000; $i++) { echo \"<p>row $i of the streamed page</p>\\n\"; if ($i % 100 == 0) flush(); }\n");
  t.write("www/data.php", "<?php header('Content-Type: application/octet-stream'); echo str_repeat('x', 5000);\n");
  ::chmod(t.root().c_str(), 0755);
  START_SERVER(srv, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nServerLimit 1\n"
                    "DocumentRoot \"" + t.path("www") + "\"\nAddOutputFilterByType DEFLATE text/html\n"
                    "<FilesMatch \\.php$>\n  SetHandler \"proxy:unix:" + fpm.socket() + "|fcgi://localhost\"\n</FilesMatch>\n");
  std::string expected;
  for (int i = 0; i < 2000; ++i) expected += "<p>row " + std::to_string(i) + " of the streamed page</p>\n";
  CurlResult gz = curl_get(srv.base_url() + "/page.php", kGzip);
  ASSERT_EQ(gz.status, 200) << gz.curl_error;
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  EXPECT_EQ(gz.header("Vary"), "Accept-Encoding");
  bool complete = false;
  EXPECT_TRUE(same(gunzip(gz.body, &complete), expected));
  EXPECT_TRUE(complete);
  EXPECT_EQ(curl_get(srv.base_url() + "/page.php").body, expected);
  CurlResult data = curl_get(srv.base_url() + "/data.php", kGzip);  // a type not listed
  EXPECT_FALSE(data.has("Content-Encoding"));
  EXPECT_EQ(data.body, std::string(5000, 'x'));
}

}  // namespace
}  // namespace itest

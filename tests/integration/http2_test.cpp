// HTTP/2 at the front: libcurl over TLS with ALPN h2 and over cleartext with
// prior knowledge (h2c): static files (body and Content-Length), HEAD, 404,
// an upload, concurrent streams on one connection, a proxied request to an
// HTTP/1.1 member; the Protocols directive deciding who speaks HTTP/2; each
// hostile peer of the issue written as raw frames by tests/integration/
// h2peer.py (python3-h2's hyperframe and hpack): the server answers it as
// limits.h says, stays up, serves a normal request afterwards, and the
// pillar_http2_* counter moved; and a graceful reload that finishes an open
// stream after its GOAWAY.
#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <list>
#include <regex>
#include <string>
#include <vector>

#include "backend.h"
#include "core/base64.h"
#include "codings.h"
#include "test_common.h"

namespace itest {
namespace {

bool sh(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen(("(" + cmd + ") 2>&1").c_str(), "r");
  if (!p) return false;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int rc = pclose(p);
  if (out) *out = text;
  return rc == 0;
}

// What h2peer.py printed (see its header for the events), bounded in time.
std::string peer(uint16_t port, bool tls, const std::string& mode_and_args) {
  std::string out;
  sh("timeout 30 /usr/bin/python3 " PILLAR_H2PEER " " + std::to_string(port) + (tls ? " 1 " : " 0 ") + mode_and_args,
     &out);
  return out;
}
bool has_line(const std::string& out, const std::string& line) {
  return ("\n" + out).find("\n" + line + "\n") != std::string::npos;
}
// Lines of `out` that match `re` whole.
size_t count_lines(const std::string& out, const std::regex& re) {
  size_t n = 0, at = 0;
  while (at < out.size()) {
    size_t nl = out.find('\n', at);
    if (nl == std::string::npos) nl = out.size();
    if (std::regex_match(out.begin() + static_cast<long>(at), out.begin() + static_cast<long>(nl), re)) ++n;
    at = nl + 1;
  }
  return n;
}

struct H2Result {
  int curl_code = -1;
  std::string error;
  int status = 0;
  long version = 0;  // CURL_HTTP_VERSION_2_0 for HTTP/2
  std::string body;
  std::string headers;
  long connects = 0;  // new connections this transfer made
  std::string header(const std::string& lname) const {
    std::smatch m;
    if (std::regex_search(headers, m, std::regex("(^|\n)" + lname + ": ([^\r\n]*)", std::regex::icase))) return m[2];
    return "";
  }
};

size_t on_data(char* p, size_t s, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, s * n);
  return s * n;
}

struct H2Options {
  std::string method = "GET";
  std::string body;
  bool http11 = false;  // ask for HTTP/1.1 only
  std::vector<std::string> headers;  // "Name: value" request fields
};

class H2Client {
 public:
  explicit H2Client(std::string ca) : ca_(std::move(ca)) {}
  // `tls`: https://a.test:PORT with ALPN; else http://127.0.0.1:PORT with prior knowledge.
  CURL* handle(uint16_t port, bool tls, const std::string& path, H2Result& r, const H2Options& o = {}) {
    CURL* h = curl_easy_init();
    std::string url = (tls ? "https://a.test:" : "http://127.0.0.1:") + std::to_string(port) + path;
    resolve_ = curl_slist_append(resolve_, ("a.test:" + std::to_string(port) + ":127.0.0.1").c_str());
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_RESOLVE, resolve_);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca_.c_str());
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                     o.http11 ? CURL_HTTP_VERSION_1_1
                              : (tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE));
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    if (!o.headers.empty()) {
      curl_slist*& list = header_lists_.emplace_back(nullptr);
      for (const auto& f : o.headers) list = curl_slist_append(list, f.c_str());
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    }
    if (o.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (o.method != "GET") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, o.method.c_str());
    if (!o.body.empty()) {
      bodies_.push_back(o.body);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, bodies_.back().data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(bodies_.back().size()));
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
    return h;
  }
  static void collect(CURL* h, CURLcode code, H2Result& r) {
    r.curl_code = code;
    r.error = curl_easy_strerror(code);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    r.status = static_cast<int>(status);
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &r.version);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r.connects);
  }
  H2Result get(uint16_t port, bool tls, const std::string& path, const H2Options& o = {}) {
    H2Result r;
    CURL* h = handle(port, tls, path, r, o);
    collect(h, curl_easy_perform(h), r);
    curl_easy_cleanup(h);
    return r;
  }
  // `n` requests at once, multiplexed on one connection.
  std::vector<H2Result> parallel(uint16_t port, bool tls, const std::vector<std::string>& paths) {
    std::vector<H2Result> rs(paths.size());
    CURLM* m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    std::vector<CURL*> hs;
    for (size_t i = 0; i < paths.size(); ++i) {
      hs.push_back(handle(port, tls, paths[i], rs[i]));
      curl_multi_add_handle(m, hs.back());
    }
    int running = 1;
    while (running) {
      curl_multi_perform(m, &running);
      if (running) curl_multi_poll(m, nullptr, 0, 200, nullptr);
    }
    CURLMsg* msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      for (size_t i = 0; i < hs.size(); ++i)
        if (hs[i] == msg->easy_handle) collect(hs[i], msg->data.result, rs[i]);
    }
    for (CURL* h : hs) {
      curl_multi_remove_handle(m, h);
      curl_easy_cleanup(h);
    }
    curl_multi_cleanup(m);
    return rs;
  }
  ~H2Client() {
    curl_slist_free_all(resolve_);
    for (curl_slist* l : header_lists_) curl_slist_free_all(l);
  }

 private:
  std::string ca_;
  curl_slist* resolve_ = nullptr;
  std::list<curl_slist*> header_lists_;  // stable addresses: a handle keeps its list until the client goes
  std::vector<std::string> bodies_;
};

long long metric(uint16_t plain_port, const std::string& name) {
  CurlResult r = curl_get("http://127.0.0.1:" + std::to_string(plain_port) + "/metrics");
  std::smatch m;
  if (!std::regex_search(r.body, m, std::regex("\n" + name + " ([0-9]+)\n"))) return -1;
  return std::atoll(m[1].str().c_str());
}

class Http2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TempTree();
    const std::string d = certs_->root();
    std::string out;
    ASSERT_TRUE(sh("cd " + d + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
                   "-out ca.pem -days 30 -subj '/CN=Pillar Test CA' -addext basicConstraints=critical,CA:TRUE "
                   "-addext keyUsage=critical,keyCertSign,cRLSign && "
                   "printf 'subjectAltName=DNS:a.test\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > a.ext && "
                   "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout a.key -out a.csr "
                   "-subj '/CN=a.test' && openssl x509 -req -in a.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
                   "-days 30 -out a.crt -extfile a.ext",
                   &out))
        << out;
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  Http2() {
    tree_.write("www/index.html", "hello over h2\n");
    big_ = pattern_bytes(300000, 7);
    tree_.write("www/big.bin", big_);
  }

  // Listener 0: https (vhost a.test); listener 1: cleartext. `protocols`
  // is the server's Protocols line (the vhost inherits it); `extra` goes
  // before the vhost.
  std::string config(const std::string& protocols = "Protocols h2 h2c http/1.1", const std::string& extra = "") {
    std::string be = backend_.ok() ? backend_.url() : "http://127.0.0.1:1";
    return "Listen 127.0.0.1:0 https\nListen 127.0.0.1:0\nServerName localhost\nDocumentRoot \"" + tree_.path("www") +
           "\"\nPidFile \"" + tree_.path("pillar.pid") + "\"\nStartServers 1\n" + protocols + "\n" + extra +
           "\nProxyPass /proxied/ balancer://be/\n<Proxy balancer://be>\n  BalancerMember " + be + "\n</Proxy>\n"
           "<Location /metrics>\n  SetHandler pillar-metrics\n</Location>\n"
           "<VirtualHost *>\n  ServerName a.test\n  DocumentRoot \"" + tree_.path("www") +
           "\"\n  SSLEngine on\n  SSLCertificateFile " + certs_->path("a.crt") + "\n  SSLCertificateKeyFile " +
           certs_->path("a.key") + "\n</VirtualHost>\n";
  }
  H2Client client() { return H2Client(certs_->path("ca.pem")); }

  // After a hostile peer: the server still serves HTTP/2, on a new connection.
  void still_serves(uint16_t tls_port) {
    H2Client c = client();
    H2Result r = c.get(tls_port, true, "/index.html");
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(r.body, "hello over h2\n");
  }

  static TempTree* certs_;
  TempTree tree_;
  std::string big_;
  Backend backend_{"be"};
};
TempTree* Http2::certs_ = nullptr;

TEST_F(Http2, StaticFileHeadAnd404OverTlsAndCleartext) {
  START_SERVER(srv, config(), 2);
  H2Client c = client();
  for (bool tls : {true, false}) {
    SCOPED_TRACE(tls ? "h2 (TLS, ALPN)" : "h2c (prior knowledge)");
    uint16_t port = srv.port(tls ? 0 : 1);
    H2Result r = c.get(port, tls, "/big.bin");
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), std::to_string(big_.size()));
    EXPECT_TRUE(r.body == big_) << "body of " << r.body.size() << " bytes differs";
    EXPECT_TRUE(r.header("connection").empty()) << "no connection-specific field in HTTP/2";

    H2Options head;
    head.method = "HEAD";
    r = c.get(port, tls, "/big.bin", head);
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-length"), std::to_string(big_.size()));
    EXPECT_TRUE(r.body.empty());

    r = c.get(port, tls, "/nothing-here");
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
  }
  EXPECT_GE(metric(srv.port(1), "pillar_http2_sessions_total"), 6);
  EXPECT_GE(metric(srv.port(1), "pillar_http2_streams_total"), 6);
}

// RATE_LIMIT paces a stream's body as it paces HTTP/1.1's: the stream
// flushes the filter when its timer wakes it.
TEST_F(Http2, BandwidthLimitPacesAStream) {
  START_SERVER(srv, config("Protocols h2 h2c http/1.1",
                           "<Location /big.bin>\n  SetOutputFilter RATE_LIMIT\n  SetEnv rate-limit 600\n</Location>\n"),
               2);
  H2Client c = client();
  for (bool tls : {true, false}) {
    SCOPED_TRACE(tls ? "h2" : "h2c");
    const auto t0 = std::chrono::steady_clock::now();
    H2Result r = c.get(srv.port(tls ? 0 : 1), tls, "/big.bin");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_TRUE(r.body == big_) << r.body.size();
    EXPECT_GE(secs, 0.42) << "300000 bytes at 600 KiB/s";
    EXPECT_LT(secs, 2.5);
  }
}

// A compressed file larger than what deflate compresses at once
// (DeflateFilter::kInlineFile) is compressed piece by piece as the stream
// takes it: the stream flushes the filter after the exchange has answered.
TEST_F(Http2, ALargeCompressedFileIsPumpedOverAStream) {
  std::string text;
  for (int i = 0; text.size() < 256 * 1024; ++i) text += "line " + std::to_string(i) + "\n";
  tree_.write("www/text/page.txt", text);
  START_SERVER(srv, config("Protocols h2 h2c http/1.1", "<Location /text>\n  SetOutputFilter DEFLATE\n</Location>\n"), 2);
  H2Client c = client();
  for (bool tls : {true, false}) {
    SCOPED_TRACE(tls ? "h2" : "h2c");
    H2Options gz;
    gz.headers = {"Accept-Encoding: gzip"};
    H2Result r = c.get(srv.port(tls ? 0 : 1), tls, "/text/page.txt", gz);
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-encoding"), "gzip");
    EXPECT_EQ(gunzip(r.body), text);
  }
}

// <If> sections and Header expr= are decided in the shared phases: the
// same answers over a stream as over HTTP/1.1 (tests/integration/if_sections_test.cpp).
TEST_F(Http2, IfSectionsAndHeaderExprOverAStream) {
  START_SERVER(srv, config("Protocols h2 h2c http/1.1",
                           "<If \"req('X-Debug') == '1'\">\n  Header set X-Debug-Mode on\n</If>\n"
                           "<Else>\n  Header set X-Debug-Mode off\n</Else>\n"
                           "<If \"%{REQUEST_URI} =~ m#^/old#\">\n  Redirect permanent / https://new.example/\n</If>\n"
                           "<If \"%{HTTPS} == 'on'\">\n  Header set X-Scheme-Seen https\n</If>\n"
                           "Header always set X-Frame-Options DENY \"expr=%{CONTENT_TYPE} =~ m#text/html#\"\n"),
               2);
  H2Client c = client();
  for (bool tls : {true, false}) {
    SCOPED_TRACE(tls ? "h2" : "h2c");
    uint16_t port = srv.port(tls ? 0 : 1);
    H2Options debug;
    debug.headers = {"X-Debug: 1"};
    H2Result r = c.get(port, tls, "/index.html", debug);
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("x-debug-mode"), "on");
    EXPECT_EQ(r.header("x-frame-options"), "DENY");
    EXPECT_EQ(r.header("x-scheme-seen"), tls ? "https" : "");
    EXPECT_EQ(r.body, "hello over h2\n");
    r = c.get(port, tls, "/big.bin");
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.header("x-debug-mode"), "off");
    EXPECT_TRUE(r.header("x-frame-options").empty());
    r = c.get(port, tls, "/old/page");
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(r.status, 301);
    EXPECT_EQ(r.header("location"), "https://new.example/old/page");
  }
}

// Steps that suspend or refuse on their own run the same over a stream: a
// bcrypt check off the loop (the stream's exchange ends with Resume and the
// phases go on), and PillarRateLimit's 429.
TEST_F(Http2, SuspendedPasswordCheckAndRateLimitOverAStream) {
  if (::access("/usr/bin/htpasswd", X_OK) != 0) GTEST_SKIP() << "htpasswd is not installed (apache2-utils)";
  tree_.write("www/private/doc.txt", "private doc\n");
  std::string out;
  ASSERT_TRUE(sh("htpasswd -cbB -C 6 " + tree_.path("users") + " h2user h2pw", &out)) << out;
  START_SERVER(srv, config("Protocols h2 h2c http/1.1",
                           "PillarRateLimitZone api header=X-Key 5r/s\n"
                           "<Location /private>\n  AuthType Basic\n  AuthName \"H2\"\n  AuthUserFile " +
                               tree_.path("users") + "\n  Require valid-user\n  PillarRateLimit api burst=1\n</Location>\n"),
               2);
  H2Client c = client();
  const std::string good = "Authorization: Basic " + pillar::core::base64_encode("h2user:h2pw");
  const std::string bad = "Authorization: Basic " + pillar::core::base64_encode("h2user:nope");
  for (bool tls : {true, false}) {
    SCOPED_TRACE(tls ? "h2" : "h2c");
    H2Options o;
    o.headers = {good};
    H2Result r = c.get(srv.port(tls ? 0 : 1), tls, "/private/doc.txt", o);
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "private doc\n");
    o.headers = {bad};
    r = c.get(srv.port(tls ? 0 : 1), tls, "/private/doc.txt", o);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header("www-authenticate"), "Basic realm=\"H2\"");
  }
  // Three requests at once, each on its own connection (curl 7.88 cannot
  // reuse an idle h2c connection: it fails with error 16, against nginx
  // too), under 5r/s burst=1: one answered at once, one held back 200 ms
  // (a second suspension of the stream), one refused.
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::future<H2Result>> pending;
  for (int i = 0; i < 3; ++i) {
    pending.push_back(std::async(std::launch::async, [&] {
      H2Options keyed;
      keyed.headers = {good, "X-Key: k"};
      return client().get(srv.port(1), false, "/private/doc.txt", keyed);
    }));
  }
  std::vector<int> statuses;
  for (auto& f : pending) {
    H2Result r = f.get();
    EXPECT_EQ(r.curl_code, CURLE_OK) << r.error;
    statuses.push_back(r.status);
    if (r.status == 429) {
      EXPECT_FALSE(r.header("retry-after").empty());
    } else {
      EXPECT_EQ(r.body, "private doc\n");
    }
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 429}));
  EXPECT_GE(ms, 185) << "the second stream waited for the rate";
}

// A CGI script's local redirect (Location: /path alone) over a stream: the
// phases run again for the path and the stream answers for it.
TEST_F(Http2, ScriptLocalRedirectOverAStream) {
  tree_.write("cgi-bin/local.cgi", "#!/bin/sh\nprintf 'Location: /index.html\\n\\nFIRST-BODY\\n'\n");
  ASSERT_EQ(::chmod(tree_.path("cgi-bin/local.cgi").c_str(), 0755), 0);
  START_SERVER(srv, config("Protocols h2 h2c http/1.1", "ScriptAlias /cgi-bin/ \"" + tree_.path("cgi-bin") + "/\"\n"), 2);
  H2Client c = client();
  for (bool tls : {true, false}) {
    SCOPED_TRACE(tls ? "h2" : "h2c");
    H2Result r = c.get(srv.port(tls ? 0 : 1), tls, "/cgi-bin/local.cgi");
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello over h2\n");
    EXPECT_TRUE(r.header("location").empty());
  }
}

TEST_F(Http2, UploadsAndProxiedRequestsReachAnHttp11Member) {
  ASSERT_TRUE(backend_.ok());
  START_SERVER(srv, config(), 2);
  H2Client c = client();
  // Larger than the stream window (65535): the upload runs on WINDOW_UPDATEs.
  const std::string up = pattern_bytes(200000, 3);
  for (bool tls : {true, false}) {
    SCOPED_TRACE(tls ? "h2" : "h2c");
    H2Options post;
    post.method = "POST";
    post.body = up;
    H2Result r = c.get(srv.port(tls ? 0 : 1), tls, "/proxied/mirror", post);
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == up) << "mirrored " << r.body.size() << " of " << up.size() << " bytes";

    r = c.get(srv.port(tls ? 0 : 1), tls, "/proxied/echo?x=1");
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("x-backend"), "be");
    EchoInfo e = parse_echo(r.body);
    ASSERT_TRUE(e.valid) << r.body;
    EXPECT_EQ(e.version, "HTTP/1.1");  // HTTP/2 to HTTP/1.1 members
    EXPECT_EQ(e.target, "/echo?x=1");
    EXPECT_EQ(e.header("x-forwarded-proto"), tls ? "https" : "http");
  }
  const auto reqs = backend_.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].header("content-length"), std::to_string(up.size()));  // curl sent the length: it goes on
  EXPECT_TRUE(reqs[0].body == up);
}

TEST_F(Http2, ConcurrentStreamsShareOneConnection) {
  ASSERT_TRUE(backend_.ok());
  START_SERVER(srv, config(), 2);
  H2Client c = client();
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i) paths.push_back("/big.bin");
  for (int i = 0; i < 4; ++i) paths.push_back("/proxied/sleep-400");
  auto rs = c.parallel(srv.port(0), true, paths);
  long connects = 0;
  for (size_t i = 0; i < rs.size(); ++i) {
    SCOPED_TRACE(paths[i]);
    ASSERT_EQ(rs[i].curl_code, CURLE_OK) << rs[i].error;
    EXPECT_EQ(rs[i].version, CURL_HTTP_VERSION_2_0);
    EXPECT_EQ(rs[i].status, 200);
    if (i < 4) {
      EXPECT_TRUE(rs[i].body == big_);
    }
    connects += rs[i].connects;
  }
  EXPECT_EQ(connects, 1) << "every stream on one client connection";
  // The proxied streams ran at the same time: each took its own member
  // connection (one after the other would have reused a pooled one).
  EXPECT_GE(backend_.connections_accepted(), 3u);
}

TEST_F(Http2, ProtocolsDecidesWhoSpeaksHttp2) {
  {
    // Apache's default: HTTP/1.1 only. ALPN picks http/1.1; the preface on
    // the cleartext port is no HTTP/1.1 request.
    START_SERVER(srv, config(""), 2);
    H2Client c = client();
    H2Result r = c.get(srv.port(0), true, "/index.html");
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_1_1);
    EXPECT_EQ(r.status, 200);
    r = c.get(srv.port(1), false, "/index.html");
    EXPECT_NE(r.version, CURL_HTTP_VERSION_2_0);
    EXPECT_TRUE(r.curl_code != CURLE_OK || r.status >= 400) << r.status;
    EXPECT_EQ(metric(srv.port(1), "pillar_http2_sessions_total"), 0);
  }
  {
    // h2 without h2c: TLS only.
    START_SERVER(srv, config("Protocols h2 http/1.1"), 2);
    H2Client c = client();
    H2Result r = c.get(srv.port(0), true, "/index.html");
    ASSERT_EQ(r.curl_code, CURLE_OK) << r.error;
    EXPECT_EQ(r.version, CURL_HTTP_VERSION_2_0);
    r = c.get(srv.port(1), false, "/index.html");
    EXPECT_NE(r.version, CURL_HTTP_VERSION_2_0);
    // An HTTP/1.1 client is still served on both.
    H2Options h1;
    h1.http11 = true;
    EXPECT_EQ(c.get(srv.port(1), false, "/index.html", h1).status, 200);
    EXPECT_EQ(c.get(srv.port(0), true, "/index.html", h1).version, CURL_HTTP_VERSION_1_1);
  }
}

TEST_F(Http2, ConfigCheckCatchesBadValues) {
  const std::pair<std::string, std::string> cases[] = {
      {"H2Push on", "H2Push on: HTTP/2 server push is not supported"},
      {"H2WindowSize 10", "H2WindowSize"},
      {"H2MaxSessionStreams 0", "H2MaxSessionStreams"},
      {"Protocols h3 http/1.1", "'h3' is not a protocol"},
      {"ProtocolsHonorOrder maybe", "ProtocolsHonorOrder"},
      {"H2StreamMaxMemSize lots", "H2StreamMaxMemSize"},
  };
  for (const auto& [line, message] : cases) {
    std::string path;
    RunResult r = check_config(basic_config(tree_.path("www"), "\n" + line), &path);
    EXPECT_NE(r.exit_code, 0) << line;
    EXPECT_NE((r.out + r.err).find(path + ":5: "), std::string::npos) << line << ": " << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(message), std::string::npos) << line << ": " << r.out << r.err;
  }
  RunResult ok = check_config(basic_config(tree_.path("www"),
                                           "Protocols h2 h2c http/1.1\nProtocolsHonorOrder off\nH2Push off\n"
                                           "H2MaxSessionStreams 50\nH2WindowSize 1048576\nH2StreamMaxMemSize 131072\n"
                                           "H2Direct on"));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
}

// ---- hostile peers ------------------------------------------------------------------

TEST_F(Http2, RapidResetEndsTheConnection) {
  START_SERVER(srv, config(), 2);
  std::string out = peer(srv.port(0), true, "rapid_reset 1000");
  EXPECT_TRUE(std::regex_search(out, std::regex("\ngoaway [0-9]+ 11\n"))) << out;  // ENHANCE_YOUR_CALM
  EXPECT_TRUE(has_line(out, "eof")) << out;
  EXPECT_GE(metric(srv.port(1), "pillar_http2_rapid_resets_total"), 1);
  still_serves(srv.port(0));
}

TEST_F(Http2, ContinuationFloodEndsTheConnection) {
  START_SERVER(srv, config(), 2);
  std::string out = peer(srv.port(1), false, "continuation 40");
  EXPECT_TRUE(std::regex_search(out, std::regex("\ngoaway [0-9]+ 11\n"))) << out;
  EXPECT_GE(metric(srv.port(1), "pillar_http2_header_floods_total"), 1);
  still_serves(srv.port(0));
}

TEST_F(Http2, HpackBombIsAnswered431AndTheConnectionGoesOn) {
  START_SERVER(srv, config(), 2);
  // 150 references to a 4000-byte field: 600 KB decoded from a few hundred
  // bytes, over LimitRequestFields (100).
  std::string out = peer(srv.port(0), true, "hpack_bomb 150");
  EXPECT_TRUE(has_line(out, "status 1 200")) << out;
  EXPECT_TRUE(has_line(out, "status 3 431")) << out;
  EXPECT_TRUE(has_line(out, "status 5 200")) << out;
  EXPECT_GE(metric(srv.port(1), "pillar_http2_header_floods_total"), 1);
}

TEST_F(Http2, ControlFrameFloodsEndTheConnection) {
  START_SERVER(srv, config(), 2);
  for (const char* mode : {"settings_flood 5000", "ping_flood 5000", "window_flood 5000", "empty_data_flood 5000"}) {
    SCOPED_TRACE(mode);
    long long before = metric(srv.port(1), "pillar_http2_control_floods_total");
    std::string out = peer(srv.port(1), false, mode);
    EXPECT_TRUE(std::regex_search(out, std::regex("\ngoaway [0-9]+ 11\n"))) << out;
    EXPECT_GT(metric(srv.port(1), "pillar_http2_control_floods_total"), before);
  }
  still_serves(srv.port(0));
}

TEST_F(Http2, ZeroWindowStallIsResetAfterTimeout) {
  START_SERVER(srv, config("Protocols h2 h2c http/1.1", "Timeout 1"), 2);
  std::string out = peer(srv.port(1), false, "zero_window /big.bin 8");
  EXPECT_TRUE(has_line(out, "status 1 200")) << out;
  EXPECT_TRUE(has_line(out, "rst 1 8")) << out;  // CANCEL: the window stayed shut for Timeout
  EXPECT_TRUE(has_line(out, "status 3 200")) << out;  // the connection serves on
  EXPECT_GE(metric(srv.port(1), "pillar_http2_stalled_streams_total"), 1);
}

TEST_F(Http2, StreamIdAbuseIsAProtocolError) {
  START_SERVER(srv, config(), 2);
  std::string out = peer(srv.port(0), true, "even_stream");
  EXPECT_TRUE(std::regex_search(out, std::regex("\ngoaway 0 1\n"))) << out;  // PROTOCOL_ERROR
  EXPECT_TRUE(has_line(out, "eof")) << out;
  EXPECT_GE(metric(srv.port(1), "pillar_http2_protocol_errors_total"), 1);
  out = peer(srv.port(0), true, "data_idle");
  EXPECT_TRUE(std::regex_search(out, std::regex("\ngoaway 0 1\n"))) << out;
  EXPECT_GE(metric(srv.port(1), "pillar_http2_protocol_errors_total"), 2);
  still_serves(srv.port(0));
}

TEST_F(Http2, StreamsOverH2MaxSessionStreamsAreRefused) {
  START_SERVER(srv, config("Protocols h2 h2c http/1.1\nH2MaxSessionStreams 3"), 2);
  // Five streams that stay open (their bodies never come), sent before the
  // client read our SETTINGS: the two over the limit get REFUSED_STREAM.
  std::string out = peer(srv.port(1), false, "too_many_streams 5 2");
  EXPECT_TRUE(has_line(out, "settings 2=0,3=3,4=65535,6=819000")) << out;
  EXPECT_EQ(count_lines(out, std::regex("rst [0-9]+ 7")), 2u) << out;
  EXPECT_TRUE(has_line(out, "rst 9 7")) << out;
  EXPECT_FALSE(has_line(out, "rst 1 7")) << out;
  EXPECT_GE(metric(srv.port(1), "pillar_http2_refused_streams_total"), 2);
  still_serves(srv.port(0));
}

TEST_F(Http2, MalformedRequestsAreStreamErrors) {
  START_SERVER(srv, config(), 2);
  for (const char* kind : {"no_path", "no_method", "upper", "connection"}) {
    SCOPED_TRACE(kind);
    std::string out = peer(srv.port(1), false, std::string("malformed ") + kind);
    EXPECT_TRUE(has_line(out, "rst 1 1")) << out;  // PROTOCOL_ERROR, on the stream only
    EXPECT_FALSE(has_line(out, "status 1 200")) << out;
    EXPECT_TRUE(has_line(out, "status 3 200")) << out;
  }
  // END_STREAM short of the Content-Length.
  std::string out = peer(srv.port(1), false, "short_body");
  EXPECT_TRUE(has_line(out, "rst 1 1")) << out;
  EXPECT_TRUE(has_line(out, "status 3 200")) << out;
}

// ---- reload --------------------------------------------------------------------------

TEST_F(Http2, GracefulReloadFinishesAnOpenStream) {
  ASSERT_TRUE(backend_.ok());
  START_SERVER(srv, config(), 2);
  auto done = std::async(std::launch::async, [&] { return peer(srv.port(0), true, "slow_then_drain /proxied/sleep-1500"); });
  // The stream is open once the member has the request.
  ASSERT_TRUE(eventually([&] { return backend_.request_count() >= 1; }, 5s));
  ASSERT_EQ(kill(srv.pid(), SIGUSR1), 0);
  std::string out = done.get();
  EXPECT_TRUE(has_line(out, "goaway 1 0")) << out;  // NO_ERROR, naming the stream it finishes
  EXPECT_TRUE(has_line(out, "status 1 200")) << out;
  EXPECT_TRUE(has_line(out, "end 1")) << out;
  EXPECT_TRUE(has_line(out, "eof")) << out;  // then the old generation closes
  EXPECT_LT(out.find("goaway 1 0"), out.find("end 1")) << "GOAWAY first, then the stream's end: " << out;
  still_serves(srv.port(0));  // the new generation speaks HTTP/2 too
}

}  // namespace
}  // namespace itest

// FastCGI (mod_proxy_fcgi) against a real PHP-FPM started by the test (a
// pool on a unix socket and one on 127.0.0.1 TCP), and against a fake
// FastCGI application written here for the faults PHP-FPM will not produce
// (garbage, truncated records, a close mid-response, an overloaded answer).
// Also: the source of a script that no handler runs is never sent.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "fcgi_stand_in.h"
#include "load_generator.h"
#include "php_fpm.h"
#include "test_common.h"

namespace itest {
namespace {

void write_scripts(TempTree& t) {
  t.write("www/env.php",
          "<?php header('X-Pid: ' . getmypid());\n"
          "foreach (['SCRIPT_NAME','PATH_INFO','QUERY_STRING','REMOTE_ADDR','REQUEST_URI','REQUEST_METHOD',\n"
          "  'HTTP_X_TEST','HTTP_PROXY','SCRIPT_FILENAME','DOCUMENT_ROOT','GATEWAY_INTERFACE','SERVER_PROTOCOL',\n"
          "  'CONTENT_TYPE','CONTENT_LENGTH','PATH_TRANSLATED'] as $k)\n"
          "  echo $k, '=', $_SERVER[$k] ?? '<unset>', \"\\n\";\n"
          "error_log('env.php was here');\n");
  t.write("www/post.php", "<?php $b = file_get_contents('php://input'); echo strlen($b), ' ', md5($b);\n");
  t.write("www/big.php",
          "<?php $chunk = str_repeat('0123456789abcdef', 4096); $n = (int)$_GET['mib'] * 16;\n"
          "for ($i = 0; $i < $n; $i++) { echo $chunk; flush(); }\n");
  t.write("www/status.php",
          "<?php if (isset($_GET['loc'])) { header('Location: ' . $_GET['loc']); exit; }\n"
          "http_response_code(404); header('X-Script: status'); echo \"no such thing\\n\";\n");
  t.write("www/local.php", "<?php header('Location: ' . $_GET['to'], true, 200); echo 'FIRST-BODY';\n");
  t.write("www/loop.php", "<?php header('Location: /loop.php', true, 200);\n");
  t.write("www/second.php",
          "<?php header('X-Second: 1');\n"
          "foreach (['REDIRECT_URL','REDIRECT_STATUS','REDIRECT_QUERY_STRING','REDIRECT_APP_ENV','REQUEST_METHOD',\n"
          "  'QUERY_STRING','REQUEST_URI','SCRIPT_NAME'] as $k)\n"
          "  echo $k, '=', $_SERVER[$k] ?? '<unset>', \"\\n\";\n");
  t.write("www/sleep.php", "<?php sleep((int)$_GET['s']); echo \"slept\\n\";\n");
  t.write("www/secret.phtml", "<?php echo 'SOURCE-MARKER'; ?>\n");
  t.write("www/raw/shown.phtml", "<?php echo 'SHOWN-MARKER'; ?>\n");
  t.write("www/index.html", "static index\n");
  t.write("www/tcp/env.php", t.read("www/env.php"));
  ::chmod(t.root().c_str(), 0755);
}

std::string fcgi_config(const TempTree& t, const PhpFpm& fpm, const std::string& extra = "") {
  return "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nServerLimit 1\nEventThreadsPerChild 1\n"
         "DocumentRoot \"" + t.path("www") + "\"\nPidFile " + t.path("pillar.pid") + "\n"
         "<FilesMatch \\.php$>\n  SetHandler \"proxy:unix:" + fpm.socket() + "|fcgi://localhost\"\n</FilesMatch>\n"
         "<Location /tcp>\n  SetHandler \"proxy:fcgi://127.0.0.1:" + std::to_string(fpm.tcp_port()) + "\"\n</Location>\n"
         "ProxyPassMatch ^/pm/(.*\\.php(/.*)?)$ fcgi://127.0.0.1:" + std::to_string(fpm.tcp_port()) + t.path("www") + "/$1\n"
         "<Location /raw>\n  ScriptSourceGuard Off\n</Location>\n" + extra;
}

std::map<std::string, std::string> env_lines(const std::string& body) {
  std::map<std::string, std::string> m;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    std::string line = body.substr(pos, nl - pos);
    size_t eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return m;
}

TEST(FastCgi, PhpFpmEnvironmentOverUnixSocketAndTcp) {
  TempTree t;
  write_scripts(t);
  START_FPM(fpm, t);
  START_SERVER(s, fcgi_config(t, fpm));
  auto r = curl_get(s.base_url() + "/env.php/extra/path?a=1&b=two", {"X-Test: yes", "Proxy: http://evil.example/"});
  ASSERT_EQ(r.status, 200) << r.body;
  auto env = env_lines(r.body);
  EXPECT_EQ(env["SCRIPT_NAME"], "/env.php");
  EXPECT_EQ(env["PATH_INFO"], "/extra/path");
  EXPECT_EQ(env["PATH_TRANSLATED"], t.path("www") + "/extra/path");
  EXPECT_EQ(env["QUERY_STRING"], "a=1&b=two");
  EXPECT_EQ(env["REQUEST_URI"], "/env.php/extra/path?a=1&b=two");
  EXPECT_EQ(env["REMOTE_ADDR"], "127.0.0.1");
  EXPECT_EQ(env["REQUEST_METHOD"], "GET");
  EXPECT_EQ(env["HTTP_X_TEST"], "yes");
  EXPECT_EQ(env["HTTP_PROXY"], "<unset>") << "httpoxy: the Proxy field never becomes HTTP_PROXY";
  EXPECT_EQ(env["SCRIPT_FILENAME"], t.path("www") + "/env.php");
  EXPECT_EQ(env["DOCUMENT_ROOT"], t.path("www"));
  EXPECT_EQ(env["GATEWAY_INTERFACE"], "CGI/1.1");
  EXPECT_EQ(env["SERVER_PROTOCOL"], "HTTP/1.1");
  EXPECT_FALSE(r.header("X-Pid").empty());
  // The stderr record reached the error log, with the vhost.
  EXPECT_TRUE(eventually([&] { return s.stderr_text().find("FastCGI stderr: PHP message: env.php was here") != std::string::npos; }))
      << s.stderr_text();

  // The TCP pool, through <Location /tcp> SetHandler.
  auto tcp = curl_get(s.base_url() + "/tcp/env.php?x=1");
  ASSERT_EQ(tcp.status, 200) << tcp.body;
  EXPECT_EQ(env_lines(tcp.body)["SCRIPT_NAME"], "/tcp/env.php");
  EXPECT_EQ(env_lines(tcp.body)["QUERY_STRING"], "x=1");

  // ProxyPassMatch: PHP-FPM splits the script path itself.
  auto pm = curl_get(s.base_url() + "/pm/env.php/more?q=2");
  ASSERT_EQ(pm.status, 200) << pm.body;
  auto penv = env_lines(pm.body);
  EXPECT_EQ(penv["SCRIPT_FILENAME"], t.path("www") + "/env.php");
  EXPECT_EQ(penv["PATH_INFO"], "/more");
  EXPECT_EQ(penv["QUERY_STRING"], "q=2");
}

TEST(FastCgi, PostBodyStreamedAndChunked) {
  TempTree t;
  write_scripts(t);
  START_FPM(fpm, t);
  START_SERVER(s, fcgi_config(t, fpm));
  std::string body(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 131) ^ (i >> 9));
  std::string md5;
  {  // the expected digest, from coreutils
    std::string f = t.write("body.bin", body);
    FILE* p = popen(("md5sum " + f).c_str(), "r");
    char buf[64] = {};
    ASSERT_TRUE(std::fgets(buf, sizeof buf, p));
    pclose(p);
    md5 = std::string(buf, 32);
  }
  CurlOptions o;
  o.method = "POST";
  o.body = body;
  o.timeout = 20s;
  o.headers = {"Content-Type: application/octet-stream"};
  auto r = curl_request(s.base_url() + "/post.php", o);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, std::to_string(body.size()) + " " + md5);
  o.headers.push_back("Transfer-Encoding: chunked");  // spooled, then sent with its CONTENT_LENGTH
  auto c = curl_request(s.base_url() + "/post.php", o);
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.body, std::to_string(body.size()) + " " + md5);
}

// Decodes a chunked body as it arrives, checking each payload byte against
// big.php's 16-byte pattern without holding the body.
struct ChunkedCheck {
  uint64_t payload = 0, left = 0;
  bool in_data = false, done = false, bad = false;
  size_t crlf = 0;  // bytes of the CRLF after a chunk's data still to skip
  std::string line;
  std::string pattern = std::string(4096 + 16, '\0');
  ChunkedCheck() {
    for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = "0123456789abcdef"[i % 16];
  }
  void feed(const char* p, size_t n) {
    while (n > 0 && !done && !bad) {
      if (crlf > 0) {
        bad = *p != "\r\n"[2 - crlf];
        --crlf, ++p, --n;
      } else if (in_data) {
        size_t k = static_cast<size_t>(std::min<uint64_t>({left, n, 4096}));
        bad = std::memcmp(p, pattern.data() + payload % 16, k) != 0;
        payload += k, left -= k, p += k, n -= k;
        if (left == 0) in_data = false, crlf = 2;
      } else {
        line += *p++, --n;
        if (line.size() > 32) bad = true;
        if (!line.ends_with("\r\n")) continue;
        left = std::strtoull(line.c_str(), nullptr, 16);
        line.clear();
        if (left == 0) done = true;
        else in_data = true;
      }
    }
  }
};

TEST(FastCgi, LargeResponseToSlowClientKeepsMemoryBounded) {
  TempTree t;
  write_scripts(t);
  START_FPM(fpm, t);
  START_SERVER(s, fcgi_config(t, fpm));
  std::vector<pid_t> workers;
  ASSERT_TRUE(eventually([&] { return (workers = child_pids(s.pid())).size() == 1; }, 5s));
  pid_t worker = workers[0];
  ASSERT_EQ(curl_get(s.base_url() + "/index.html").status, 200);
  long before = proc_status_kb(worker, "RssAnon");
  constexpr int kMiB = 200;  // issue 13: a 200 MiB download through PHP
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int small = 16 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(s.port());
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  std::string req = "GET /big.php?mib=" + std::to_string(kMiB) + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  // The client reads nothing for a while: PHP must be held back, not buffered.
  long peak = before;
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    peak = std::max(peak, proc_status_kb(worker, "RssAnon"));
    std::this_thread::sleep_for(50ms);  // the sampling period of a stalled client, not synchronisation
  }
  // Then it reads everything: the whole body arrives, byte for byte.
  std::string head;
  ChunkedCheck body;
  static char buf[1 << 16];
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto t0 = std::chrono::steady_clock::now();
  int reads = 0;
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    const char* p = buf;
    size_t len = static_cast<size_t>(n);
    if (head.find("\r\n\r\n") == std::string::npos) {
      size_t had = head.size();
      head.append(p, len);
      size_t end = head.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      size_t used = end + 4 - had;
      head.resize(end + 4);
      p += used, len -= used;
    }
    body.feed(p, len);
    if (++reads % 16 == 0) peak = std::max(peak, proc_status_kb(worker, "RssAnon"));
  }
  auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
  ::close(fd);
  peak = std::max(peak, proc_status_kb(worker, "RssAnon"));
  ASSERT_EQ(head.substr(0, 12), "HTTP/1.1 200") << head.substr(0, 300);
  ASSERT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_FALSE(body.bad) << "at payload byte " << body.payload;
  EXPECT_TRUE(body.done) << "no last chunk";
  EXPECT_EQ(body.payload, static_cast<uint64_t>(kMiB) << 20);
  std::printf("[ memory   ] %d MiB from PHP to a stalled client, read in %lld ms: worker RssAnon %ld kB before, peak %ld kB\n",
              kMiB, static_cast<long long>(took.count()), before, peak);
  EXPECT_LT(peak - before, 8 * 1024) << "the worker held the response instead of pacing PHP";
}

TEST(FastCgi, StatusAndLocationFromTheScript) {
  TempTree t;
  write_scripts(t);
  START_FPM(fpm, t);
  START_SERVER(s, fcgi_config(t, fpm));
  auto nf = curl_get(s.base_url() + "/status.php");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.header("X-Script"), "status");
  EXPECT_EQ(nf.body, "no such thing\n");
  auto local = curl_get(s.base_url() + "/status.php?loc=/index.html");
  EXPECT_EQ(local.status, 302) << "PHP's header('Location') sends Status: 302: the client's redirect";
  EXPECT_EQ(local.header("Location"), "/index.html");
  auto remote = curl_get(s.base_url() + "/status.php?loc=http://example.test/x");
  EXPECT_EQ(remote.status, 302);
  EXPECT_EQ(remote.header("Location"), "http://example.test/x");
  auto head = curl_head(s.base_url() + "/status.php");
  EXPECT_EQ(head.status, 404);
  EXPECT_TRUE(head.body.empty());
}

// A PHP script that answers 200 with only a Location: /path (header(...,
// true, 200): php-fpm then sends no Status:) is a local redirect (RFC 3875
// 6.2.2): the request is answered for the path, as by Apache's
// mod_proxy_fcgi, and PHP's own body is dropped.
TEST(FastCgi, LocalRedirectFromPhpAnswersForThePath) {
  TempTree t;
  write_scripts(t);
  START_FPM(fpm, t);
  START_SERVER(s, fcgi_config(t, fpm, "SetEnv APP_ENV staging\n"));
  auto r = curl_get(s.base_url() + "/local.php?to=/index.html");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "static index\n");
  EXPECT_FALSE(r.has("Location"));
  r = curl_get(s.base_url() + "/local.php?to=" + "/second.php%3Fx%3D1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("X-Second"), "1");
  EXPECT_EQ(r.body.find("FIRST-BODY"), std::string::npos) << r.body;
  auto env = env_lines(r.body);
  EXPECT_EQ(env["REDIRECT_URL"], "/local.php");
  EXPECT_EQ(env["REDIRECT_STATUS"], "200");
  EXPECT_EQ(env["REDIRECT_QUERY_STRING"], "to=/second.php%3Fx%3D1");
  EXPECT_EQ(env["REDIRECT_APP_ENV"], "staging") << "the first run's variables, renamed as Apache does";
  EXPECT_EQ(env["REQUEST_METHOD"], "GET");
  EXPECT_EQ(env["QUERY_STRING"], "x=1");
  EXPECT_EQ(env["REQUEST_URI"], "/second.php?x=1");
  EXPECT_EQ(env["SCRIPT_NAME"], "/second.php");
  // Again and again on the kept FastCGI connections.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(curl_get(s.base_url() + "/local.php?to=/second.php").status, 200);
  CurlOptions post;
  post.method = "POST";
  post.body = "a=1&b=2";
  r = curl_request(s.base_url() + "/local.php?to=/second.php", post);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(env_lines(r.body)["REQUEST_METHOD"], "GET");
  EXPECT_EQ(curl_get(s.base_url() + "/loop.php").status, 500)
      << "a redirect loop ends at LimitInternalRecursion";
}

// The request's environment reaches PHP (SetEnv, SetEnvIf, and Debian's
// php8.2-fpm.conf line that hands PHP the Authorization field), and a
// script's fields are in mod_headers' `always` table, as with Apache.
TEST(FastCgi, RequestEnvironmentAndHeaderTables) {
  TempTree t;
  write_scripts(t);
  t.write("www/vars.php",
          "<?php header('X-App: 1'); header('X-Kept: 1');\n"
          "foreach (['APP_ENV','FROM_IF','HTTP_AUTHORIZATION','SERVER_SIGNATURE'] as $k)\n"
          "  echo $k, '=', $_SERVER[$k] ?? '<unset>', \"\\n\";\n");
  START_FPM(fpm, t);
  START_SERVER(s, fcgi_config(t, fpm, "SetEnv APP_ENV prod\nSetEnvIf User-Agent ^tester FROM_IF=yes\n"
                                      "SetEnvIfNoCase ^Authorization$ \"(.+)\" HTTP_AUTHORIZATION=$1\n"
                                      "Header always unset X-App\nHeader unset X-Kept\nHeader set X-OnSuccess yes\n"));
  auto r = curl_get(s.base_url() + "/vars.php", {"User-Agent: tester", "Authorization: Basic dTpw"});
  ASSERT_EQ(r.status, 200) << r.body;
  auto env = env_lines(r.body);
  EXPECT_EQ(env["APP_ENV"], "prod");
  EXPECT_EQ(env["FROM_IF"], "yes");
  EXPECT_EQ(env["HTTP_AUTHORIZATION"], "Basic dTpw");
  EXPECT_EQ(env["SERVER_SIGNATURE"], "");  // ServerSignature Off
  EXPECT_FALSE(r.has("X-App")) << "Header always unset reaches a script's field";
  EXPECT_EQ(r.header("X-Kept"), "1") << "Header unset (onsuccess) does not, as Apache";
  EXPECT_EQ(r.header("X-OnSuccess"), "yes");
}
TEST(FastCgi, TimeoutIs504AndStoppedPoolIs503) {
  TempTree t;
  write_scripts(t);
  START_FPM(fpm, t);
  START_SERVER(s, fcgi_config(t, fpm, "ProxyTimeout 1\n"));
  auto t0 = std::chrono::steady_clock::now();
  CurlOptions o;
  o.timeout = 10s;
  auto slow = curl_request(s.base_url() + "/sleep.php?s=4", o);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(slow.status, 504);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(curl_get(s.base_url() + "/sleep.php?s=0").status, 200) << "the next request is served";
  fpm.stop();
  t0 = std::chrono::steady_clock::now();
  auto down = curl_get(s.base_url() + "/env.php");
  EXPECT_EQ(down.status, 503);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  auto tcp_down = curl_get(s.base_url() + "/tcp/env.php");
  EXPECT_EQ(tcp_down.status, 503);
  EXPECT_TRUE(eventually([&] { return s.stderr_text().find("503 unix:" + fpm.socket()) != std::string::npos; }))
      << s.stderr_text();
  EXPECT_EQ(curl_get(s.base_url() + "/index.html").status, 200) << "the worker keeps serving";
}

TEST(FastCgi, KeepConnReusesThePhpFpmConnection) {
  TempTree t;
  write_scripts(t);
  START_FPM(fpm, t);
  START_SERVER(s, fcgi_config(t, fpm));
  std::set<std::string> pids;
  for (int i = 0; i < 12; ++i) {
    auto r = curl_get(s.base_url() + "/env.php");
    ASSERT_EQ(r.status, 200);
    pids.insert(r.header("X-Pid"));
  }
  // PHP-FPM's children each serve one connection: one connection reused
  // means one child answered every request (3 children are waiting).
  EXPECT_EQ(pids.size(), 1u);
}

TEST(FastCgi, ScriptSourceIsNeverServed) {
  TempTree t;
  write_scripts(t);
  START_FPM(fpm, t);
  START_SERVER(s, fcgi_config(t, fpm));
  auto r = curl_get(s.base_url() + "/secret.phtml");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body.find("SOURCE-MARKER"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return s.stderr_text().find("secret.phtml is a script that no handler runs") != std::string::npos; }))
      << s.stderr_text();
  auto upper = curl_get(s.base_url() + "/SECRET.PHTML");
  EXPECT_NE(upper.status, 200);
  // ScriptSourceGuard Off: the admin's choice for /raw.
  auto shown = curl_get(s.base_url() + "/raw/shown.phtml");
  EXPECT_EQ(shown.status, 200);
  EXPECT_NE(shown.body.find("SHOWN-MARKER"), std::string::npos);

  // A server with no FastCGI handler at all: the .php files are refused too,
  // directly and as a directory's index.
  t.write("www/dir/index.php", "<?php echo 'INDEX-SOURCE';\n");
  START_SERVER(bare, basic_config(t.path("www"), "StartServers 1\nDirectoryIndex index.php index.html\n"));
  auto php = curl_get(bare.base_url() + "/env.php");
  EXPECT_EQ(php.status, 403);
  EXPECT_EQ(php.body.find("<?php"), std::string::npos);
  auto idx = curl_get(bare.base_url() + "/dir/");
  EXPECT_EQ(idx.status, 403);
  EXPECT_EQ(idx.body.find("INDEX-SOURCE"), std::string::npos);
  auto pathinfo = curl_get(bare.base_url() + "/env.php/x");
  EXPECT_EQ(pathinfo.status, 403);
  EXPECT_EQ(curl_get(bare.base_url() + "/index.html").status, 200);
}

TEST(FastCgi, ConfigCheckAcceptsDebiansLineAndNamesWhatIsSupported) {
  std::string path;
  auto ok = check_config("Listen 127.0.0.1:0\n<FilesMatch \".+\\.ph(?:ar|p|tml)$\">\n"
                         "    SetHandler \"proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost\"\n</FilesMatch>\n");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("Syntax OK"), std::string::npos) << ok.out << ok.err;
  auto bad = check_config("Listen 127.0.0.1:0\n<FilesMatch \\.php$>\n  SetHandler application/x-httpd-php\n</FilesMatch>\n", &path);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find(path + ":3:"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("proxy:unix:/PATH.sock|fcgi://NAME"), std::string::npos) << bad.err;
}

// ---- a fake FastCGI application for the faults ----------------------------

enum class Fault { None, Garbage, Truncated, CloseMidBody, Overloaded, NoHead };

// Accepts connections on 127.0.0.1; for each request reads BEGIN_REQUEST,
// PARAMS and STDIN, then answers as REQUEST_URI's "fault=" says; keeps the
// connection for the next request when it answered cleanly.
class FakeFcgi {
 public:
  FakeFcgi() {
    fd_ = listen_loopback(port_, 16);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeFcgi() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }
  int requests() const { return requests_; }

 private:
  static std::string end_request(uint8_t proto) { return fcgi_record(3, std::string("\0\0\0\0", 4) + char(proto) + std::string(3, '\0')); }

  // One request; false when the connection is to be closed.
  bool serve(int c) {
    std::string params;
    if (!fcgi_read_request(c, params, stop_, 5000)) return false;
    ++requests_;
    size_t at = params.find("fault=");
    std::string fault = at == std::string::npos ? "" : params.substr(at + 6, params.find_first_of("&\x00", at + 6) - at - 6);
    fault = fault.substr(0, fault.find_first_not_of("abcdefghijklmnopqrstuvwxyz"));
    std::string out;
    auto send_all = [&](const std::string& s) { return ::send(c, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); };
    if (fault == "garbage") return send_all("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), false;
    if (fault == "truncated") return send_all(fcgi_record(6, "Content-Type: text/plain\r\n\r\nhello").substr(0, 5)), false;
    if (fault == "closemid") {
      send_all(fcgi_record(6, "Content-Type: text/plain\r\n\r\n") + fcgi_record(6, std::string(10000, 'x')));
      return false;
    }
    if (fault == "overloaded") return send_all(end_request(2)), true;
    if (fault == "nohead") return send_all(fcgi_record(6, "") + end_request(0)), true;
    std::string body = "ok " + std::to_string(requests_.load());
    return send_all(fcgi_record(6, "Content-Type: text/plain\r\n\r\n" + body) + fcgi_record(7, "fake stderr line\n") + fcgi_record(6, "") +
                    end_request(0));
  }

  void run() {
    pollfd p{fd_, POLLIN, 0};
    while (!stop_ && ::poll(&p, 1, 100) >= 0) {
      if (!(p.revents & POLLIN)) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      ++accepted_;
      while (!stop_ && serve(c)) {
      }
      ::close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0}, requests_{0};
  std::thread thread_;
};

std::string fake_config(const TempTree& t, const FakeFcgi& app) {
  return "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nServerLimit 1\nEventThreadsPerChild 1\nDocumentRoot \"" + t.path("www") +
         "\"\nPidFile " + t.path("pillar.pid") + "\nProxyTimeout 3\n<Location /app>\n  SetHandler \"proxy:fcgi://127.0.0.1:" +
         std::to_string(app.port()) + "\"\n</Location>\n";
}

TEST(FastCgiFaults, KeepConnReuseCountedByTheApplication) {
  TempTree t;
  t.write("www/index.html", "x\n");
  FakeFcgi app;
  START_SERVER(s, fake_config(t, app));
  for (int i = 1; i <= 5; ++i) {
    auto r = curl_get(s.base_url() + "/app/x");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ok " + std::to_string(i));
  }
  EXPECT_EQ(app.requests(), 5);
  EXPECT_EQ(app.accepted(), 1) << "FCGI_KEEP_CONN: one connection for the five requests";
}

TEST(FastCgiFaults, BrokenApplicationsAre502Or503AndTheWorkerGoesOn) {
  TempTree t;
  t.write("www/index.html", "still here\n");
  FakeFcgi app;
  START_SERVER(s, fake_config(t, app));
  EXPECT_EQ(curl_get(s.base_url() + "/app/x?fault=garbage").status, 502);
  EXPECT_EQ(curl_get(s.base_url() + "/app/x?fault=truncated").status, 502);
  EXPECT_EQ(curl_get(s.base_url() + "/app/x?fault=overloaded").status, 503);
  EXPECT_EQ(curl_get(s.base_url() + "/app/x?fault=nohead").status, 502);
  // A close mid-body: the head went out, so the response is cut (the client
  // sees an incomplete chunked body and the connection closed).
  auto cut = raw_get(s.port(), "/app/x?fault=closemid");
  ASSERT_FALSE(cut.data.empty());
  EXPECT_EQ(cut.data.substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(cut.data.find("\r\n0\r\n\r\n"), std::string::npos) << "a cut body is never presented as complete";
  EXPECT_NE(cut.close, CloseKind::Timeout);
  auto ok = curl_get(s.base_url() + "/app/x");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(curl_get(s.base_url() + "/index.html").body, "still here\n");
  EXPECT_TRUE(eventually([&] { return s.stderr_text().find("FastCGI stderr: fake stderr line") != std::string::npos; }));
}

TEST(FastCgiFaults, StalledUploadIs408) {
  TempTree t;
  t.write("www/index.html", "x\n");
  FakeFcgi app;
  START_SERVER(s, fake_config(t, app) + "ProxyTimeout 20\nRequestReadTimeout body=1\n");
  RawConnection c(s.port());
  ASSERT_TRUE(c.connected());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("POST /app/up HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789"));
  auto r = c.read_response(5s);
  EXPECT_EQ(r.status, 408) << "the client stalled, not the application (RequestReadTimeout body=1)";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_EQ(curl_get(s.base_url() + "/app/x").status, 200);
}

}  // namespace
}  // namespace itest

namespace itest {
namespace {

// SetHandler "proxy:balancer://php" over fcgi:// members: requests spread
// over the two live applications (byrequests), a member that refuses
// connections is tried, skipped and costs no request, and a sticky route
// keeps a client on one application; ProxyPassMatch to the balancer works
// as Apache's recipe writes it.
TEST(FastCgiBalancer, MembersShareRequestsAndARefusingOneIsSkipped) {
  TempTree t;
  t.write("www/index.html", "x\n");
  FakeFcgi a, b;
  uint16_t dead = 0;
  int dead_fd = listen_loopback(dead, 1);
  ::close(dead_fd);  // a port nobody listens on: connections are refused
  START_SERVER(s, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nServerLimit 1\nEventThreadsPerChild 1\n"
                  "DocumentRoot \"" + t.path("www") + "\"\nPidFile " + t.path("pillar.pid") + "\nProxyTimeout 3\n"
                  "<Proxy balancer://php>\n  BalancerMember fcgi://127.0.0.1:" + std::to_string(a.port()) +
                  " route=a\n  BalancerMember fcgi://127.0.0.1:" + std::to_string(b.port()) +
                  " route=b\n  BalancerMember fcgi://127.0.0.1:" + std::to_string(dead) +
                  " route=c\n  ProxySet stickysession=ROUTEID\n</Proxy>\n"
                  "<Location /app>\n  SetHandler \"proxy:balancer://php\"\n</Location>\n"
                  "ProxyPassMatch ^/m/(.*)$ balancer://php/srv/$1\n");
  for (int i = 0; i < 12; ++i) {
    auto r = curl_get(s.base_url() + "/app/x");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(a.requests() + b.requests(), 12) << "the refusing member cost no request";
  EXPECT_GE(a.requests(), 4);
  EXPECT_GE(b.requests(), 4);
  int before = b.requests();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(curl_get(s.base_url() + "/app/x", {"Cookie: ROUTEID=x.b"}).status, 200);
  EXPECT_EQ(b.requests(), before + 5) << "the sticky route keeps the client on member b";
  EXPECT_EQ(curl_get(s.base_url() + "/m/y.php").status, 200);
  EXPECT_TRUE(eventually([&] { return s.stderr_text().find("trying another member") != std::string::npos; }))
      << s.stderr_text();
}

TEST(FastCgiBalancer, ConfigCheckNamesWhatIsWrong) {
  TempTree t;
  std::string path;
  RunResult r = check_config(basic_config(t.mkdir("w"), "<Location /app>\n  SetHandler \"proxy:balancer://none\"\n</Location>\n"), &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":5: "), std::string::npos) << r.err;
  r = check_config(basic_config(t.mkdir("x"), "<Proxy balancer://web>\n  BalancerMember http://127.0.0.1:9\n</Proxy>\n"
                                              "<Location /app>\n  SetHandler \"proxy:balancer://web\"\n</Location>\n"), &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fcgi://"), std::string::npos) << r.err;
  r = check_config(basic_config(t.mkdir("y"), "<Proxy balancer://mix>\n  BalancerMember http://127.0.0.1:9\n"
                                              "  BalancerMember fcgi://127.0.0.1:9000\n</Proxy>\n"), &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("mixes"), std::string::npos) << r.err;
  r = check_config(basic_config(t.mkdir("z"), "<Proxy balancer://p>\n  BalancerMember fcgi://127.0.0.1:9000 hcmethod=GET\n</Proxy>\n"), &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("hcmethod=TCP"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace itest

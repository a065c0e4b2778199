// The hosted applications of issue 13, with real PHP-FPM started by the
// tests: a 50 MiB upload through PHP with the worker's memory bounded, PHP
// sessions held on one FPM member of a sticky balancer:// for over a
// thousand requests and moved to the other when that member dies, php-fpm
// killed (503 within a second) and back, a WordPress-style front controller
// (PATH_INFO, FallbackResource, the permalink RewriteRules), and the
// PHP hosting example of docs/applications.md run as it is written there.
// (The 200 MiB download is FastCgi.LargeResponseToSlowClientKeepsMemoryBounded.)
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "load_generator.h"
#include "php_fpm.h"
#include "test_common.h"

namespace itest {
namespace {

std::string md5_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += {hex[md[i] >> 4], hex[md[i] & 15]};
  return out;
}

std::map<std::string, std::string> env_lines(const std::string& body) {
  std::map<std::string, std::string> m;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return m;
}

// One worker with one event loop (so its RssAnon is the whole story), .php
// files to `handler`.
std::string php_config(const TempTree& t, const std::string& handler, const std::string& extra = "") {
  return "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nServerLimit 1\nEventThreadsPerChild 1\n"
         "DocumentRoot \"" + t.path("www") + "\"\nPidFile " + t.path("pillar.pid") + "\n"
         "<FilesMatch \\.php$>\n  SetHandler \"" + handler + "\"\n</FilesMatch>\n" + extra;
}
std::string unix_handler(const PhpFpm& fpm) { return "proxy:unix:" + fpm.socket() + "|fcgi://localhost"; }

// php-fpm dies at once, its children with it (kill -9 of the master alone
// leaves the children accepting on the socket); then reaped. The master is
// stopped first so that it cannot start a child in place of a killed one.
void crash(PhpFpm& fpm) {
  ::kill(fpm.pid(), SIGSTOP);
  for (pid_t child : child_pids(fpm.pid())) ::kill(child, SIGKILL);
  ::kill(fpm.pid(), SIGKILL);
  fpm.stop();
}

pid_t only_worker(const ServerProcess& s) {
  std::vector<pid_t> workers;
  if (!eventually([&] { return (workers = child_pids(s.pid())).size() == 1; }, 5s)) return -1;
  return workers[0];
}

// ---- a 50 MiB upload -----------------------------------------------------------

// The body goes to PHP as it arrives (at most 64 KiB held by the worker):
// PHP reads php://input in pieces and answers its length and MD5.
TEST(FastCgiApps, FiftyMiBUploadThroughPhpKeepsTheWorkerSmall) {
  TempTree t;
  t.write("www/upload.php",
          "<?php $in = fopen('php://input', 'rb'); $h = hash_init('md5'); $n = 0;\n"
          "while (!feof($in)) { $b = fread($in, 65536); $n += strlen($b); hash_update($h, $b); }\n"
          "echo $n, ' ', hash_final($h), ' ', $_SERVER['CONTENT_LENGTH'];\n");
  t.write("www/index.html", "x\n");
  ::chmod(t.root().c_str(), 0755);
  if (php_fpm_binary().empty()) GTEST_SKIP() << "php-fpm is not installed (scripts/install-deps)";
  FpmOptions fo;
  fo.pool_lines = "php_admin_value[post_max_size] = 64M\nphp_admin_value[upload_max_filesize] = 64M\n"
                  "php_admin_value[memory_limit] = 32M\n";  // PHP itself must not hold the body either
  PhpFpm fpm(t, fo);
  ASSERT_TRUE(fpm.ready()) << t.read("run/fpm.log");
  START_SERVER(s, php_config(t, unix_handler(fpm)));
  pid_t worker = only_worker(s);
  ASSERT_GT(worker, 0);
  ASSERT_EQ(curl_get(s.base_url() + "/index.html").status, 200);

  constexpr size_t kSize = 50u << 20;
  std::string body(kSize, '\0');
  for (size_t i = 0; i < kSize; ++i) body[i] = static_cast<char>((i * 2654435761u) >> 13);
  const std::string md5 = md5_hex(body);

  long before = proc_status_kb(worker, "RssAnon");
  std::atomic<long> peak{before};
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      peak = std::max(peak.load(), proc_status_kb(worker, "RssAnon"));
      std::this_thread::sleep_for(10ms);  // the sampling period, not synchronisation
    }
  });
  CurlOptions o;
  o.method = "POST";
  o.body = body;
  o.timeout = 30s;
  o.headers = {"Content-Type: application/octet-stream"};
  auto t0 = std::chrono::steady_clock::now();
  auto r = curl_request(s.base_url() + "/upload.php", o);
  auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0);
  done = true;
  sampler.join();
  ASSERT_EQ(r.status, 200) << r.curl_error << " " << r.body << s.stderr_text();
  EXPECT_EQ(r.body, std::to_string(kSize) + " " + md5 + " " + std::to_string(kSize));
  std::printf("[ memory   ] 50 MiB upload to PHP in %lld ms: worker RssAnon %ld kB before, peak %ld kB\n",
              static_cast<long long>(took.count()), before, peak.load());
  EXPECT_LT(peak - before, 16 * 1024) << "the worker held the upload instead of streaming it to PHP";
}

// ---- sessions behind a sticky balancer of two FPM members --------------------------

// Each member is its own php-fpm (env[ROUTE] names it, its own session
// directory, as two hosts would have). PHP's session ids cannot hold a '.',
// so the balancer's separator is '-' (stickysessionsep=-) and the page makes
// ids "SID-ROUTE"; an id of another member starts a new session here.
TEST(FastCgiApps, PhpSessionsStayOnTheirFpmMemberAndMoveWhenItDies) {
  TempTree t;
  t.write("www/session.php",
          "<?php $route = getenv('ROUTE'); $sid = $_COOKIE['PHPSESSID'] ?? '';\n"
          "if (!str_ends_with($sid, '-' . $route)) session_id(session_create_id() . '-' . $route);\n"
          "session_start(); $_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;\n"
          "echo $route, ' ', $_SESSION['n'];\n");
  ::chmod(t.root().c_str(), 0755);
  if (php_fpm_binary().empty()) GTEST_SKIP() << "php-fpm is not installed (scripts/install-deps)";
  std::map<std::string, std::unique_ptr<PhpFpm>> fpm;
  for (const char* route : {"a", "b"}) {
    FpmOptions fo;
    fo.dir = std::string("run-") + route;
    std::string sessions = t.mkdir(fo.dir + "/sessions");
    fo.pool_lines = std::string("env[ROUTE] = ") + route + "\nphp_admin_value[session.save_path] = " + sessions + "\n";
    fpm[route] = std::make_unique<PhpFpm>(t, fo);
    ASSERT_TRUE(fpm[route]->ready()) << t.read(fo.dir + "/fpm.log");
  }
  START_SERVER(s, php_config(t, "proxy:balancer://php",
                             "ProxyTimeout 5\n<Proxy balancer://php>\n"
                             "  BalancerMember \"unix:" + fpm["a"]->socket() + "|fcgi://localhost\" route=a\n"
                             "  BalancerMember \"unix:" + fpm["b"]->socket() + "|fcgi://localhost\" route=b\n"
                             "  ProxySet stickysession=PHPSESSID stickysessionsep=-\n</Proxy>\n"));
  const std::string url = s.base_url() + "/session.php";
  // Without stickiness byrequests alternates: the counts would not hold.
  auto fresh = curl_get(url);
  ASSERT_EQ(fresh.status, 200) << fresh.body << s.stderr_text();
  std::string route = fresh.body.substr(0, 1), other = route == "a" ? "b" : "a";
  ASSERT_EQ(fresh.body, route + " 1");
  std::string cookie = fresh.header("Set-Cookie");
  cookie = cookie.substr(0, cookie.find(';'));
  ASSERT_TRUE(cookie.starts_with("PHPSESSID=") && cookie.ends_with("-" + route)) << cookie;
  for (int n = 2; n <= 1001; ++n) {
    auto r = curl_get(url, {"Cookie: " + cookie});
    ASSERT_EQ(r.status, 200) << "request " << n << ": " << r.body;
    ASSERT_EQ(r.body, route + " " + std::to_string(n)) << "request " << n << " left the session's member";
    ASSERT_FALSE(r.has("Set-Cookie")) << "request " << n;
  }

  crash(*fpm[route]);
  // The member refuses: the next request goes to the other one, which starts
  // a new session there (its cookie names it); no 503 on the way.
  auto t0 = std::chrono::steady_clock::now();
  auto moved = curl_get(url, {"Cookie: " + cookie});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  ASSERT_EQ(moved.status, 200) << moved.body << s.stderr_text();
  ASSERT_EQ(moved.body, other + " 1");
  std::string cookie2 = moved.header("Set-Cookie");
  cookie2 = cookie2.substr(0, cookie2.find(';'));
  ASSERT_TRUE(cookie2.ends_with("-" + other)) << cookie2;
  for (int n = 2; n <= 50; ++n) {
    auto r = curl_get(url, {"Cookie: " + cookie2});
    ASSERT_EQ(r.status, 200) << "request " << n << " after the failover: " << r.body;
    ASSERT_EQ(r.body, other + " " + std::to_string(n));
  }
  // A client still holding the dead member's cookie is answered too.
  for (int i = 0; i < 20; ++i) {
    auto r = curl_get(url, {"Cookie: " + cookie});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.body.starts_with(other + " ")) << r.body;
  }
}

// ---- php-fpm killed, and back --------------------------------------------------------

TEST(FastCgiApps, KilledPhpFpmIs503WithinASecondAndServesAgainWhenBack) {
  TempTree t;
  t.write("www/hello.php", "<?php echo 'hello from ', getmypid();\n");
  ::chmod(t.root().c_str(), 0755);
  if (php_fpm_binary().empty()) GTEST_SKIP() << "php-fpm is not installed (scripts/install-deps)";
  auto fpm = std::make_unique<PhpFpm>(t);
  ASSERT_TRUE(fpm->ready()) << t.read("run/fpm.log");
  const std::string handler = unix_handler(*fpm);
  START_SERVER(s, php_config(t, handler));
  const std::string url = s.base_url() + "/hello.php";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(curl_get(url).status, 200);  // a pooled connection is waiting

  crash(*fpm);
  for (int i = 0; i < 3; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto down = curl_get(url);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(down.status, 503) << down.body;
    EXPECT_LT(took, 1s);
  }
  // The same socket path again: Pillar connects afresh, no reload.
  fpm = std::make_unique<PhpFpm>(t);
  ASSERT_TRUE(fpm->ready()) << t.read("run/fpm.log");
  ASSERT_EQ(unix_handler(*fpm), handler);
  EXPECT_TRUE(eventually([&] { return curl_get(url).status == 200; }, 5s)) << s.stderr_text();
  for (int i = 0; i < 10; ++i) {
    auto r = curl_get(url);
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body.starts_with("hello from ")) << r.body;
  }
}

// ---- a WordPress-style front controller -------------------------------------------------

// index.php routes on REQUEST_URI (pretty URLs) or PATH_INFO; FallbackResource
// (server config) and WordPress's permalink rules (a <Directory>) send what
// is not a file to it; static files are served directly.
TEST(FastCgiApps, FrontControllerWithPathInfoFallbackResourceAndRewrite) {
  TempTree t;
  std::string front =
      "<?php foreach (['SCRIPT_NAME','SCRIPT_FILENAME','PATH_INFO','REQUEST_URI','QUERY_STRING','REQUEST_METHOD'] as $k)\n"
      "  echo $k, '=', $_SERVER[$k] ?? '<unset>', \"\\n\";\n"
      "echo 'BODY=', strlen(file_get_contents('php://input')), \"\\n\";\n";
  t.write("www/index.php", front);
  t.write("www/blog/index.php", front);
  t.write("www/style.css", "body{}\n");
  t.write("www/blog/style.css", "blog{}\n");
  t.write("www/blog/wp-admin/index.html", "admin\n");
  ::chmod(t.root().c_str(), 0755);
  START_FPM(fpm, t);
  START_SERVER(s, php_config(t, unix_handler(fpm),
                             "DirectoryIndex index.php index.html\nFallbackResource /index.php\n"
                             "<Directory \"" + t.path("www/blog") + "\">\n"
                             "  FallbackResource disabled\n"
                             "  RewriteEngine On\n  RewriteBase /blog/\n  RewriteRule ^index\\.php$ - [L]\n"
                             "  RewriteCond %{REQUEST_FILENAME} !-f\n  RewriteCond %{REQUEST_FILENAME} !-d\n"
                             "  RewriteRule . /blog/index.php [L]\n</Directory>\n"));
  const std::string www = t.path("www");
  auto root = curl_get(s.base_url() + "/");
  ASSERT_EQ(root.status, 200) << root.body << s.stderr_text();
  EXPECT_EQ(env_lines(root.body)["SCRIPT_NAME"], "/index.php") << root.body;

  // A permalink: index.php, with the URI as the client sent it.
  auto pretty = curl_get(s.base_url() + "/2024/01/hello-world/?replytocom=7");
  ASSERT_EQ(pretty.status, 200) << pretty.body;
  auto env = env_lines(pretty.body);
  EXPECT_EQ(env["SCRIPT_NAME"], "/index.php");
  EXPECT_EQ(env["SCRIPT_FILENAME"], www + "/index.php");
  EXPECT_EQ(env["REQUEST_URI"], "/2024/01/hello-world/?replytocom=7");
  EXPECT_EQ(env["QUERY_STRING"], "replytocom=7");
  EXPECT_EQ(env["PATH_INFO"], "<unset>");

  // PATH_INFO routing: /index.php/...
  auto info = curl_get(s.base_url() + "/index.php/wp-json/wp/v2/posts?per_page=2");
  ASSERT_EQ(info.status, 200) << info.body;
  env = env_lines(info.body);
  EXPECT_EQ(env["SCRIPT_NAME"], "/index.php");
  EXPECT_EQ(env["PATH_INFO"], "/wp-json/wp/v2/posts") << info.body;
  EXPECT_EQ(env["QUERY_STRING"], "per_page=2");

  // A REST call POSTed to a pretty URL keeps its method and body.
  CurlOptions post;
  post.method = "POST";
  post.body = std::string(100000, 'p');
  post.headers = {"Content-Type: application/json"};
  auto api = curl_request(s.base_url() + "/wp-json/wp/v2/posts", post);
  ASSERT_EQ(api.status, 200) << api.body;
  env = env_lines(api.body);
  EXPECT_EQ(env["SCRIPT_NAME"], "/index.php");
  EXPECT_EQ(env["REQUEST_METHOD"], "POST");
  EXPECT_EQ(env["REQUEST_URI"], "/wp-json/wp/v2/posts");
  EXPECT_EQ(env["BODY"], "100000");

  auto css = curl_get(s.base_url() + "/style.css");
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.body, "body{}\n") << "a file is served, not routed";

  // WordPress's rules in a <Directory>, for a blog in /blog/.
  auto post_page = curl_get(s.base_url() + "/blog/2024/01/hello-world/");
  ASSERT_EQ(post_page.status, 200) << post_page.body << s.stderr_text();
  env = env_lines(post_page.body);
  EXPECT_EQ(env["SCRIPT_NAME"], "/blog/index.php");
  EXPECT_EQ(env["SCRIPT_FILENAME"], www + "/blog/index.php");
  EXPECT_EQ(env["REQUEST_URI"], "/blog/2024/01/hello-world/");
  auto blog_info = curl_get(s.base_url() + "/blog/index.php/feed/");
  ASSERT_EQ(blog_info.status, 200) << blog_info.body;
  EXPECT_EQ(env_lines(blog_info.body)["PATH_INFO"], "/feed/");
  EXPECT_EQ(curl_get(s.base_url() + "/blog/style.css").body, "blog{}\n");
  EXPECT_EQ(curl_get(s.base_url() + "/blog/wp-admin/").body, "admin\n") << "a directory is not routed";
}

// ---- docs/applications.md's example, as written ---------------------------------------------

// The first ```apache block after the heading "## A PHP hosting example".
std::string example_block(const std::string& doc) {
  size_t at = doc.find("## A PHP hosting example");
  if (at == std::string::npos) return {};
  at = doc.find("```apache\n", at);
  if (at == std::string::npos) return {};
  at += 10;
  size_t end = doc.find("\n```", at);
  return end == std::string::npos ? std::string() : doc.substr(at, end - at + 1);
}

size_t replace_all(std::string& s, const std::string& from, const std::string& to) {
  size_t n = 0;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()), ++n) s.replace(at, from.size(), to);
  return n;
}

// Only what the guide says the test replaces: the socket path, the docroot
// and port 80 (Listen 80 -> an ephemeral 127.0.0.1 port, *:80 -> *).
TEST(FastCgiApps, TheApplicationsGuideExampleRunsAsWritten) {
  std::ifstream in(std::string(PILLAR_DOCS) + "/applications.md");
  ASSERT_TRUE(in) << PILLAR_DOCS << "/applications.md";
  std::stringstream doc;
  doc << in.rdbuf();
  std::string conf = example_block(doc.str());
  ASSERT_FALSE(conf.empty()) << "no ```apache block under \"## A PHP hosting example\"";

  TempTree t;
  const std::string docroot = t.mkdir("srv/www/example");
  t.write("srv/www/example/index.php", "<?php echo 'PHP ', PHP_VERSION, ' at ', $_SERVER['REQUEST_URI'];\n");
  t.write("srv/www/example/wp-content/uploads/shell.php", "<?php echo 'UPLOADED-SOURCE';\n");
  t.write("srv/www/example/wp-content/uploads/photo.jpg", "jpeg\n");
  ::chmod(t.root().c_str(), 0755);
  START_FPM(fpm, t);
  EXPECT_EQ(replace_all(conf, "/run/php/php8.2-fpm.sock", fpm.socket()), 1u) << conf;
  EXPECT_GE(replace_all(conf, "/srv/www/example", docroot), 1u);
  EXPECT_EQ(replace_all(conf, "Listen 80\n", "Listen 127.0.0.1:0\n"), 1u);
  EXPECT_GE(replace_all(conf, "<VirtualHost *:80>", "<VirtualHost *>"), 1u);
  EXPECT_EQ(conf.find(":80"), std::string::npos) << "a port 80 left:\n" << conf;
  RunResult check = check_config(conf);
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err << conf;
  START_SERVER(s, conf);

  const std::string host = "Host: www.example.com";
  auto home = curl_get(s.base_url() + "/", {host});
  ASSERT_EQ(home.status, 200) << home.body << s.stderr_text();
  EXPECT_TRUE(home.body.starts_with("PHP 8")) << home.body;
  EXPECT_TRUE(home.body.ends_with(" at /")) << home.body;
  auto pretty = curl_get(s.base_url() + "/2024/01/hello-world/", {host});
  EXPECT_EQ(pretty.status, 200);
  EXPECT_TRUE(pretty.body.ends_with(" at /2024/01/hello-world/")) << pretty.body;
  EXPECT_EQ(curl_get(s.base_url() + "/wp-content/uploads/photo.jpg", {host}).body, "jpeg\n");
  auto shell = curl_get(s.base_url() + "/wp-content/uploads/shell.php", {host});
  EXPECT_EQ(shell.status, 403) << "a PHP file in uploads/ neither runs nor shows: " << shell.body;
  EXPECT_EQ(shell.body.find("UPLOADED-SOURCE"), std::string::npos);
  EXPECT_EQ(shell.body.find("<?php"), std::string::npos);
  // The per-client rate limit: a client far over its burst is told to wait.
  int refused = 0;
  std::string retry_after;
  for (int i = 0; i < 300 && refused == 0; ++i) {
    auto r = curl_get(s.base_url() + "/wp-content/uploads/photo.jpg", {host});
    if (r.status == 429) ++refused, retry_after = r.header("Retry-After");
    else ASSERT_EQ(r.status, 200);
  }
  EXPECT_EQ(refused, 1) << "300 requests at once stayed within the example's PillarRateLimit";
  EXPECT_FALSE(retry_after.empty());
}

}  // namespace
}  // namespace itest

// CGI (mod_cgid) with shell and perl scripts the tests write into a temp
// tree: ScriptAlias, Options +ExecCGI with AddHandler, SetHandler
// cgi-script, the CGI/1.1 environment, Status:/Location:, request bodies
// streamed to stdin, large output to a stalled client with the worker's
// memory bounded, stderr in the error log, CGIDScriptTimeout (504, the
// script killed). The launcher's faults: killed with SIGKILL mid-request
// (503 fast, the next request works) and a worker killed mid-request (no
// stuck script, no zombie). suexec (SuexecUserGroup, UserDir) as the
// system's nobody; RLimitCPU on a CPU loop and RLimitNPROC on a fork bomb
// (as a user the test creates and removes), the server answering meanwhile.
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

std::string write_script(TempTree& t, const std::string& rel, const std::string& body, mode_t mode = 0755) {
  std::string p = t.write(rel, body);
  ::chmod(p.c_str(), mode);
  return p;
}

std::string comm_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
  std::string s;
  std::getline(f, s);
  return s;
}

pid_t launcher_of(pid_t master) {
  for (pid_t p : child_pids(master)) {
    if (comm_of(p) == "pillar-cgid") return p;
  }
  return 0;
}

std::vector<pid_t> workers_of(pid_t master) {
  std::vector<pid_t> w;
  for (pid_t p : child_pids(master)) {
    if (comm_of(p) != "pillar-cgid") w.push_back(p);
  }
  return w;
}

// Gone for good: reaped (no /proc entry), not merely a zombie.
bool reaped(pid_t pid) { return ::access(("/proc/" + std::to_string(pid)).c_str(), F_OK) != 0; }

pid_t read_pid(const std::string& path) {
  std::ifstream f(path);
  long v = 0;
  return (f >> v) ? static_cast<pid_t>(v) : 0;
}

// Processes whose real uid is `uid` (threads counted as the kernel counts them for RLIMIT_NPROC).
int processes_of(uid_t uid) {
  std::string out;
  sh("ps -L -o ruid= -e | awk '$1==" + std::to_string(uid) + "' | wc -l", &out);
  return std::atoi(out.c_str());
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

std::string cgi_config(const TempTree& t, const std::string& extra = "") {
  return "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nServerLimit 1\nEventThreadsPerChild 1\n"
         "Timeout 10\nDocumentRoot \"" + t.path("www") + "\"\nPidFile " + t.path("pillar.pid") + "\n"
         "ScriptAlias /cgi-bin/ \"" + t.path("cgi-bin") + "/\"\n" + extra;
}

void write_env_script(TempTree& t, const std::string& rel) {
  write_script(t, rel,
               "#!/bin/sh\n"
               "printf 'Content-Type: text/plain\\r\\nX-Script: env\\r\\n\\r\\n'\n"
               "for v in SCRIPT_NAME SCRIPT_FILENAME PATH_INFO PATH_TRANSLATED QUERY_STRING REQUEST_METHOD REQUEST_URI \\\n"
               "  GATEWAY_INTERFACE SERVER_PROTOCOL SERVER_NAME SERVER_PORT REMOTE_ADDR DOCUMENT_ROOT HTTP_X_TEST \\\n"
               "  HTTP_PROXY CONTENT_LENGTH CONTENT_TYPE PATH; do\n"
               "  eval \"val=\\${$v-<unset>}\"; echo \"$v=$val\"\n"
               "done\n"
               "echo \"PWD=$(pwd)\"\n"
               "echo \"UID=$(id -u)\"\n"
               "echo 'env.cgi was here' >&2\n");
}

TEST(Cgi, ScriptAliasRunsTheScriptWithTheCgiEnvironment) {
  TempTree t;
  t.mkdir("www");
  write_env_script(t, "cgi-bin/env.cgi");
  START_SERVER(s, cgi_config(t));
  auto r = curl_get(s.base_url() + "/cgi-bin/env.cgi/extra/path?a=1&b=two", {"X-Test: yes", "Proxy: http://evil/"});
  ASSERT_EQ(r.status, 200) << r.body << s.stderr_text();
  EXPECT_EQ(r.header("X-Script"), "env");
  EXPECT_EQ(r.header("Content-Type"), "text/plain");
  auto env = env_lines(r.body);
  EXPECT_EQ(env["SCRIPT_NAME"], "/cgi-bin/env.cgi");
  EXPECT_EQ(env["SCRIPT_FILENAME"], t.path("cgi-bin/env.cgi"));
  EXPECT_EQ(env["PATH_INFO"], "/extra/path");
  EXPECT_EQ(env["PATH_TRANSLATED"], t.path("www") + "/extra/path");
  EXPECT_EQ(env["QUERY_STRING"], "a=1&b=two");
  EXPECT_EQ(env["REQUEST_METHOD"], "GET");
  EXPECT_EQ(env["REQUEST_URI"], "/cgi-bin/env.cgi/extra/path?a=1&b=two");
  EXPECT_EQ(env["GATEWAY_INTERFACE"], "CGI/1.1");
  EXPECT_EQ(env["SERVER_PROTOCOL"], "HTTP/1.1");
  EXPECT_EQ(env["SERVER_PORT"], std::to_string(s.port()));
  EXPECT_EQ(env["REMOTE_ADDR"], "127.0.0.1");
  EXPECT_EQ(env["DOCUMENT_ROOT"], t.path("www"));
  EXPECT_EQ(env["HTTP_X_TEST"], "yes");
  EXPECT_EQ(env["HTTP_PROXY"], "<unset>") << "httpoxy";
  EXPECT_EQ(env["CONTENT_LENGTH"], "<unset>");
  EXPECT_EQ(env["PATH"], "/usr/local/bin:/usr/bin:/bin");
  EXPECT_EQ(env["PWD"], t.path("cgi-bin")) << "a script runs in its own directory";
  // stderr reaches the error log with the client and the vhost.
  EXPECT_TRUE(eventually([&] { return s.stderr_text().find("[vhost localhost] env.cgi was here: " + t.path("cgi-bin/env.cgi")) != std::string::npos; }))
      << s.stderr_text();
  // The launcher is the master's child, not the worker's.
  EXPECT_NE(launcher_of(s.pid()), 0);

  // A missing script, a directory, one the server cannot execute, one exec cannot start.
  write_script(t, "cgi-bin/noexec.cgi", "#!/bin/sh\necho\n", 0644);
  write_script(t, "cgi-bin/badinterp.cgi", "#!/nonexistent/interpreter\n");
  t.mkdir("cgi-bin/sub");
  EXPECT_EQ(curl_get(s.base_url() + "/cgi-bin/missing.cgi").status, 404);
  EXPECT_EQ(curl_get(s.base_url() + "/cgi-bin/sub/").status, 403);
  EXPECT_EQ(curl_get(s.base_url() + "/cgi-bin/noexec.cgi").status, 403);
  EXPECT_EQ(curl_get(s.base_url() + "/cgi-bin/badinterp.cgi").status, 500);
  EXPECT_TRUE(eventually([&] {
    std::string e = s.stderr_text();
    return e.find("script not found or unable to stat: " + t.path("cgi-bin/missing.cgi")) != std::string::npos &&
           e.find("attempt to invoke directory as script") != std::string::npos &&
           e.find("file permissions deny server execution: " + t.path("cgi-bin/noexec.cgi")) != std::string::npos &&
           e.find("exec of " + t.path("cgi-bin/badinterp.cgi") + " failed: No such file or directory") != std::string::npos;
  })) << s.stderr_text();
}

TEST(Cgi, StatusLocationAndMalformedHeads) {
  TempTree t;
  t.mkdir("www");
  write_script(t, "cgi-bin/status.cgi", "#!/bin/sh\nprintf 'Status: 404 Not Here\\nContent-Type: text/plain\\n\\nnope\\n'\n");
  write_script(t, "cgi-bin/away.cgi", "#!/bin/sh\nprintf 'Location: http://example.com/there\\n\\n'\n");
  write_script(t, "cgi-bin/local.cgi", "#!/bin/sh\nprintf 'Status: 302 Found\\nLocation: /elsewhere\\n\\n'\n");
  write_script(t, "cgi-bin/length.cgi", "#!/bin/sh\nprintf 'Content-Length: 5\\n\\nhello'\n");
  write_script(t, "cgi-bin/garbage.cgi", "#!/bin/sh\necho 'this is not a header'\necho\n");
  write_script(t, "cgi-bin/silent.cgi", "#!/bin/sh\nexit 3\n");
  START_SERVER(s, cgi_config(t));
  auto r = curl_get(s.base_url() + "/cgi-bin/status.cgi");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "nope\n");
  r = curl_get(s.base_url() + "/cgi-bin/away.cgi");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.header("Location"), "http://example.com/there");
  r = curl_get(s.base_url() + "/cgi-bin/local.cgi");
  EXPECT_EQ(r.status, 302) << "with a Status: line, a local path is the script's own redirect";
  EXPECT_EQ(r.header("Location"), "/elsewhere");
  r = curl_get(s.base_url() + "/cgi-bin/length.cgi");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), "5");
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(curl_head(s.base_url() + "/cgi-bin/length.cgi").body, "");
  EXPECT_EQ(curl_get(s.base_url() + "/cgi-bin/garbage.cgi").status, 500);
  EXPECT_EQ(curl_get(s.base_url() + "/cgi-bin/silent.cgi").status, 500);
  EXPECT_TRUE(eventually([&] {
    std::string e = s.stderr_text();
    return e.find("malformed header from script " + t.path("cgi-bin/garbage.cgi")) != std::string::npos &&
           e.find("End of script output before headers: " + t.path("cgi-bin/silent.cgi") + " (exited with status 3)") !=
               std::string::npos;
  })) << s.stderr_text();
}

// CGI/1.1's local redirect (RFC 3875 6.2.2): a head that is only
// `Location: /path` makes the server answer for /path instead, as Apache's
// mod_cgi does; the first script's body never reaches the client.
TEST(Cgi, LocalRedirectAnswersForThePath) {
  TempTree t;
  t.write("www/index.html", "static index\n");
  write_script(t, "cgi-bin/local.cgi",
               "#!/bin/sh\ncat > /dev/null\nprintf 'Location: %s\\n\\nFIRST-BODY\\n' \"$(printf %s \"$QUERY_STRING\" | sed 's/^to=//')\"\n");
  write_script(t, "cgi-bin/second.cgi",
               "#!/bin/sh\nprintf 'Content-Type: text/plain\\nX-Second: 1\\n\\n'\n"
               "for v in REDIRECT_URL REDIRECT_STATUS REDIRECT_QUERY_STRING REQUEST_METHOD QUERY_STRING REQUEST_URI "
               "CONTENT_LENGTH; do eval \"val=\\${$v-<unset>}\"; echo \"$v=$val\"; done\n");
  write_script(t, "cgi-bin/loop.cgi", "#!/bin/sh\nprintf 'Location: /cgi-bin/loop.cgi\\n\\n'\n");
  START_SERVER(s, cgi_config(t, "CustomLog \"" + t.path("access.log") + "\" \"%r %>s\"\n"));
  auto r = curl_get(s.base_url() + "/cgi-bin/local.cgi?to=/index.html");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "static index\n");
  EXPECT_FALSE(r.has("Location"));
  r = curl_get(s.base_url() + "/cgi-bin/local.cgi?to=/cgi-bin/second.cgi?from=local");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("X-Second"), "1");
  EXPECT_EQ(r.body.find("FIRST-BODY"), std::string::npos) << r.body;
  auto env = env_lines(r.body);
  EXPECT_EQ(env["REDIRECT_URL"], "/cgi-bin/local.cgi");
  EXPECT_EQ(env["REDIRECT_STATUS"], "200");
  EXPECT_EQ(env["REDIRECT_QUERY_STRING"], "to=/cgi-bin/second.cgi?from=local");
  EXPECT_EQ(env["REQUEST_METHOD"], "GET");
  EXPECT_EQ(env["QUERY_STRING"], "from=local");
  EXPECT_EQ(env["REQUEST_URI"], "/cgi-bin/second.cgi?from=local");
  // A POST's body was the first script's: the second runs as a GET without one.
  CurlOptions post;
  post.method = "POST";
  post.body = std::string(3000, 'p');
  post.headers = {"Content-Type: application/x-www-form-urlencoded"};
  r = curl_request(s.base_url() + "/cgi-bin/local.cgi?to=/cgi-bin/second.cgi", post);
  ASSERT_EQ(r.status, 200) << r.body;
  env = env_lines(r.body);
  EXPECT_EQ(env["REQUEST_METHOD"], "GET");
  EXPECT_EQ(env["CONTENT_LENGTH"], "<unset>");
  // A HEAD stays a HEAD: no body.
  r = curl_head(s.base_url() + "/cgi-bin/local.cgi?to=/index.html");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("Content-Length"), "13");
  // A script that redirects to itself is stopped, as LimitInternalRecursion.
  r = curl_get(s.base_url() + "/cgi-bin/loop.cgi");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(eventually([&] { return s.stderr_text().find("LimitInternalRecursion") != std::string::npos; }))
      << s.stderr_text();
  // The access log keeps the request line the client sent.
  EXPECT_TRUE(eventually([&] {
    std::string log = t.read("access.log");
    return log.find("GET /cgi-bin/local.cgi?to=/index.html HTTP/1.1 200\n") != std::string::npos &&
           log.find("POST /cgi-bin/local.cgi?to=/cgi-bin/second.cgi HTTP/1.1 200\n") != std::string::npos &&
           log.find("HEAD /cgi-bin/local.cgi?to=/index.html HTTP/1.1 200\n") != std::string::npos;
  })) << t.read("access.log");
}

TEST(Cgi, ExecCgiAddHandlerAndSetHandler) {
  TempTree t;
  t.write("www/index.html", "static\n");
  const std::string perl = "#!/usr/bin/perl\nprint \"Content-Type: text/plain\\n\\n\";\nprint \"perl $ENV{SCRIPT_NAME}\\n\";\n";
  write_script(t, "www/app/hello.pl", perl);
  write_script(t, "www/app/hello.cgi", perl);
  write_script(t, "www/app/notes.txt", "just text\n");
  write_script(t, "www/plain/hello.pl", perl);  // no ExecCGI there
  write_script(t, "www/any/run", perl);          // SetHandler: any name
  write_script(t, "www/app/.hidden", perl);
  START_SERVER(s, cgi_config(t,
                             "<Directory \"" + t.path("www/app") + "\">\n  Options +ExecCGI\n  AddHandler cgi-script .cgi .pl\n</Directory>\n"
                             "<Directory \"" + t.path("www/plain") + "\">\n  AddHandler cgi-script .pl\n</Directory>\n"
                             "<Directory \"" + t.path("www/any") + "\">\n  Options ExecCGI\n  SetHandler cgi-script\n</Directory>\n"));
  auto r = curl_get(s.base_url() + "/app/hello.pl");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "perl /app/hello.pl\n");
  EXPECT_EQ(curl_get(s.base_url() + "/app/hello.cgi").body, "perl /app/hello.cgi\n");
  EXPECT_EQ(curl_get(s.base_url() + "/app/notes.txt").body, "just text\n") << "no handler for .txt: served as a file";
  EXPECT_EQ(curl_get(s.base_url() + "/any/run").body, "perl /any/run\n");
  EXPECT_EQ(curl_get(s.base_url() + "/index.html").body, "static\n");
  // A script where ExecCGI is off is refused, and its source is not sent.
  r = curl_get(s.base_url() + "/plain/hello.pl");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body.find("#!/usr/bin/perl"), std::string::npos);
  EXPECT_TRUE(eventually([&] {
    return s.stderr_text().find("Options ExecCGI is off in this directory: " + t.path("www/plain/hello.pl")) != std::string::npos;
  })) << s.stderr_text();
}

TEST(Cgi, RequestBodyIsStreamedToStdin) {
  TempTree t;
  t.mkdir("www");
  write_script(t, "cgi-bin/post.pl",
               "#!/usr/bin/perl\nuse Digest::MD5;\nbinmode STDIN;\nmy $d = Digest::MD5->new; my $n = 0; my $buf;\n"
               "while (my $r = read(STDIN, $buf, 65536)) { $n += $r; $d->add($buf); }\n"
               "print \"Content-Type: text/plain\\n\\n$n \", $d->hexdigest, \" $ENV{CONTENT_LENGTH}\\n\";\n");
  START_SERVER(s, cgi_config(t));
  std::string body;
  for (int i = 0; i < 3 * 1024 * 1024; ++i) body.push_back(static_cast<char>('a' + (i * 7) % 26));
  std::string md5;
  t.write("body.bin", body);
  ASSERT_TRUE(sh("md5sum " + t.path("body.bin") + " | cut -d' ' -f1", &md5));
  md5.pop_back();
  CurlOptions o;
  o.method = "POST";
  o.body = body;
  o.timeout = 20s;
  auto r = curl_request(s.base_url() + "/cgi-bin/post.pl", o);
  ASSERT_EQ(r.status, 200) << r.body << s.stderr_text();
  EXPECT_EQ(r.body, std::to_string(body.size()) + " " + md5 + " " + std::to_string(body.size()) + "\n");
  // Chunked: streamed as it comes, without CONTENT_LENGTH (the script reads to EOF).
  o.headers.push_back("Transfer-Encoding: chunked");
  r = curl_request(s.base_url() + "/cgi-bin/post.pl", o);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, std::to_string(body.size()) + " " + md5 + " \n");
}

TEST(Cgi, LargeOutputToAStalledClientKeepsTheWorkerSmall) {
  TempTree t;
  t.mkdir("www");
  constexpr int kMiB = 48;
  write_script(t, "cgi-bin/big.cgi",
               "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\\n'\nhead -c " + std::to_string(kMiB << 20) +
                   " /dev/zero\n");
  START_SERVER(s, cgi_config(t));
  std::vector<pid_t> workers;
  ASSERT_TRUE(eventually([&] { return (workers = workers_of(s.pid())).size() == 1; }, 5s));
  pid_t worker = workers[0];
  ASSERT_EQ(curl_get(s.base_url() + "/cgi-bin/big.cgi").body.size(), static_cast<size_t>(kMiB) << 20);
  long before = proc_status_kb(worker, "RssAnon");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int small = 16 * 1024;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(s.port());
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  std::string req = "GET /cgi-bin/big.cgi HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  long peak = before;
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    peak = std::max(peak, proc_status_kb(worker, "RssAnon"));
    std::this_thread::sleep_for(50ms);  // the sampling period of a stalled client, not synchronisation
  }
  uint64_t total = 0;
  static char buf[1 << 16];
  timeval tv{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    total += static_cast<uint64_t>(n);
    peak = std::max(peak, proc_status_kb(worker, "RssAnon"));
  }
  ::close(fd);
  EXPECT_GE(total, static_cast<uint64_t>(kMiB) << 20);
  std::printf("[ memory   ] %d MiB from a CGI script to a stalled client: worker RssAnon %ld kB before, peak %ld kB\n",
              kMiB, before, peak);
  EXPECT_LT(peak - before, 8 * 1024) << "the worker held the response instead of pacing the script";
}

TEST(Cgi, ScriptTimeoutAnswers504AndKillsTheScript) {
  TempTree t;
  t.mkdir("www");
  write_script(t, "cgi-bin/slow.cgi", "#!/bin/sh\necho $$ > " + t.path("slow.pid") + "\nexec sleep 30\n");
  START_SERVER(s, cgi_config(t, "CGIDScriptTimeout 1\n"));
  auto start = std::chrono::steady_clock::now();
  auto r = curl_get(s.base_url() + "/cgi-bin/slow.cgi");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 504);
  EXPECT_LT(took, 4s);
  pid_t pid = read_pid(t.path("slow.pid"));
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(eventually([&] { return reaped(pid); }, 4s)) << "the script outlived its timeout";
  EXPECT_TRUE(eventually([&] { return s.stderr_text().find("no output from the script within CGIDScriptTimeout") != std::string::npos; }))
      << s.stderr_text();
}

TEST(Cgi, LauncherKilledMidRequestAnswers503AndIsRestarted) {
  TempTree t;
  t.mkdir("www");
  write_script(t, "cgi-bin/slow.cgi", "#!/bin/sh\necho $$ > " + t.path("slow.pid") + "\nexec sleep 30\n");
  write_script(t, "cgi-bin/ok.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nok\\n'\n");
  START_SERVER(s, cgi_config(t));
  pid_t launcher = 0;
  ASSERT_TRUE(eventually([&] { return (launcher = launcher_of(s.pid())) != 0; }, 5s));
  CurlResult slow;
  std::thread client([&] { slow = curl_get(s.base_url() + "/cgi-bin/slow.cgi"); });
  ASSERT_TRUE(eventually([&] { return read_pid(t.path("slow.pid")) > 0; }, 5s));
  pid_t script = read_pid(t.path("slow.pid"));
  auto killed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(launcher, SIGKILL), 0);
  client.join();
  EXPECT_EQ(slow.status, 503);
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 2s) << "the in-flight request must not wait for its timeout";
  EXPECT_TRUE(eventually([&] { return !process_alive(script); }, 3s)) << "the script dies with its launcher";
  // Restarted by the master; the next requests work.
  EXPECT_TRUE(eventually([&] { pid_t l = launcher_of(s.pid()); return l != 0 && l != launcher; }, 5s));
  EXPECT_TRUE(eventually([&] { return curl_get(s.base_url() + "/cgi-bin/ok.cgi").body == "ok\n"; }, 5s));
  EXPECT_TRUE(eventually([&] {
    std::string e = s.stderr_text();
    return e.find("the CGI launcher went away while " + t.path("cgi-bin/slow.cgi") + " ran") != std::string::npos &&
           e.find("CGI launcher " + std::to_string(launcher) + " killed by SIGKILL") != std::string::npos;
  })) << s.stderr_text();
}

TEST(Cgi, WorkerKilledMidRequestLeavesNoScriptBehind) {
  TempTree t;
  t.mkdir("www");
  // It reads its stdin (never closed by the client) and would sleep long after.
  write_script(t, "cgi-bin/stuck.cgi", "#!/bin/sh\necho $$ > " + t.path("stuck.pid") + "\ncat > /dev/null\nexec sleep 60\n");
  START_SERVER(s, cgi_config(t));
  std::vector<pid_t> workers;
  ASSERT_TRUE(eventually([&] { return (workers = workers_of(s.pid())).size() == 1; }, 5s));
  RawConnection c(s.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("POST /cgi-bin/stuck.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\npartial"));
  ASSERT_TRUE(eventually([&] { return read_pid(t.path("stuck.pid")) > 0; }, 5s));
  pid_t script = read_pid(t.path("stuck.pid"));
  ASSERT_TRUE(process_alive(script));
  ASSERT_EQ(::kill(workers[0], SIGKILL), 0);
  EXPECT_TRUE(eventually([&] { return reaped(script); }, 4s)) << "the script of a dead worker must be stopped and reaped";
  // The replacement worker runs scripts.
  write_script(t, "cgi-bin/ok.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nok\\n'\n");
  EXPECT_TRUE(eventually([&] { return curl_get(s.base_url() + "/cgi-bin/ok.cgi").body == "ok\n"; }, 5s));
}

// ---- suexec, UserDir, limits -------------------------------------------------------

struct Account {
  uid_t uid = 0;
  gid_t gid = 0;
};

Account nobody() {
  Account a;
  if (passwd* pw = getpwnam("nobody")) {
    a.uid = pw->pw_uid;
    a.gid = pw->pw_gid;
  }
  return a;
}

std::string group_name(gid_t g) {
  group* gr = getgrgid(g);
  return gr ? gr->gr_name : "";
}

#define REQUIRE_ROOT_AND_NOBODY(acct)                                                        \
  if (::geteuid() != 0) GTEST_SKIP() << "suexec needs the tests to run as root";             \
  Account acct = nobody();                                                                   \
  if (acct.uid < 100 || acct.gid < 100) GTEST_SKIP() << "no nobody account with a uid >= 100"

// `rel` (a directory) and everything in it owned by the account, 0755.
void give(TempTree& t, const std::string& rel, const Account& a) {
  ASSERT_TRUE(sh("chown -R " + std::to_string(a.uid) + ":" + std::to_string(a.gid) + " " + t.path(rel) +
                 " && chmod 0755 " + t.path(rel)));
}

TEST(Cgi, SuexecRunsScriptsAsTheVhostUserAndRefusesWhatSuexecRefuses) {
  REQUIRE_ROOT_AND_NOBODY(who);
  TempTree t;
  ::chmod(t.root().c_str(), 0755);
  const std::string id = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nid -u; id -g\n";
  write_script(t, "www/app/id.cgi", id);
  write_script(t, "www/app/rootowned.cgi", id);
  write_script(t, "www/app/groupwritable.cgi", id);
  write_script(t, "www/app/setuid.cgi", id);
  write_script(t, "www/app/env.cgi",
               "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\n"
               "echo \"LD_PRELOAD=${LD_PRELOAD-<unset>}\"; echo \"APP_MODE=${APP_MODE-<unset>}\"; "
               "echo \"UNIQUE_ID=${UNIQUE_ID-<unset>}\"\n");
  t.write("www/index.html", "home\n");
  give(t, "www/app", who);
  ASSERT_TRUE(sh("chown root:root " + t.path("www/app/rootowned.cgi") + " && chmod 0775 " + t.path("www/app/groupwritable.cgi") +
                 " && chmod 4755 " + t.path("www/app/setuid.cgi")));
  START_SERVER(s, cgi_config(t, "SuexecUserGroup nobody " + group_name(who.gid) + "\n<Directory \"" + t.path("www/app") +
                                    "\">\n  Options +ExecCGI\n  AddHandler cgi-script .cgi\n</Directory>\n"
                                    "SetEnv LD_PRELOAD /tmp/evil.so\nSetEnv APP_MODE x\nSetEnv UNIQUE_ID u1\n"));
  // Of the request's variables, only suexec's safe names reach a script run as another user.
  auto e = env_lines(curl_get(s.base_url() + "/app/env.cgi").body);
  EXPECT_EQ(e["LD_PRELOAD"], "<unset>");
  EXPECT_EQ(e["APP_MODE"], "<unset>");
  EXPECT_EQ(e["UNIQUE_ID"], "u1");
  auto r = curl_get(s.base_url() + "/app/id.cgi");
  ASSERT_EQ(r.status, 200) << r.body << s.stderr_text();
  EXPECT_EQ(r.body, std::to_string(who.uid) + "\n" + std::to_string(who.gid) + "\n");
  EXPECT_EQ(curl_get(s.base_url() + "/app/rootowned.cgi").status, 500);
  EXPECT_EQ(curl_get(s.base_url() + "/app/groupwritable.cgi").status, 500);
  EXPECT_EQ(curl_get(s.base_url() + "/app/setuid.cgi").status, 500);
  EXPECT_TRUE(eventually([&] {
    std::string e = s.stderr_text();
    return e.find("suexec refused " + t.path("www/app/rootowned.cgi") + ": target uid/gid (" + std::to_string(who.uid)) !=
               std::string::npos &&
           e.find("suexec refused " + t.path("www/app/groupwritable.cgi") + ": the program is writable by group or others") !=
               std::string::npos &&
           e.find("suexec refused " + t.path("www/app/setuid.cgi") + ": the program is setuid or setgid") != std::string::npos;
  })) << s.stderr_text();
  // A ScriptAlias outside the DocumentRoot is refused under suexec (the script must be under it).
  write_script(t, "cgi-bin/id.cgi", id);
  give(t, "cgi-bin", who);
  EXPECT_EQ(curl_get(s.base_url() + "/cgi-bin/id.cgi").status, 500);
  EXPECT_TRUE(eventually([&] { return s.stderr_text().find("is not under the vhost's DocumentRoot") != std::string::npos; }));
}

TEST(Cgi, UserDirServesFilesAndRunsScriptsAsTheUser) {
  REQUIRE_ROOT_AND_NOBODY(who);
  TempTree t;
  ::chmod(t.root().c_str(), 0755);
  t.write("www/index.html", "home\n");
  t.write("home/nobody/public_html/hello.txt", "hello from nobody\n");
  write_script(t, "home/nobody/public_html/id.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nid -u\necho $SCRIPT_NAME\n");
  t.write("home/root/public_html/secret.txt", "root's\n");
  t.write("home/nobody/public_html/source.php", "<?php echo 'php source';\n");
  give(t, "home/nobody/public_html", who);
  ::chmod(t.path("home").c_str(), 0755);
  ::chmod(t.path("home/nobody").c_str(), 0755);
  START_SERVER(s, cgi_config(t, "UserDir \"" + t.path("home") + "/*/public_html\"\nUserDir disabled root\n"
                                    "<Directory \"" + t.path("home/nobody/public_html") + "\">\n  Options +ExecCGI\n"
                                    "  AddHandler cgi-script .cgi\n</Directory>\n"));
  auto r = curl_get(s.base_url() + "/~nobody/hello.txt");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from nobody\n");
  r = curl_get(s.base_url() + "/~nobody/id.cgi");
  ASSERT_EQ(r.status, 200) << r.body << s.stderr_text();
  EXPECT_EQ(r.body, std::to_string(who.uid) + "\n/~nobody/id.cgi\n");
  EXPECT_EQ(curl_get(s.base_url() + "/~root/secret.txt").status, 404) << "UserDir disabled root";
  EXPECT_EQ(curl_get(s.base_url() + "/~nobody/missing.txt").status, 404);
  // ScriptSourceGuard holds under a UserDir too: no handler, no source.
  r = curl_get(s.base_url() + "/~nobody/source.php");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body.find("php source"), std::string::npos);
}

TEST(Cgi, RLimitCpuKillsACpuLoopWhileOthersAreServed) {
  TempTree t;
  t.mkdir("www");
  write_script(t, "cgi-bin/hog.cgi", "#!/bin/sh\nwhile :; do :; done\n");
  write_script(t, "cgi-bin/ok.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nok\\n'\n");
  START_SERVER(s, cgi_config(t, "RLimitCPU 1 2\nCGIDScriptTimeout 20\n"));
  CurlResult hog;
  auto start = std::chrono::steady_clock::now();
  std::thread client([&] {
    CurlOptions o;
    o.timeout = 15s;
    hog = curl_request(s.base_url() + "/cgi-bin/hog.cgi", o);
  });
  // Meanwhile the server answers.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(curl_get(s.base_url() + "/cgi-bin/ok.cgi").body, "ok\n");
  client.join();
  EXPECT_EQ(hog.status, 500);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s) << "killed at its CPU limit, not at the timeout";
  EXPECT_TRUE(eventually([&] {
    return s.stderr_text().find("killed by SIGXCPU (its CPU time reached RLimitCPU)") != std::string::npos;
  })) << s.stderr_text();
}

// A user made for the test (RLIMIT_NPROC counts every process of a user:
// nobody may run other tests' processes), removed at the end.
class TestUser {
 public:
  explicit TestUser(std::string name) : name_(std::move(name)) {
    sh("userdel " + name_ + " 2>/dev/null; groupdel " + name_ + " 2>/dev/null");  // a previous run's
    ok_ = sh("useradd --system --user-group --no-create-home --shell /usr/sbin/nologin " + name_);
    if (passwd* pw = ok_ ? getpwnam(name_.c_str()) : nullptr) {
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
    }
    ok_ = ok_ && uid_ >= 100 && gid_ >= 100;
  }
  ~TestUser() {
    if (uid_) sh("pkill -KILL -U " + std::to_string(uid_) + " 2>/dev/null");
    sh("userdel " + name_ + " 2>/dev/null; groupdel " + name_ + " 2>/dev/null");
  }
  bool ok() const { return ok_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool ok_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

TEST(Cgi, RLimitNprocStopsAForkBombAndTheServerKeepsAnswering) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (a dedicated user)";
  TestUser user("pillar-cgi-nproc");
  if (!user.ok()) GTEST_SKIP() << "cannot create a test user with useradd";
  TempTree t;
  ::chmod(t.root().c_str(), 0755);
  t.write("www/index.html", "home\n");
  // Every process forks forever (a failed fork is retried, not fatal), a
  // little slowly so that the test does not starve the machine.
  write_script(t, "www/bomb/bomb.cgi", "#!/usr/bin/perl\nwhile (1) { fork; select(undef, undef, undef, 0.05); }\n");
  ASSERT_TRUE(sh("chown -R " + user.name() + ":" + user.name() + " " + t.path("www/bomb") + " && chmod 0755 " + t.path("www/bomb")));
  START_SERVER(s, cgi_config(t, "SuexecUserGroup " + user.name() + " " + user.name() + "\nCGIDScriptTimeout 2\n"
                                    "<Directory \"" + t.path("www/bomb") + "\">\n  Options +ExecCGI\n  SetHandler cgi-script\n"
                                    "  RLimitNPROC 8 8\n</Directory>\n"));
  CurlResult bomb;
  std::jthread client([&] { bomb = curl_get(s.base_url() + "/bomb/bomb.cgi"); });
  int peak = 0;
  ASSERT_TRUE(eventually([&] { return (peak = std::max(peak, processes_of(user.uid()))) > 0; }, 3s)) << s.stderr_text();
  auto until = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < until) {
    peak = std::max(peak, processes_of(user.uid()));
    EXPECT_EQ(curl_get(s.base_url() + "/index.html").body, "home\n") << "the server must keep answering";
  }
  client.join();
  EXPECT_EQ(bomb.status, 504);
  std::printf("[ nproc    ] fork bomb under RLimitNPROC 8: at most %d processes of its user seen\n", peak);
  EXPECT_LE(peak, 8);
  EXPECT_TRUE(eventually([&] { return processes_of(user.uid()) == 0; }, 5s)) << "the bomb's processes must all be stopped";
}

TEST(Cgi, ConfigErrorsNameFileAndLine) {
  TempTree t;
  t.mkdir("www");
  auto bad = [&](const std::string& line, const std::string& expect) {
    std::string path;
    RunResult r = check_config(cgi_config(t, line + "\n"), &path);
    EXPECT_NE(r.exit_code, 0) << line;
    EXPECT_NE(r.err.find(path + ":10: "), std::string::npos) << line << "\n" << r.err;
    EXPECT_NE(r.err.find(expect), std::string::npos) << line << "\n" << r.err;
  };
  bad("RLimitCPU lots", "RLimitCPU lots");
  bad("RLimitNPROC 10 5", "above the hard limit");
  bad("SuexecUserGroup no-such-user-here nogroup", "user no-such-user-here does not exist");
  bad("SuexecUserGroup root root", "never runs scripts as root");
  bad("SuexecUserGroup daemon daemon", "at least 100");
  bad("UserDir http://example.com/~*", "redirecting to a URL is not supported");
  bad("CGIDScriptTimeout 0", "CGIDScriptTimeout 0");
  RunResult ok = check_config(cgi_config(t, "RLimitCPU 10 max\nRLimitMEM 256M\nUserDir public_html\nUserDir disabled root\n"
                                            "CGIDScriptTimeout 30\n<Location /x>\n  SetHandler cgi-script\n</Location>\n"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace itest

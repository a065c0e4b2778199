// HTTP Basic authentication (mod_auth_basic, mod_authn_file,
// mod_authz_user, mod_authz_groupfile) on real requests, with password
// files made by htpasswd (apache2-utils) in every format: apr1-MD5,
// bcrypt, SHA-1, crypt, and plain text (refused, as Apache on Linux).
// 401 with the realm and the ErrorDocument, Require user/group and the
// containers with Require ip, %u in the access log, REMOTE_USER for PHP
// (FastCGI), a proxied location, the file re-read when it changes, a
// missing file (500 and a clear error-log line), a 401 that keeps the
// connection for the retry.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "backend.h"
#include "core/base64.h"
#include "php_fpm.h"
#include "test_common.h"

namespace itest {
namespace {

bool have_htpasswd() { return ::access("/usr/bin/htpasswd", X_OK) == 0; }

// htpasswd -b FLAGS FILE USER PASSWORD (creating FILE with -c).
void htpasswd(const std::string& file, const std::string& flags, const std::string& user, const std::string& pw) {
  std::string cmd = "htpasswd -b " + flags + " '" + file + "' '" + user + "' '" + pw + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

std::string basic(const std::string& user, const std::string& pw) {
  return "Authorization: Basic " + pillar::core::base64_encode(user + ":" + pw);
}

#define NEED_HTPASSWD() \
  if (!have_htpasswd()) GTEST_SKIP() << "htpasswd is not installed (apache2-utils: scripts/install-deps)"

class Auth : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::string users = tree.path("users");
  std::string groups = tree.path("groups");
  std::string log = tree.path("access.log");

  void SetUp() override {
    if (!have_htpasswd()) return;
    htpasswd(users, "-c -m", "apr1", "pw-apr1");
    htpasswd(users, "-B -C 4", "bcrypt", "pw-bcrypt");
    htpasswd(users, "-s", "sha", "pw-sha");
    htpasswd(users, "-d", "crypt", "pw-crypt");
    htpasswd(users, "-p", "plain", "pw-plain");
    htpasswd(users, "-m", "alice", "alice-pw");
    htpasswd(users, "-B -C 4", "bob", "bob-pw");
    tree.write("groups", "admins: alice\nstaff: alice bob\n");
    tree.write("www/private/index.html", "private page\n");
    tree.write("www/private/doc.txt", "private doc\n");
    tree.write("www/admins/index.html", "admins page\n");
    tree.write("www/alice/index.html", "alice page\n");
    tree.write("www/mixed/index.html", "mixed page\n");
    tree.write("www/both/index.html", "both page\n");
    tree.write("www/public.txt", "public\n");
  }

  std::string auth_lines(const std::string& realm) const {
    return "  AuthType Basic\n  AuthName \"" + realm + "\"\n  AuthUserFile " + users + "\n  AuthGroupFile " + groups +
           "\n";
  }

  std::string config(const std::string& extra = "") const {
    return basic_config(docroot, "StartServers 1\nServerLimit 1\n"
                                 "LogFormat \"%u %s %U\" who\nCustomLog " + log + " who\n"
                                 "<Directory \"" + docroot + "/private\">\n" + auth_lines("Private area") +
                                 "  Require valid-user\n</Directory>\n"
                                 "<Location /admins>\n" + auth_lines("Admins") + "  Require group admins\n</Location>\n"
                                 "<Location /alice>\n" + auth_lines("Alice") + "  Require user alice\n</Location>\n"
                                 "<Location /mixed>\n" + auth_lines("Mixed") +
                                 "  Require ip 127.0.0.1\n  Require valid-user\n</Location>\n"
                                 "<Location /both>\n" + auth_lines("Both") +
                                 "  <RequireAll>\n    Require ip 10.0.0.0/8\n    Require valid-user\n  </RequireAll>\n"
                                 "</Location>\n" + extra);
  }
};

TEST_F(Auth, NoCredentialsIs401WithTheRealm) {
  NEED_HTPASSWD();
  START_SERVER(srv, config());
  CurlResult r = curl_get(srv.base_url() + "/private/doc.txt");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.header("WWW-Authenticate"), "Basic realm=\"Private area\"");
  EXPECT_NE(r.body.find("401"), std::string::npos) << r.body;
  EXPECT_EQ(curl_get(srv.base_url() + "/public.txt").body, "public\n");  // elsewhere: nothing asked
  // A directory's index file is covered by its <Directory>.
  EXPECT_EQ(curl_get(srv.base_url() + "/private/").status, 401);
  EXPECT_EQ(curl_get(srv.base_url() + "/private/", {basic("alice", "alice-pw")}).body, "private page\n");
}

TEST_F(Auth, EveryHtpasswdFormatWithItsPasswordOnly) {
  NEED_HTPASSWD();
  START_SERVER(srv, config());
  for (const char* user : {"apr1", "bcrypt", "sha", "crypt"}) {
    std::string pw = std::string("pw-") + user;
    CurlResult ok = curl_get(srv.base_url() + "/private/doc.txt", {basic(user, pw)});
    EXPECT_EQ(ok.status, 200) << user;
    EXPECT_EQ(ok.body, "private doc\n") << user;
    std::string wrong = pw;
    wrong.back() = 'X';  // the last character: DES crypt reads only 8
    CurlResult bad = curl_get(srv.base_url() + "/private/doc.txt", {basic(user, wrong)});
    EXPECT_EQ(bad.status, 401) << user;
    EXPECT_EQ(bad.header("WWW-Authenticate"), "Basic realm=\"Private area\"") << user;
  }
  // Plain text is refused on this platform, as by Apache; the log says why.
  EXPECT_EQ(curl_get(srv.base_url() + "/private/doc.txt", {basic("plain", "pw-plain")}).status, 401);
  EXPECT_TRUE(eventually([&] { return srv.stderr_text().find("user plain in " + users) != std::string::npos; }))
      << srv.stderr_text();
  EXPECT_EQ(curl_get(srv.base_url() + "/private/doc.txt", {basic("nobody", "x")}).status, 401);
  EXPECT_TRUE(eventually([&] { return srv.stderr_text().find("user nobody not found") != std::string::npos; }))
      << srv.stderr_text();
  EXPECT_EQ(curl_get(srv.base_url() + "/private/doc.txt", {"Authorization: Bearer abc"}).status, 401);
}

// A bcrypt check (htpasswd -C 13: about half a second here) runs on the
// checker threads, not on the event loop: with one worker thread, requests
// sent while a wrong password is being checked are answered meanwhile.
// Checked on the loop, each would wait for the check to end.
TEST_F(Auth, ASlowPasswordCheckDoesNotStallTheOtherRequests) {
  NEED_HTPASSWD();
  htpasswd(users, "-B -C 13", "slow", "slow-pw");
  START_SERVER(srv, config("EventThreadsPerChild 1\n"));
  using Clock = std::chrono::steady_clock;
  std::atomic<bool> slow_done{false};
  int slow_status = 0;
  std::thread slow([&] {
    slow_status = curl_get(srv.base_url() + "/private/doc.txt", {basic("slow", "wrong")}).status;
    slow_done = true;
  });
  int answered_meanwhile = 0;
  Clock::duration worst{};
  while (!slow_done) {
    const auto t0 = Clock::now();
    CurlResult r = curl_get(srv.base_url() + "/public.txt");
    const auto took = Clock::now() - t0;
    ASSERT_EQ(r.status, 200);
    if (!slow_done) {
      ++answered_meanwhile;
      worst = std::max(worst, took);
    }
  }
  slow.join();
  EXPECT_EQ(slow_status, 401);
  EXPECT_GE(answered_meanwhile, 3) << "requests answered while the bcrypt check ran";
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(worst).count(), 250);
  // The right password, checked the same way, lets in (and is remembered).
  EXPECT_EQ(curl_get(srv.base_url() + "/private/doc.txt", {basic("slow", "slow-pw")}).status, 200);
  const auto t0 = Clock::now();
  EXPECT_EQ(curl_get(srv.base_url() + "/private/doc.txt", {basic("slow", "slow-pw")}).status, 200);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count(), 250)
      << "a verified pair is not checked again";
}

TEST_F(Auth, RequireUserAndGroupAndTheContainers) {
  NEED_HTPASSWD();
  START_SERVER(srv, config());
  EXPECT_EQ(curl_get(srv.base_url() + "/admins/", {basic("alice", "alice-pw")}).body, "admins page\n");
  CurlResult bob = curl_get(srv.base_url() + "/admins/", {basic("bob", "bob-pw")});  // authenticated, not an admin
  EXPECT_EQ(bob.status, 401);
  EXPECT_EQ(bob.header("WWW-Authenticate"), "Basic realm=\"Admins\"");
  EXPECT_TRUE(eventually([&] { return srv.stderr_text().find("user bob: authorization failure") != std::string::npos; }))
      << srv.stderr_text();
  EXPECT_EQ(curl_get(srv.base_url() + "/alice/", {basic("alice", "alice-pw")}).status, 200);
  EXPECT_EQ(curl_get(srv.base_url() + "/alice/", {basic("bob", "bob-pw")}).status, 401);
  // Require ip OR valid-user: this client's address is enough, no prompt.
  CurlResult mixed = curl_get(srv.base_url() + "/mixed/");
  EXPECT_EQ(mixed.status, 200);
  EXPECT_EQ(mixed.body, "mixed page\n");
  // ip AND valid-user from outside 10/8: no user can help, 403 without a challenge.
  CurlResult both = curl_get(srv.base_url() + "/both/", {basic("alice", "alice-pw")});
  EXPECT_EQ(both.status, 403);
  EXPECT_FALSE(both.has("WWW-Authenticate"));
}

TEST_F(Auth, TheUserIsLoggedAndA401KeepsTheConnection) {
  NEED_HTPASSWD();
  START_SERVER(srv, config());
  // The browser's way: ask, get 401, ask again with credentials on the same connection.
  RawExchange r = raw_exchange(srv.port(),
                               "GET /private/doc.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
                               "GET /private/doc.txt HTTP/1.1\r\nHost: localhost\r\n" + basic("sha", "pw-sha") +
                                   "\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.responses.size(), 2u) << r.data;
  EXPECT_EQ(r.responses[0].status, 401);
  EXPECT_EQ(r.responses[1].status, 200);
  EXPECT_EQ(r.responses[1].body, "private doc\n");
  EXPECT_TRUE(eventually([&] {
    std::string text = tree.read("access.log");
    return text.find("- 401 /private/doc.txt\n") != std::string::npos &&
           text.find("sha 200 /private/doc.txt\n") != std::string::npos;
  })) << tree.read("access.log");
}

TEST_F(Auth, ErrorDocumentFor401KeepsTheChallenge) {
  NEED_HTPASSWD();
  START_SERVER(srv, config("ErrorDocument 401 \"Who goes there?\"\n"));
  CurlResult r = curl_get(srv.base_url() + "/private/doc.txt");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body, "Who goes there?");
  EXPECT_EQ(r.header("WWW-Authenticate"), "Basic realm=\"Private area\"");
}

TEST_F(Auth, ThePasswordFileIsReadAgainWhenItChanges) {
  NEED_HTPASSWD();
  START_SERVER(srv, config());
  EXPECT_EQ(curl_get(srv.base_url() + "/private/doc.txt", {basic("alice", "alice-pw")}).status, 200);
  htpasswd(users, "-m", "alice", "changed");
  EXPECT_TRUE(eventually([&] {
    return curl_get(srv.base_url() + "/private/doc.txt", {basic("alice", "changed")}).status == 200;
  }, 5s));
  EXPECT_EQ(curl_get(srv.base_url() + "/private/doc.txt", {basic("alice", "alice-pw")}).status, 401);
}

TEST_F(Auth, AMissingFileIs500WithAClearLine) {
  NEED_HTPASSWD();
  std::string gone = tree.path("no-such-users");
  std::string conf = basic_config(docroot, "<Location /private>\n  AuthType Basic\n  AuthName x\n  AuthUserFile " + gone +
                                               "\n  Require valid-user\n</Location>\n"
                                               "<Location /noauth>\n  Require valid-user\n</Location>\n");
  RunResult t = check_config(conf);  // -t says so, and passes: Apache starts too
  EXPECT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.err.find("AuthUserFile " + gone + " does not exist"), std::string::npos) << t.err;
  START_SERVER(srv, conf);
  EXPECT_EQ(curl_get(srv.base_url() + "/private/doc.txt").status, 401);  // no credentials: the file is not needed yet
  EXPECT_EQ(curl_get(srv.base_url() + "/private/doc.txt", {basic("alice", "alice-pw")}).status, 500);
  EXPECT_TRUE(eventually([&] {
    return srv.stderr_text().find("could not open the password file (AuthUserFile at ") != std::string::npos &&
           srv.stderr_text().find("cannot read " + gone) != std::string::npos;
  })) << srv.stderr_text();
  // A user rule with nothing to authenticate with: 500, and what to add.
  EXPECT_EQ(curl_get(srv.base_url() + "/noauth/").status, 500);
  EXPECT_TRUE(eventually([&] { return srv.stderr_text().find("no AuthType is set here") != std::string::npos; }))
      << srv.stderr_text();
}

TEST_F(Auth, AProxiedLocationAuthenticatesBeforeTheMember) {
  NEED_HTPASSWD();
  Backend be("member");
  ASSERT_TRUE(be.ok());
  // ProxyPass first: a later <Location> of the same path is proxied by it
  // and its Require applies (docs/auth.md).
  START_SERVER(srv, proxy_front_config(docroot, "ProxyPass /app " + be.url() + "/app\n<Location /app>\n" +
                                                    auth_lines("App") + "  Require valid-user\n</Location>\n"));
  CurlResult none = curl_get(srv.base_url() + "/app/x");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("WWW-Authenticate"), "Basic realm=\"App\"");
  EXPECT_EQ(be.request_count(), 0u);  // never reached the member
  CurlResult ok = curl_get(srv.base_url() + "/app/x", {basic("bcrypt", "pw-bcrypt")});
  EXPECT_EQ(ok.status, 200);
  EchoInfo e = parse_echo(ok.body);
  EXPECT_EQ(e.target, "/app/x");
  EXPECT_TRUE(e.has("authorization"));  // passed on, as mod_proxy does
  EXPECT_EQ(be.request_count(), 1u);
}

TEST(AuthConfigCheck, NamesTheLineAndTheFix) {
  TempTree t;
  std::string path;
  RunResult bad = check_config(basic_config(t.root(), "<Location />\n  AuthType Digest\n  Require valid-user\n</Location>\n"),
                               &path);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(path + ":5: AuthType Digest is not supported"), std::string::npos) << bad.err;
  RunResult neg = check_config(basic_config(t.root(), "<Location />\n  Require not user eve\n</Location>\n"), &path);
  EXPECT_EQ(neg.exit_code, 1);
  EXPECT_NE(neg.err.find(path + ":5: a negative Require has no effect"), std::string::npos) << neg.err;
}

TEST(AuthFastCgi, RemoteUserReachesPhp) {
  NEED_HTPASSWD();
  TempTree t;
  START_FPM(fpm, t);
  std::string users = t.path("users");
  htpasswd(users, "-c -B -C 4", "carol", "carol-pw");
  t.write("www/who.php", "<?php echo ($_SERVER['REMOTE_USER'] ?? '<unset>'), ' ', ($_SERVER['AUTH_TYPE'] ?? '<unset>'),"
                         " ', ', isset($_SERVER['HTTP_AUTHORIZATION']) ? 'auth-passed' : 'auth-hidden';\n");
  t.write("www/open.php", "<?php echo $_SERVER['REMOTE_USER'] ?? '<unset>';\n");
  ::chmod(t.root().c_str(), 0755);
  START_SERVER(srv, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nServerLimit 1\n"
                    "DocumentRoot \"" + t.path("www") + "\"\n"
                    "<FilesMatch \\.php$>\n  SetHandler \"proxy:unix:" + fpm.socket() + "|fcgi://localhost\"\n</FilesMatch>\n"
                    "<Files who.php>\n  AuthType Basic\n  AuthName PHP\n  AuthUserFile " + users +
                    "\n  Require valid-user\n</Files>\n");
  EXPECT_EQ(curl_get(srv.base_url() + "/who.php").status, 401);
  CurlResult r = curl_get(srv.base_url() + "/who.php", {basic("carol", "carol-pw")});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "carol Basic, auth-hidden");  // the password stays with the server (CGIPassAuth Off)
  EXPECT_EQ(curl_get(srv.base_url() + "/open.php").body, "<unset>");
}

}  // namespace
}  // namespace itest

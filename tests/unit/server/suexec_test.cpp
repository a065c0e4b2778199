// Unit tests for suexec's checks (server/process/suexec.cpp) on real files
// in a temporary tree, chowned to the system's nobody (so they need root),
// and for the launcher's messages (server/cgi_launch.cpp).
#include <gtest/gtest.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "server/cgi_launch.h"
#include "server/process/suexec.h"

using namespace pillar::server;

namespace {

class SuexecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "chown needs root";
    passwd* pw = getpwnam("nobody");
    if (!pw || pw->pw_uid < 100 || pw->pw_gid < 100) GTEST_SKIP() << "no nobody account with ids >= 100";
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    char tmpl[] = "/tmp/pillar-suexec-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_EQ(chmod(root_.c_str(), 0755), 0);
    dir_ = root_ + "/site";
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
    ASSERT_EQ(chown(dir_.c_str(), uid_, gid_), 0);
    prog_ = make("run.cgi", 0755);
  }
  void TearDown() override {
    if (!root_.empty()) std::system(("rm -rf " + root_).c_str());
  }
  std::string make(const std::string& name, mode_t mode, bool owned = true) {
    std::string p = dir_ + "/" + name;
    FILE* f = std::fopen(p.c_str(), "w");
    std::fputs("#!/bin/sh\n", f);
    std::fclose(f);
    if (owned) {
      EXPECT_EQ(chown(p.c_str(), uid_, gid_), 0);
    }
    EXPECT_EQ(chmod(p.c_str(), mode), 0);
    return p;
  }
  LaunchRequest request(const std::string& prog) const {
    LaunchRequest r;
    r.program = prog;
    r.identity = LaunchRequest::Identity::Suexec;
    r.user = "nobody";
    r.group = "#" + std::to_string(gid_);
    r.root = root_;
    return r;
  }
  std::string why_refused(const LaunchRequest& r) {
    SuexecTarget t;
    std::string why;
    EXPECT_FALSE(suexec_check(r, t, why)) << r.program;
    return why;
  }

  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::string root_, dir_, prog_;
};

TEST_F(SuexecTest, AcceptsAScriptOwnedByTheTarget) {
  SuexecTarget t;
  std::string why;
  ASSERT_TRUE(suexec_check(request(prog_), t, why)) << why;
  EXPECT_EQ(t.uid, uid_);
  EXPECT_EQ(t.gid, gid_);
  EXPECT_EQ(t.user, "nobody");
  EXPECT_FALSE(t.groups.empty());
  // UserDir: the user's own group, under the user's directory.
  LaunchRequest u = request(prog_);
  u.identity = LaunchRequest::Identity::UserDir;
  u.group.clear();
  u.root = dir_;
  ASSERT_TRUE(suexec_check(u, t, why)) << why;
  EXPECT_EQ(t.gid, gid_);
}

TEST_F(SuexecTest, EachCheckNamesItself) {
  LaunchRequest r = request(prog_);
  r.user = "no-such-user-xyz";
  EXPECT_EQ(why_refused(r), "target user no-such-user-xyz does not exist");
  r = request(prog_);
  r.group = "no-such-group-xyz";
  EXPECT_EQ(why_refused(r), "target group no-such-group-xyz does not exist");
  r = request(prog_);
  r.user = "root";
  EXPECT_NE(why_refused(r).find("target uid 0 (root) is root or below the minimum uid 100"), std::string::npos);
  r = request(prog_);
  r.user = "daemon";
  if (getpwnam("daemon")) {
    EXPECT_NE(why_refused(r).find("below the minimum uid 100"), std::string::npos);
  }
  r = request(prog_);
  r.group = "#0";
  EXPECT_NE(why_refused(r).find("target gid 0 is root or below the minimum gid"), std::string::npos);
  r = request(dir_ + "/../site/run.cgi");
  EXPECT_NE(why_refused(r).find("climbs with .."), std::string::npos);
  r = request(prog_);
  r.root = dir_ + "/elsewhere";
  EXPECT_NE(why_refused(r).find("the root " + dir_ + "/elsewhere the script must be under does not exist"), std::string::npos);
  r = request("/bin/sh");
  EXPECT_NE(why_refused(r).find("is not under the vhost's DocumentRoot"), std::string::npos);
  EXPECT_NE(why_refused(request(dir_ + "/missing.cgi")).find("cannot stat the program"), std::string::npos);
  EXPECT_EQ(why_refused(request(make("gw.cgi", 0775))), "the program is writable by group or others");
  EXPECT_EQ(why_refused(request(make("ow.cgi", 0757))), "the program is writable by group or others");
  EXPECT_EQ(why_refused(request(make("suid.cgi", 04755))), "the program is setuid or setgid");
  EXPECT_EQ(why_refused(request(make("sgid.cgi", 02755))), "the program is setuid or setgid");
  EXPECT_EQ(why_refused(request(make("noexec.cgi", 0644))), "the program has no execute permission for its owner");
  EXPECT_NE(why_refused(request(make("rootowned.cgi", 0755, false))).find("does not own the directory"), std::string::npos);
  ASSERT_EQ(symlink(prog_.c_str(), (dir_ + "/link.cgi").c_str()), 0);
  ASSERT_EQ(lchown((dir_ + "/link.cgi").c_str(), uid_, gid_), 0);
  EXPECT_NE(why_refused(request(dir_ + "/link.cgi")).find("not a regular file"), std::string::npos);
  ASSERT_EQ(chmod(dir_.c_str(), 0775), 0);
  EXPECT_EQ(why_refused(request(prog_)), "the directory " + dir_ + " is writable by group or others");
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(chown(dir_.c_str(), 0, 0), 0);
  EXPECT_NE(why_refused(request(prog_)).find("does not own the directory (0/0)"), std::string::npos);
}

TEST(CgiLaunch, RequestAndReplyRoundTrip) {
  LaunchRequest r;
  r.program = "/srv/www/a.cgi";
  r.env = {"PATH=/usr/bin:/bin", "QUERY_STRING=a=1&b=2", "HTTP_X=" + std::string(70000, 'x')};
  r.identity = LaunchRequest::Identity::UserDir;
  r.user = "alice";
  r.root = "/home/alice/public_html";
  r.limits.cpu = {true, 5, 10};
  r.limits.nproc = {true, pillar::config::RLimitValue::kMax, std::nullopt};
  std::string m = encode_launch_request(r);
  LaunchRequest d;
  ASSERT_TRUE(decode_launch_request(m, d));
  EXPECT_EQ(d.program, r.program);
  EXPECT_EQ(d.env, r.env);
  EXPECT_EQ(d.identity, r.identity);
  EXPECT_EQ(d.user, "alice");
  EXPECT_EQ(d.root, r.root);
  EXPECT_TRUE(d.limits.cpu.set);
  EXPECT_EQ(d.limits.cpu.hard, 10u);
  EXPECT_EQ(d.limits.nproc.soft, pillar::config::RLimitValue::kMax);
  EXPECT_FALSE(d.limits.nproc.hard.has_value());
  EXPECT_FALSE(d.limits.mem.set);
  // Every truncation and a trailing byte are refused (the launcher runs as root).
  for (size_t n = 0; n < m.size(); n += 97) EXPECT_FALSE(decode_launch_request(m.substr(0, n), d)) << n;
  EXPECT_FALSE(decode_launch_request(m + "x", d));
  LaunchRequest bad = r;
  bad.env.push_back("NOEQUALS");
  EXPECT_FALSE(decode_launch_request(encode_launch_request(bad), d));

  LaunchReply rep;
  rep.kind = LaunchReply::Kind::Refused;
  rep.value = 500;
  rep.message = "suexec refused x: the program is setuid or setgid";
  LaunchReply back;
  ASSERT_TRUE(decode_launch_reply(encode_launch_reply(rep), back));
  EXPECT_EQ(back.kind, rep.kind);
  EXPECT_EQ(back.value, 500);
  EXPECT_EQ(back.message, rep.message);
  rep.kind = LaunchReply::Kind::Exited;
  rep.pid = 1234;
  rep.value = -1;
  ASSERT_TRUE(decode_launch_reply(encode_launch_reply(rep), back));
  EXPECT_EQ(back.pid, 1234);
  EXPECT_EQ(back.value, -1);
  EXPECT_FALSE(decode_launch_reply("\x07", back));
}

TEST(CgiLaunch, DescribesHowAScriptEnded) {
  int status = 0;
  pid_t p = fork();
  if (p == 0) _exit(3);
  waitpid(p, &status, 0);
  EXPECT_EQ(describe_wait_status(status), "exited with status 3");
  p = fork();
  if (p == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    raise(SIGXCPU);
    _exit(0);
  }
  waitpid(p, &status, 0);
  EXPECT_EQ(describe_wait_status(status), "killed by SIGXCPU (its CPU time reached RLimitCPU)");
}

}  // namespace

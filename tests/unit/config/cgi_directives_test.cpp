// Unit tests for directives/cgi.cpp and the CGI forms of SetHandler and
// AddHandler: mod_cgid, mod_suexec, mod_userdir and RLimit* syntax into
// CgiSettings, and errors that name the line and the fix.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config_text.h"
#include "config/modules.h"

using namespace pillar::config;

namespace {

using config_text::errors;
using config_text::load;

// The first error's text, "" when the load succeeded.
std::string first_error(const std::string& body) {
  auto r = load(body);
  return r.errors.empty() ? std::string() : r.errors[0].to_string();
}

TEST(CgiDirectives, RLimitsSoftHardAndMax) {
  auto r = load("RLimitCPU 10\nRLimitMEM 256M max\n<Directory /srv/www>\n  RLimitNPROC 20 30\n</Directory>\n"
                "<Location /app>\n  RLimitCPU max\n</Location>\n<Files \"*.cgi\">\n  RLimitMEM 1000 2000\n</Files>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& vh = r.config->main_server;
  EXPECT_TRUE(vh.cgi.rlimits.cpu.set);
  EXPECT_EQ(vh.cgi.rlimits.cpu.soft, 10u);
  EXPECT_FALSE(vh.cgi.rlimits.cpu.hard.has_value()) << "one value: the soft limit only, as Apache";
  EXPECT_EQ(vh.cgi.rlimits.mem.soft, 256u << 20);
  EXPECT_EQ(vh.cgi.rlimits.mem.hard, RLimitValue::kMax);
  EXPECT_FALSE(vh.cgi.rlimits.nproc.set);
  const auto& d = vh.directories.at(0).cgi.rlimits;
  EXPECT_EQ(d.nproc.soft, 20u);
  EXPECT_EQ(d.nproc.hard, 30u);
  EXPECT_EQ(vh.locations.at(0).cgi.rlimits.cpu.soft, RLimitValue::kMax);
  EXPECT_EQ(vh.files.at(0).cgi.rlimits.mem.hard, 2000u);
  // Merging: the inner section wins, limit by limit.
  RLimits m = vh.cgi.rlimits;
  m.merge_from(vh.directories.at(0).cgi.rlimits);
  EXPECT_EQ(m.cpu.soft, 10u);
  EXPECT_EQ(m.nproc.soft, 20u);
}

TEST(CgiDirectives, RLimitErrors) {
  EXPECT_NE(first_error("RLimitCPU lots\n").find("t.conf:2: RLimitCPU lots"), std::string::npos) << first_error("RLimitCPU lots\n");
  EXPECT_NE(first_error("RLimitNPROC 10 5\n").find("above the hard limit"), std::string::npos);
  EXPECT_NE(first_error("RLimitNPROC max 5\n").find("above the hard limit"), std::string::npos);
  EXPECT_NE(first_error("RLimitCPU 1 2 3\n").find("t.conf:2"), std::string::npos);
}

TEST(CgiDirectives, SetHandlerCgiScriptInEachSection) {
  auto r = load("<Directory /srv/cgi>\n  SetHandler cgi-script\n  Options +ExecCGI\n</Directory>\n"
                "<Directory /srv/www>\n  AddHandler cgi-script .cgi .PL\n  RemoveHandler .pl\n</Directory>\n"
                "<FilesMatch \\.py$>\n  SetHandler cgi-script\n</FilesMatch>\n"
                "<Files \"*.php\">\n  SetHandler cgi-script\n  SetHandler \"proxy:fcgi://127.0.0.1:9000\"\n</Files>\n"
                "<Location /run>\n  SetHandler cgi-script\n</Location>\n<Location /off>\n  SetHandler None\n</Location>\n"
                "AddHandler cgi-script .cgi\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& vh = r.config->main_server;
  ASSERT_EQ(vh.directories.size(), 2u);
  EXPECT_EQ(vh.directories[0].cgi.handler, true);
  EXPECT_TRUE(vh.directories[0].options.add & Options::ExecCGI);
  EXPECT_EQ(vh.directories[1].cgi.add_handlers.at(".cgi"), "cgi-script");
  EXPECT_EQ(vh.directories[1].cgi.add_handlers.at(".pl"), "") << "RemoveHandler in a <Directory> masks the vhost's";
  EXPECT_EQ(vh.files.at(0).cgi.handler, true);
  EXPECT_FALSE(vh.files.at(1).cgi.handler.has_value()) << "a later SetHandler in the section replaces cgi-script";
  EXPECT_TRUE(vh.files.at(1).fcgi);
  EXPECT_EQ(vh.locations.at(0).cgi.handler, true);
  EXPECT_EQ(vh.locations.at(0).handler, HandlerKind::Default);
  EXPECT_EQ(vh.locations.at(1).cgi.handler, false);
  EXPECT_EQ(vh.add_handlers.at(".cgi"), "cgi-script");
  EXPECT_NE(first_error("<Directory /srv>\n  SetHandler server-status\n</Directory>\n").find("takes cgi-script or None"),
            std::string::npos);
}

TEST(CgiDirectives, SuexecUserGroup) {
  auto r = load("<VirtualHost *:80>\n  ServerName a.test\n  SuexecUserGroup nobody #65534\n</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_EQ(r.config->vhosts.at(0).cgi.suexec_user, "nobody");
  EXPECT_EQ(r.config->vhosts.at(0).cgi.suexec_group, "#65534");
  EXPECT_TRUE(r.config->main_server.cgi.suexec_user.empty());
  EXPECT_NE(first_error("SuexecUserGroup no-such-user-xyz nogroup\n").find("t.conf:2: SuexecUserGroup: user no-such-user-xyz does not exist"),
            std::string::npos);
  EXPECT_NE(first_error("SuexecUserGroup nobody no-such-group-xyz\n").find("group no-such-group-xyz does not exist"),
            std::string::npos);
  EXPECT_NE(first_error("SuexecUserGroup root root\n").find("never runs scripts as root"), std::string::npos);
  EXPECT_NE(first_error("SuexecUserGroup daemon daemon\n").find("at least 100"), std::string::npos);
  EXPECT_NE(first_error("<Directory /x>\nSuexecUserGroup nobody nogroup\n</Directory>\n").find("t.conf:3"), std::string::npos);
}

TEST(CgiDirectives, UserDir) {
  auto r = load("UserDir public_html /home/*/www\nUserDir disabled root toor\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& u = r.config->main_server.cgi.userdir;
  EXPECT_EQ(u.dirs, (std::vector<std::string>{"public_html", "/home/*/www"}));
  EXPECT_TRUE(u.allows("alice"));
  EXPECT_FALSE(u.allows("root"));
  EXPECT_FALSE(u.allows("toor"));
  r = load("UserDir public_html\nUserDir disabled\nUserDir enabled alice bob\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& v = r.config->main_server.cgi.userdir;
  EXPECT_TRUE(v.allows("alice"));
  EXPECT_TRUE(v.allows("bob"));
  EXPECT_FALSE(v.allows("carol")) << "UserDir disabled: only the enabled users";
  EXPECT_FALSE(UserDirConfig().allows("alice")) << "no UserDir: off (Apache 2.4)";
  EXPECT_NE(first_error("UserDir http://example.com/~*\n").find("redirecting to a URL is not supported"), std::string::npos);
  EXPECT_NE(first_error("UserDir www/*/x\n").find("only in an absolute path"), std::string::npos);
  EXPECT_NE(first_error("UserDir enabled\n").find("needs user names"), std::string::npos);
}

TEST(CgiDirectives, ScriptTimeoutAndSock) {
  auto r = load("CGIDScriptTimeout 30\nScriptSock /run/apache2/cgisock\n<VirtualHost *:80>\nCGIDScriptTimeout 500ms\n</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_EQ(r.config->main_server.cgi.script_timeout, std::chrono::milliseconds(30000));
  EXPECT_EQ(r.config->vhosts.at(0).cgi.script_timeout, std::chrono::milliseconds(500));
  EXPECT_NE(first_error("CGIDScriptTimeout 0\n").find("t.conf:2: CGIDScriptTimeout 0"), std::string::npos);
}

TEST(CgiDirectives, ModulesArePresentAfterTheirLoadModule) {
  for (const char* m : {"cgid_module", "cgi_module", "suexec_module", "userdir_module", "mod_cgid.c", "mod_userdir.c"}) {
    const ApacheModule* a = find_module(m);
    ASSERT_NE(a, nullptr) << m;
    EXPECT_TRUE(a->present) << m;
    EXPECT_TRUE(a->needs_load) << m << ": Debian enables it with a2enmod";
  }
  // Debian's serve-cgi-bin.conf: its ScriptAlias comes with LoadModule cgid_module.
  auto r = load("LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so\n<IfModule mod_cgid.c>\n"
                "  ScriptSock /run/apache2/cgisock\n  Define ENABLE_USR_LIB_CGI_BIN\n</IfModule>\n"
                "<IfDefine ENABLE_USR_LIB_CGI_BIN>\n  ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/\n"
                "  <Directory \"/usr/lib/cgi-bin\">\n    AllowOverride None\n    Options +ExecCGI -MultiViews +SymLinksIfOwnerMatch\n"
                "    Require all granted\n  </Directory>\n</IfDefine>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  ASSERT_EQ(r.config->main_server.alias_rules.size(), 1u);
  EXPECT_TRUE(r.config->main_server.alias_rules[0].script);
  auto without = load("<IfModule mod_cgid.c>\n  Define ENABLE_USR_LIB_CGI_BIN\n</IfModule>\n"
                      "<IfDefine ENABLE_USR_LIB_CGI_BIN>\n  ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/\n</IfDefine>\n");
  ASSERT_TRUE(without.ok()) << errors(without);
  EXPECT_TRUE(without.config->main_server.alias_rules.empty());
}

}  // namespace

// Unit tests for the read-time constructs of section_tree.cpp and the
// module table (modules.cpp): ${VAR} from Define and the environment,
// Define/UnDefine, -D and <IfDefine>, <IfModule>, LoadModule, and the merge
// of two sections with the same path (loader.cpp).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <string>

#include "config/loader.h"
#include "config/modules.h"

using namespace pillar::config;

namespace {

LoadResult load(std::string_view text, LoadOptions opts = {}) {
  if (opts.server_root.empty()) opts.server_root = "/";
  return load_config_text(text, "v.conf", opts);
}

std::string dump(const LoadResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += "  " + e.to_string() + "\n";
  return s;
}

TEST(Variables, DefineValueExpandsLaterLines) {
  LoadResult r = load("Define PORT 8081\nDefine HOST www.example.com\nListen 127.0.0.1:${PORT}\nServerName ${HOST}\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->listens.at(0).port, 8081);
  EXPECT_EQ(r.config->main_server.server_name, "www.example.com");
}

TEST(Variables, EnvironmentIsReadWhenNoDefine) {
  setenv("PILLAR_TEST_RUN_NAME", "envhost.example", 1);
  LoadResult r = load("Listen 8080\nServerName ${PILLAR_TEST_RUN_NAME}\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->main_server.server_name, "envhost.example");
  // Define wins over the environment, as ap_resolve_env looks at Define first.
  LoadResult d = load("Define PILLAR_TEST_RUN_NAME defined.example\nListen 8080\nServerName ${PILLAR_TEST_RUN_NAME}\n");
  ASSERT_TRUE(d.ok()) << dump(d);
  EXPECT_EQ(d.config->main_server.server_name, "defined.example");
  unsetenv("PILLAR_TEST_RUN_NAME");
}

TEST(Variables, UndefinedIsAnErrorWithFileAndLine) {
  unsetenv("PILLAR_TEST_NOT_SET");
  LoadResult r = load("Listen 8080\n\nUser ${PILLAR_TEST_NOT_SET}\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].file, "v.conf");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("${PILLAR_TEST_NOT_SET} is not defined"), std::string::npos);
}

// ${map:key|default} is a RewriteMap lookup (a name with ':' is never a variable, as in Apache).
TEST(Variables, MapLookupsAreNotVariables) {
  LoadResult r = load("Listen 8080\nDefine X 1\nRewriteEngine On\nRewriteMap lc int:tolower\n"
                      "RewriteRule ^/(.*)$ /${lc:$1|none}/${X} [R]\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.config->main_server.rewrite.size(), 3u);
  EXPECT_EQ(r.config->main_server.rewrite[2].args[1], "/${lc:$1|none}/1");
}

TEST(Variables, ValueIsSplitIntoWordsAfterExpansion) {
  // Apache expands the whole line, then splits it: a value with a space is two words.
  LoadResult r = load("Define NAMES \"a.example b.example\"\nListen 8080\n<VirtualHost *:8080>\nServerName x\n"
                      "ServerAlias ${NAMES}\n</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.config->vhosts.at(0).aliases.size(), 2u);
  EXPECT_EQ(r.config->vhosts[0].aliases[1], "b.example");
}

TEST(Variables, DollarWithoutBracesIsLiteral) {
  LoadResult r = load("Listen 8080\nServerName $HOST\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->main_server.server_name, "$host");
}

TEST(IfDefine, CommandLineAndDefineAndUnDefine) {
  LoadOptions o;
  o.defines = {"FROMCLI"};
  LoadResult r = load("Listen 8080\n<IfDefine FROMCLI>\nServerName cli\n</IfDefine>\n"
                      "Define LATER\n<IfDefine LATER>\nServerAlias unused\n</IfDefine>\n"
                      "<IfDefine !LATER>\nServerName wrong\n</IfDefine>\n"
                      "UnDefine FROMCLI\n<IfDefine FROMCLI>\nServerName wrong2\n</IfDefine>\n",
                      o);
  // ServerAlias at the top level is refused: proof that the true LATER block was read.
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 7);
  LoadResult ok = load("Listen 8080\n<IfDefine FROMCLI>\nServerName cli\n</IfDefine>\n"
                       "<IfDefine !FROMCLI>\nServerName nocli\n</IfDefine>\n", o);
  ASSERT_TRUE(ok.ok()) << dump(ok);
  EXPECT_EQ(ok.config->main_server.server_name, "cli");
}

TEST(IfDefine, FalseBlockIsNotReadSoItsDefinesAndVariablesDoNotApply) {
  LoadResult r = load("Listen 8080\n<IfDefine NOPE>\nDefine SET_INSIDE\nServerName ${UNDEFINED_INSIDE}\n"
                      "<Directory /x>\n</Directory>\n</IfDefine>\n<IfDefine SET_INSIDE>\nServerName wrong\n</IfDefine>\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->main_server.server_name, "");
  EXPECT_TRUE(r.config->main_server.directories.empty());
}

TEST(IfModule, AnswersFromTheModuleTable) {
  LoadResult r = load("Listen 8080\n<IfModule mod_mime.c>\nServerName mime\n</IfModule>\n"
                      "<IfModule !status_module>\nServerName wrong\n</IfModule>\n"
                      "<IfModule mod_include.c>\nSSIBogus on\n</IfModule>\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->main_server.server_name, "mime");
}

// mod_ssl is built in, but as in Apache its <IfModule> holds only after its
// LoadModule: Debian's ports.conf listens on 443 inside <IfModule ssl_module>
// and enables it with a2enmod ssl.
TEST(IfModule, SslOnlyAfterItsLoadModule) {
  LoadResult off = load("Listen 8080\nServerName plain\n<IfModule ssl_module>\nServerName tls\n</IfModule>\n");
  ASSERT_TRUE(off.ok()) << dump(off);
  EXPECT_EQ(off.config->main_server.server_name, "plain");
  LoadResult on = load("Listen 8080\nServerName plain\nLoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n"
                       "<IfModule mod_ssl.c>\nServerName tls\n</IfModule>\n");
  ASSERT_TRUE(on.ok()) << dump(on);
  EXPECT_EQ(on.config->main_server.server_name, "tls");
}

TEST(Modules, TableNamesEachModuleOnceAndSaysWhatIsMissing) {
  for (const auto& m : apache_modules()) {
    EXPECT_EQ(find_module(m.id), &m) << m.id;
    EXPECT_EQ(find_module(m.source), &m) << m.source;
    EXPECT_EQ(m.present, m.missing.empty()) << m.id;
  }
  EXPECT_TRUE(module_present("MIME_MODULE"));
  EXPECT_FALSE(module_present("include_module"));
  EXPECT_TRUE(module_present("brotli_module"));
  EXPECT_TRUE(module_present("deflate_module"));
  EXPECT_FALSE(module_present("no_such_module"));
}

TEST(SectionMerge, TwoLocationsWithTheSamePathMerge) {
  LoadResult r = load("Listen 8080\n<Location /server-status>\nSetHandler server-status\n</Location>\n"
                      "<Location /server-status>\nRequire local\n</Location>\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  const auto& locs = r.config->main_server.locations;
  ASSERT_EQ(locs.size(), 1u);
  EXPECT_EQ(locs[0].handler, HandlerKind::ServerStatus);
  EXPECT_FALSE(locs[0].access.empty());
}

TEST(SectionMerge, TwoDirectoriesWithTheSamePathMergeInFileOrder) {
  LoadResult r = load("Listen 8080\n<Directory /srv/www>\nOptions Indexes\nRequire all granted\n</Directory>\n"
                      "<Directory /srv/www/>\nOptions +FollowSymLinks\n</Directory>\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  const auto& dirs = r.config->main_server.directories;
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_FALSE(dirs[0].access.empty());
  EXPECT_EQ(dirs[0].options.apply(0), Options::Indexes | Options::FollowSymLinks);
}

}  // namespace

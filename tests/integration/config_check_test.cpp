// `pillar -t` (Syntax OK / FILE:LINE: message) and start-up behaviour.
#include <regex>

#include "test_common.h"

namespace itest {
namespace {

class ConfigCheck : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");

  // Runs -t on `config` and expects exit 1 with a FILE:LINE: message at `line`.
  void expect_error_at(const std::string& config, int line, const std::string& words = "") {
    std::string path;
    RunResult r = check_config(config, &path);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(r.out.find("Syntax OK"), std::string::npos) << r.out;
    std::string prefix = path + ":" + std::to_string(line) + ": ";
    EXPECT_NE(r.err.find(prefix), std::string::npos) << "expected '" << prefix << "' in:\n" << r.err;
    if (!words.empty()) {
      EXPECT_TRUE(icontains(r.err, words)) << r.err;
    }
  }
};

TEST_F(ConfigCheck, ValidConfigIsSyntaxOk) {
  std::string config = basic_config(docroot,
                                    "KeepAlive On\nKeepAliveTimeout 5\nMaxKeepAliveRequests 100\nTimeout 60\n"
                                    "LimitRequestBody 1048576\nLimitRequestLine 8190\nLimitRequestFieldSize 8190\n"
                                    "LimitRequestFields 100\nRequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500\n"
                                    "DirectoryIndex index.html index.htm\nAddType text/x-foo .foo\n"
                                    "ErrorDocument 404 /404.html\nErrorDocument 500 \"oops\"\n"
                                    "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b\" mine\n"
                                    "CustomLog \"" + tree.path("access.log") + "\" mine\n"
                                    "ErrorLog \"" + tree.path("error.log") + "\"\n"
                                    "<Directory \"" + docroot + "\">\n  Options Indexes FollowSymLinks\n"
                                    "  AllowOverride None\n  Require all granted\n</Directory>\n"
                                    "<Location /private>\n  Order Deny,Allow\n  Deny from all\n  Allow from 127.0.0.1\n</Location>\n"
                                    "<Files \".ht*\">\n  Require all denied\n</Files>\n"
                                    "<FilesMatch \"\\.(bak|old)$\">\n  Require ip 10.0.0.0/8 192.168.0.0/16\n</FilesMatch>\n"
                                    "<VirtualHost *>\n  ServerName a.example\n  ServerAlias *.a.example\n"
                                    "  DocumentRoot \"" + docroot + "\"\n</VirtualHost>\n");
  RunResult r = check_config(config);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Syntax OK"), std::string::npos) << "stdout: " << r.out << "\nstderr: " << r.err;
}

// What start would fail on, -t says with file:line.
TEST_F(ConfigCheck, LogInAMissingDirectoryAndUnknownUserOrGroup) {
  expect_error_at(basic_config(docroot, "ErrorLog \"" + tree.path("nodir/error.log") + "\"\n"), 4, "does not exist");
  expect_error_at(basic_config(docroot, "CustomLog \"" + tree.path("nodir/a.log") + "\" common\n"), 4, "does not exist");
  expect_error_at(basic_config(docroot, "User pillar-no-such-user\n"), 4, "User pillar-no-such-user does not exist");
  expect_error_at(basic_config(docroot, "Group pillar-no-such-group\n"), 4, "Group pillar-no-such-group does not exist");
  RunResult ok = check_config(basic_config(docroot, "ErrorLog \"" + tree.path("error.log") + "\"\nUser #0\n"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST_F(ConfigCheck, UnknownDirective) {
  expect_error_at("Listen 127.0.0.1:0\nServerName localhost\nFrobnicate on\n", 3, "Frobnicate");
}

TEST_F(ConfigCheck, MissingDocumentRoot) {
  expect_error_at("Listen 127.0.0.1:0\n\nDocumentRoot \"" + tree.path("nope") + "\"\n", 3, "DocumentRoot");
}

TEST_F(ConfigCheck, BadArgumentsAndContexts) {
  expect_error_at(basic_config(docroot, "KeepAlive Maybe\n"), 4);
  expect_error_at(basic_config(docroot, "Options +Indexes FollowSymLinks\n"), 4);
  expect_error_at(basic_config(docroot, "Require all granted\n"), 4);  // only in per-directory sections
  expect_error_at(basic_config(docroot, "ServerAlias www.example\n"), 4);  // only in <VirtualHost>
  expect_error_at(basic_config(docroot, "<Location />\n  AllowOverride All\n</Location>\n"), 5,
                  "AllowOverride is not allowed in <Location>");
  expect_error_at(basic_config(docroot, "<Location />\n  Require ip not-an-address\n</Location>\n"), 5);
  expect_error_at(basic_config(docroot, "LimitRequestBody lots\n"), 4);
  expect_error_at(basic_config(docroot, "ErrorDocument 200 \"fine\"\n"), 4);
  expect_error_at(basic_config(docroot, "CustomLog \"" + tree.path("x.log") + "\" nosuchnick\n"), 4);
}

TEST_F(ConfigCheck, BadListen) {
  expect_error_at("ServerName localhost\nListen 127.0.0.1:99999\n", 2);
  expect_error_at("Listen nonsense:port:x\n", 1);
}

TEST_F(ConfigCheck, UnclosedSection) {
  std::string path;
  RunResult r = check_config(basic_config(docroot, "<Directory \"" + docroot + "\">\n  Options None\n"), &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(std::regex_search(r.err, std::regex(std::regex_replace(path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                                                  ":[0-9]+: ")))
      << r.err;
}

TEST_F(ConfigCheck, MismatchedSectionEnd) {
  expect_error_at(basic_config(docroot, "<Directory \"" + docroot + "\">\n</Location>\n"), 5);
}

TEST_F(ConfigCheck, LineNumberCountsBlankLinesAndComments) {
  expect_error_at("# comment\n\n# another\nListen 127.0.0.1:0\n  \n\nBogusDirective x\n", 7, "BogusDirective");
}

TEST_F(ConfigCheck, ServerRefusesToStartOnBadConfig) {
  TempTree t;
  std::string conf = t.write("bad.conf", "Listen 127.0.0.1:0\nNoSuchThing 1\n");
  RunResult r = run_pillar({"-f", conf}, 5s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(conf + ":2: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening on"), std::string::npos);
}

TEST_F(ConfigCheck, MissingConfigFile) {
  RunResult r = run_pillar({"-t", "-f", tree.path("does-not-exist.conf")}, 5s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does-not-exist.conf"), std::string::npos) << r.err;
}

TEST_F(ConfigCheck, TestsNeverUseTheEmbeddedDefault) {
  // The harness always passes -f, so the embedded default (port 8080) is not in play.
  START_SERVER(srv, basic_config(docroot));
  EXPECT_NE(srv.port(), 8080);
  EXPECT_EQ(srv.stderr_text().find("embedded default"), std::string::npos) << srv.stderr_text();
  EXPECT_EQ(srv.stderr_text().find(":8080/"), std::string::npos) << srv.stderr_text();
}

TEST_F(ConfigCheck, VersionFlag) {
  RunResult r = run_pillar({"-V"}, 5s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Pillar/"), std::string::npos) << r.out;
}

TEST_F(ConfigCheck, UnexpectedArgument) {
  RunResult r = run_pillar({"-t", "stray"}, 5s);
  EXPECT_EQ(r.exit_code, 1);
}

}  // namespace
}  // namespace itest

// Debian's stock Apache tree (tests/fixtures/debian-apache2, copied into a
// temporary directory with its absolute paths rewritten and Listen on an
// ephemeral loopback port) passes `pillar -t` and serves its DocumentRoot
// with the Content-Type, charset and Content-Encoding Apache would send.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_common.h"

namespace itest {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

class ApacheConfig : public ::testing::Test {
 protected:
  TempTree tree;
  std::string etc = tree.path("etc/apache2");
  std::string html = tree.mkdir("var/www/html");

  void SetUp() override {
    tree.mkdir("etc");
    fs::copy(std::string(PILLAR_FIXTURES) + "/debian-apache2/apache2", etc, fs::copy_options::recursive);
    tree.mkdir("log");
    tree.mkdir("run");
    tree.mkdir("lock");
    tree.mkdir("usr/share");
    tree.write("mime.types", "text/html html htm\ntext/plain txt\napplication/gzip gz\n");
    for (const auto& e : fs::recursive_directory_iterator(etc)) {
      if (!e.is_regular_file()) continue;
      std::string text = slurp(e.path());
      replace_all(text, "/var/www", tree.path("var/www"));
      replace_all(text, "/usr/share", tree.path("usr/share"));
      replace_all(text, "/etc/mime.types", tree.path("mime.types"));
      replace_all(text, "Listen 80\n", "Listen 127.0.0.1:0\n");
      replace_all(text, "<VirtualHost *:80>", "<VirtualHost *>");
      std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << text;
    }
    // A second site, after Debian's default one, with the mod_mime lines a
    // precompressed site adds.
    tree.write("etc/apache2/sites-enabled/zz-encoded.conf",
               "<VirtualHost *>\n  ServerName enc.test\n  DocumentRoot " + html +
                   "\n  RemoveType .gz\n  AddEncoding x-gzip .gz\n  AddDefaultCharset UTF-8\n"
                   "  <Directory " + html + "/raw>\n    ForceType text/plain\n  </Directory>\n</VirtualHost>\n");
    tree.write("var/www/html/index.html", "<html><body>It works</body></html>\n");
    tree.write("var/www/html/page.html.utf8", "<p>caf\xc3\xa9</p>\n");
    tree.write("var/www/html/raw/page.html.utf8", "<p>shown as text</p>\n");
    tree.write("var/www/html/page.html.gz", std::string("\x1f\x8b\x08\x00", 4));
    std::string article;
    for (int i = 0; i < 200; ++i) article += "<p>paragraph " + std::to_string(i) + " of the article</p>\n";
    tree.write("var/www/html/article.html", article);
  }

  // Debian's envvars, as Define lines before apache2.conf (Define wins over
  // the environment, so the test does not depend on the caller's).
  std::string top_config() const {
    passwd* pw = getpwuid(getuid());
    group* gr = getgrgid(getgid());
    return "ServerRoot " + etc + "\nDefine APACHE_RUN_USER " + pw->pw_name + "\nDefine APACHE_RUN_GROUP " + gr->gr_name +
           "\nDefine APACHE_PID_FILE " + tree.path("run/apache2.pid") + "\nDefine APACHE_RUN_DIR " + tree.path("run") +
           "\nDefine APACHE_LOCK_DIR " + tree.path("lock") + "\nDefine APACHE_LOG_DIR " + tree.path("log") +
           "\nInclude " + etc + "/apache2.conf\n";
  }
};

TEST_F(ApacheConfig, DebianStockTreeIsSyntaxOk) {
  std::string top = tree.write("top.conf", top_config());
  RunResult r = run_pillar({"-t", "-f", top});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Syntax OK"), std::string::npos) << r.out << r.err;
  // Debian enables deflate (and filter): Pillar has them, so no notice.
  EXPECT_EQ(r.err.find("LoadModule deflate_module"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("LoadModule filter_module"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("LoadModule mime_module"), std::string::npos) << r.err;
}

TEST_F(ApacheConfig, WithoutEnvvarsTheFirstVariableIsAnErrorWithFileAndLine) {
  std::string top = tree.write("top.conf", "ServerRoot " + etc + "\nInclude " + etc + "/apache2.conf\n");
  RunResult r = run_pillar({"-t", "-f", top}, 10s);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find(etc + "/apache2.conf:80: variable ${APACHE_RUN_DIR} is not defined"), std::string::npos) << r.err;
}

TEST_F(ApacheConfig, DebianStockTreeServesTheDocumentRootAsApache) {
  ServerProcess server(top_config());
  ASSERT_TRUE(server.ok()) << server.error();
  CurlResult index = curl_get(server.base_url() + "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.header("Content-Type"), "text/html");  // charset.conf leaves AddDefaultCharset off
  EXPECT_EQ(index.body, "<html><body>It works</body></html>\n");
  EXPECT_EQ(curl_get(server.base_url() + "/missing.html").status, 404);
  // mime.conf's AddCharset UTF-8 .utf8, every extension counting as mod_mime.
  EXPECT_EQ(curl_get(server.base_url() + "/page.html.utf8").header("Content-Type"), "text/html; charset=UTF-8");
  // mime.conf's AddType application/x-gzip .gz, no encoding: what Apache sends.
  CurlResult gz = curl_get(server.base_url() + "/page.html.gz");
  EXPECT_EQ(gz.header("Content-Type"), "application/x-gzip");
  EXPECT_FALSE(gz.has("Content-Encoding"));
  // The site with RemoveType/AddEncoding/AddDefaultCharset.
  CurlResult enc = curl_get(server.base_url() + "/page.html.gz", {"Host: enc.test", "Accept-Encoding: gzip"});
  EXPECT_EQ(enc.status, 200);
  EXPECT_EQ(enc.header("Content-Type"), "text/html; charset=UTF-8");
  EXPECT_EQ(enc.header("Content-Encoding"), "x-gzip");
  // ForceType in a <Directory> beats the extensions (and AddCharset); AddDefaultCharset still applies.
  EXPECT_EQ(curl_get(server.base_url() + "/raw/page.html.utf8", {"Host: enc.test"}).header("Content-Type"),
            "text/plain; charset=UTF-8");
  EXPECT_EQ(curl_get(server.base_url() + "/raw/page.html.utf8").header("Content-Type"), "text/html; charset=UTF-8");
  // deflate.conf's AddOutputFilterByType (inside <IfModule mod_filter.c>):
  // text/html is gzipped for a client that asks, and varies on it; index.html
  // is too small to gain from it; the precompressed .gz above was not
  // compressed again (its x-gzip coding).
  CurlResult article = curl_get(server.base_url() + "/article.html", {"Accept-Encoding: gzip"});
  EXPECT_EQ(article.header("Content-Encoding"), "gzip");
  EXPECT_EQ(article.header("Vary"), "Accept-Encoding");
  EXPECT_EQ(article.body.substr(0, 2), "\x1f\x8b");
  EXPECT_FALSE(curl_get(server.base_url() + "/", {"Accept-Encoding: gzip"}).has("Content-Encoding"));
  EXPECT_EQ(curl_get(server.base_url() + "/article.html").header("Vary"), "Accept-Encoding");
  // status.conf's <Location /server-status> is served from localhost.
  EXPECT_EQ(curl_get(server.base_url() + "/server-status?auto").status, 200);
}

// apachectl's -M and -D on pillar's command line.
TEST(PillarCommandLine, ModulesListedAsApachectlAndDefineFromDashD) {
  RunResult m = run_pillar({"-M"});
  EXPECT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(m.out.rfind("Loaded Modules:\n", 0), 0u) << m.out;
  EXPECT_NE(m.out.find("\n mime_module (static)\n"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("\n deflate_module (static)\n"), std::string::npos) << m.out;
  EXPECT_EQ(m.out.find("include_module"), std::string::npos) << m.out;  // Pillar lacks it
  EXPECT_NE(m.out.find("\n brotli_module (static)\n"), std::string::npos) << m.out;
  TempTree t;
  std::string conf = t.write("d.conf", "Listen 127.0.0.1:0\n<IfDefine !FROMCLI>\nFrobnicate on\n</IfDefine>\n");
  EXPECT_EQ(run_pillar({"-t", "-D", "FROMCLI", "-f", conf}).exit_code, 0);
  RunResult without = run_pillar({"-t", "-f", conf});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.err.find(conf + ":3: unknown directive 'Frobnicate'"), std::string::npos) << without.err;
}

}  // namespace
}  // namespace itest

// Unit tests for route_fastcgi (src/server/fastcgi_route.cpp): which
// requests FastCGI runs, with which script, PATH_INFO and options, and
// which scripts are refused (ScriptSourceGuard), over a real temporary
// document root and configurations loaded from text.
#include "server/fastcgi_route.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "server/site.h"

namespace fs = std::filesystem;
using namespace pillar;
using Kind = server::FastcgiRoute::Kind;

namespace {

class FastcgiRoute : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pillar-fcgi-route-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    root_ = tmpl;
    for (const char* f : {"www/index.php", "www/blog/post.php", "www/static.txt", "www/tpl/page.phtml",
                          "www/priv/x.php", "www/raw/y.php", "www/dir/index.php", "www/a.php/b.html"}) {
      fs::create_directories((fs::path(root_) / f).parent_path());
      std::ofstream(fs::path(root_) / f) << "x";
    }
    client_.ss_family = AF_INET;
  }
  void TearDown() override { fs::remove_all(root_); }

  // Loads `body` under a main server rooted at www/; builds its Site.
  void load(const std::string& body) {
    config::LoadOptions o;
    o.server_root = root_;
    result_ = config::load_config_text("Listen 127.0.0.1:0\nDocumentRoot " + root_ + "/www\n" + body, "t.conf", o);
    ASSERT_TRUE(result_.ok()) << (result_.errors.empty() ? "" : result_.errors[0].to_string());
    site_ = server::Site();
    site_.cfg = &result_.config->main_server;
    for (const auto& l : site_.cfg->locations) site_.locations.push_back({&l, nullptr});
  }
  server::FastcgiRoute route(const std::string& path) {
    return server::route_fastcgi(site_, site_.match(path), path, client_);
  }
  std::string www(const std::string& rel) { return root_ + "/www" + rel; }

  std::string root_;
  config::LoadResult result_;
  server::Site site_;
  sockaddr_storage client_{};
};

const char* kPhp = "<FilesMatch \\.php$>\n SetHandler \"proxy:unix:/run/php.sock|fcgi://localhost\"\n</FilesMatch>\n";

TEST_F(FastcgiRoute, FilesMatchRunsTheScriptWithPathInfo) {
  load(kPhp);
  auto r = route("/blog/post.php/2024/hello");
  ASSERT_EQ(r.kind, Kind::Run);
  EXPECT_EQ(r.script_filename, www("/blog/post.php"));
  EXPECT_EQ(r.script_name, "/blog/post.php");
  EXPECT_EQ(r.path_info, "/2024/hello");
  EXPECT_EQ(r.fcgi_prefix, "proxy:fcgi://localhost");
  EXPECT_EQ(r.backend_type, config::FcgiBackendType::Fpm);
  EXPECT_EQ(route("/static.txt").kind, Kind::None);
  EXPECT_EQ(route("/missing.php").kind, Kind::None) << "no file: the static handler answers 404";
  auto d = route("/a.php/b.html");
  EXPECT_EQ(d.kind, Kind::None) << "a directory named a.php is not a script";
}

TEST_F(FastcgiRoute, DirectoryIndex) {
  load(std::string(kPhp) + "DirectoryIndex index.php index.html\n");
  auto r = route("/dir/");
  ASSERT_EQ(r.kind, Kind::Run);
  EXPECT_EQ(r.script_name, "/dir/index.php");
  EXPECT_EQ(route("/").script_filename, www("/index.php"));
}

TEST_F(FastcgiRoute, GuardRefusesUnclaimedScripts) {
  load(kPhp);
  EXPECT_EQ(route("/tpl/page.phtml").kind, Kind::Refuse);
  load("");
  EXPECT_EQ(route("/index.php").kind, Kind::Refuse);
  EXPECT_EQ(route("/blog/post.php/x").kind, Kind::Refuse);
  load("<Location /raw>\n ScriptSourceGuard Off\n</Location>\n");
  EXPECT_EQ(route("/raw/y.php").kind, Kind::None);
  EXPECT_EQ(route("/index.php").kind, Kind::Refuse);
  load("ScriptSourceGuard Off\n");
  EXPECT_EQ(route("/index.php").kind, Kind::None);
  load("ScriptSourceGuard On .inc\n");
  EXPECT_EQ(route("/index.php").kind, Kind::None) << "the list was replaced";
}

TEST_F(FastcgiRoute, SetHandlerNoneTakesItBackAndLocationWins) {
  load(std::string(kPhp) + "<Directory " + www("/priv") + ">\n <Files x.php>\n  SetHandler None\n </Files>\n</Directory>\n");
  EXPECT_EQ(route("/priv/x.php").kind, Kind::Refuse);
  EXPECT_EQ(route("/index.php").kind, Kind::Run);
  load(std::string(kPhp) + "<Location /blog>\n SetHandler \"proxy:fcgi://127.0.0.1:9001\"\n ProxyFCGIBackendType GENERIC\n</Location>\n");
  auto r = route("/blog/post.php");
  ASSERT_EQ(r.kind, Kind::Run);
  EXPECT_EQ(r.fcgi_prefix, "proxy:fcgi://127.0.0.1:9001") << "<Location> is merged after <FilesMatch>";
  EXPECT_EQ(r.backend_type, config::FcgiBackendType::Generic);
}

TEST_F(FastcgiRoute, DirectoryRequireForbids) {
  load(std::string(kPhp) + "<Directory " + www("/priv") + ">\n Require all denied\n</Directory>\n");
  EXPECT_EQ(route("/priv/x.php").kind, Kind::Forbidden);
  EXPECT_EQ(route("/index.php").kind, Kind::Run);
}

TEST_F(FastcgiRoute, ProxyPassMatchTemplate) {
  load("ProxyPassMatch ^/(.*\\.php(/.*)?)$ fcgi://127.0.0.1:9000/var/www/$1\nProxyFCGISetEnvIf true X_A 1\n");
  auto r = route("/app/x.php/tail");
  ASSERT_EQ(r.kind, Kind::Run);
  EXPECT_EQ(r.script_filename, "/var/www/app/x.php/tail");
  EXPECT_EQ(r.script_name, "/app/x.php/tail");
  EXPECT_TRUE(r.path_info.empty());
  ASSERT_EQ(r.set_env.size(), 1u);
  EXPECT_EQ(r.set_env[0].name, "X_A");
}

TEST_F(FastcgiRoute, ProxyPassPrefixTemplate) {
  load("ProxyPass /app/ fcgi://127.0.0.1:9000/srv/app/\n");
  auto r = route("/app/sub/x.php");
  ASSERT_EQ(r.kind, Kind::Run);
  EXPECT_EQ(r.script_filename, "/srv/app/sub/x.php");
  EXPECT_EQ(r.fcgi_prefix, "proxy:fcgi://127.0.0.1:9000");
  EXPECT_EQ(route("/index.php").kind, Kind::Refuse) << "outside the prefix: a file nobody runs";
}

TEST(ScriptExtension, CaseInsensitiveSuffix) {
  std::vector<std::string> exts{".php", ".pl"};
  EXPECT_TRUE(server::has_script_extension("a.PHP", exts));
  EXPECT_TRUE(server::has_script_extension("x.pl", exts));
  EXPECT_FALSE(server::has_script_extension(".php", exts)) << "a name that is only the extension";
  EXPECT_FALSE(server::has_script_extension("a.php.txt", exts));
}

}  // namespace

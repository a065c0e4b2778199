// Unit tests for directives/fastcgi.cpp and the FastCGI forms of SetHandler,
// ProxyPass and ProxyPassMatch: mod_proxy_fcgi's syntax into the model, and
// errors that name the line and what is supported.
#include <gtest/gtest.h>
#include <sys/un.h>

#include <string>

#include "config/loader.h"
#include "config_text.h"

using namespace pillar::config;

namespace {

using config_text::errors;
using config_text::load;

TEST(FastcgiDirectives, FilesMatchUnixSocket) {
  auto r = load("<FilesMatch \\.php$>\n  SetHandler \"proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost\"\n</FilesMatch>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& f = r.config->main_server.files.at(0);
  ASSERT_TRUE(f.fcgi);
  EXPECT_TRUE(f.fcgi->unix_socket);
  EXPECT_EQ(f.fcgi->socket_path, "/run/php/php8.2-fpm.sock");
  EXPECT_EQ(f.fcgi->authority, "localhost");
  EXPECT_EQ(reinterpret_cast<const sockaddr_un&>(f.fcgi->addr).sun_family, AF_UNIX);
  ASSERT_TRUE(f.fast);
  EXPECT_EQ(f.fast->match("index.php"), pillar::core::Regex::Result::Match);
  EXPECT_EQ(f.fast->match("index.phps"), pillar::core::Regex::Result::NoMatch);
}

TEST(FastcgiDirectives, FilesTcpAndLocation) {
  auto r = load("<Files \"*.php\">\n SetHandler proxy:fcgi://127.0.0.1:9000\n ProxyFCGIBackendType GENERIC\n</Files>\n"
                "<Location /app>\n SetHandler \"proxy:fcgi://127.0.0.1:9001/\"\n ScriptSourceGuard Off\n</Location>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& f = r.config->main_server.files.at(0);
  ASSERT_TRUE(f.fcgi);
  EXPECT_FALSE(f.fcgi->unix_socket);
  EXPECT_EQ(f.fcgi->authority, "127.0.0.1:9000");
  EXPECT_EQ(f.fcgi_opts.backend, FcgiBackendType::Generic);
  const auto& l = r.config->main_server.locations.at(0);
  EXPECT_EQ(l.handler, HandlerKind::FastCgi);
  ASSERT_TRUE(l.fcgi);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in&>(l.fcgi->addr).sin_port, htons(9001));
  EXPECT_EQ(l.source_guard, false);
}

TEST(FastcgiDirectives, DebiansPhpFpmConf) {
  // /etc/apache2/conf-available/php8.2-fpm.conf, as Debian ships it (abridged).
  auto r = load("<IfModule !mod_php8.c>\n<IfModule proxy_fcgi_module>\n"
                "    <IfModule setenvif_module>\n    SetEnvIfNoCase ^Authorization$ \"(.+)\" HTTP_AUTHORIZATION=$1\n"
                "    </IfModule>\n"
                "    <FilesMatch \".+\\.ph(?:ar|p|tml)$\">\n"
                "        SetHandler \"proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost\"\n    </FilesMatch>\n"
                "    <FilesMatch \".+\\.phps$\">\n        Require all denied\n    </FilesMatch>\n"
                "    <FilesMatch \"^\\.ph(?:ar|p|ps|tml)$\">\n        Require all denied\n    </FilesMatch>\n"
                "</IfModule>\n</IfModule>\nCGIPassAuth On\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& files = r.config->main_server.files;
  ASSERT_EQ(files.size(), 3u) << "<IfModule proxy_fcgi_module> holds: FastCGI is built in";
  ASSERT_TRUE(files[0].fcgi);
  EXPECT_TRUE(files[0].matches("index.phtml"));
  EXPECT_TRUE(files[0].matches("x.phar"));
  EXPECT_FALSE(files[0].matches(".php"));
  EXPECT_TRUE(files[2].matches(".php"));
  EXPECT_EQ(r.config->main_server.fcgi_opts.pass_auth, true);
}

TEST(FastcgiDirectives, ProxyWorkerSectionForFcgiIsANotice) {
  auto r = load("<FilesMatch \\.php$>\n SetHandler \"proxy:unix:/run/php.sock|fcgi://localhost/\"\n</FilesMatch>\n"
                "<Proxy \"fcgi://localhost/\" enablereuse=on max=10>\n</Proxy>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  bool noticed = false;
  for (const auto& n : r.config->notices) noticed = noticed || n.find("reuses FastCGI connections itself") != std::string::npos;
  EXPECT_TRUE(noticed);
}

TEST(FastcgiDirectives, ProxyPassMatch) {
  auto r = load("ProxyPassMatch ^/(.*\\.php(/.*)?)$ fcgi://127.0.0.1:9000/var/www/$1\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& l = r.config->main_server.locations.at(0);
  EXPECT_EQ(l.handler, HandlerKind::FastCgi);
  ASSERT_TRUE(l.match);
  EXPECT_TRUE(l.matches("/a/b.php/x"));
  EXPECT_FALSE(l.matches("/a/b.html"));
  EXPECT_EQ(l.fcgi->path, "/var/www/$1");
}

TEST(FastcgiDirectives, SetEnvIfAndGuardExtensions) {
  auto r = load("ProxyFCGISetEnvIf true PATH_INFO \"%{reqenv:SCRIPT_NAME}\"\nProxyFCGISetEnvIf \"true\" !PATH_TRANSLATED\n"
                "ScriptSourceGuard On .php .inc\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& vh = r.config->main_server;
  ASSERT_EQ(vh.fcgi_opts.set_env.size(), 2u);
  EXPECT_EQ(vh.fcgi_opts.set_env[0].value, "%{reqenv:SCRIPT_NAME}");
  EXPECT_TRUE(vh.fcgi_opts.set_env[1].unset);
  EXPECT_EQ(vh.script_extensions, (std::vector<std::string>{".php", ".inc"}));
}

void expect_error(const std::string& body, int line, const std::string& needle) {
  auto r = load(body);
  ASSERT_FALSE(r.ok()) << body;
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].line, line) << errors(r);
  EXPECT_NE(r.errors[0].to_string().find(needle), std::string::npos) << errors(r);
}

TEST(FastcgiDirectives, Errors) {
  expect_error("<FilesMatch \\.php$>\nSetHandler application/x-httpd-php\n</FilesMatch>\n", 3, "proxy:unix:");
  expect_error("<Location /x>\nSetHandler php-script\n</Location>\n", 3, "proxy:fcgi://HOST:PORT");
  expect_error("<FilesMatch \\.php$>\nSetHandler \"proxy:unix:/run/php.sock\"\n</FilesMatch>\n", 3, "unix:/PATH|fcgi://NAME");
  expect_error("<FilesMatch \\.php$>\nSetHandler \"proxy:balancer://php/\"\n</FilesMatch>\n", 3, "no <Proxy balancer://php> defines it");
  expect_error("<FilesMatch \\.php$>\nSetHandler \"proxy:http://x/\"\n</FilesMatch>\n", 3, "not a FastCGI address");
  expect_error("ProxyFCGIBackendType PHP\n", 2, "FPM");
  expect_error("ProxyFCGISetEnvIf \"reqenv('X') =~ /y/\" A b\n", 2, "\"true\" or \"false\"");
  expect_error("ScriptSourceGuard Maybe\n", 2, "On [.EXT...] or Off");
}

}  // namespace

// Unit tests for the CGI/1.1 environment (src/fastcgi/cgi_env.cpp) and the
// CGI response head (src/fastcgi/cgi_response.cpp).
#include <gtest/gtest.h>

#include "fastcgi/cgi_env.h"
#include "fastcgi/cgi_response.h"

using namespace pillar;
using namespace pillar::fastcgi;

namespace {

std::string get(const CgiEnv& env, std::string_view n) {
  const std::string* v = env_find(env, n);
  return v ? *v : std::string("<unset>");
}

CgiRequest sample(std::vector<http::HeaderField>& fields) {
  fields = {{"Host", "example.test:8080"}, {"User-Agent", "t/1"}, {"X-Multi", "a"}, {"x-multi", "b"},
            {"Proxy", "http://evil/"},     {"X_Under", "sneaky"}, {"Authorization", "Basic eA=="},
            {"Content-Type", "application/x-www-form-urlencoded"}, {"Content-Length", "5"}};
  CgiRequest r;
  r.method = "POST";
  r.request_uri = "/blog/index.php/2024/a%20b?x=1&y=2";
  r.query = "x=1&y=2";
  r.script_name = "/blog/index.php";
  r.path_info = "/2024/a b";
  r.script_filename = "/srv/www/blog/index.php";
  r.document_root = "/srv/www";
  r.fcgi_prefix = "proxy:fcgi://localhost";
  r.server_name = "example.test";
  r.server_addr = "127.0.0.1";
  r.server_port = 8080;
  r.remote_addr = "192.0.2.7";
  r.remote_port = 40000;
  r.fields = fields;
  r.has_content_length = true;
  r.content_length = 5;
  return r;
}

TEST(CgiEnv, ApacheVariables) {
  std::vector<http::HeaderField> fields;
  CgiRequest r = sample(fields);
  CgiEnv env;
  build_cgi_env(r, env);
  EXPECT_EQ(get(env, "SCRIPT_NAME"), "/blog/index.php");
  EXPECT_EQ(get(env, "PATH_INFO"), "/2024/a b");
  EXPECT_EQ(get(env, "PATH_TRANSLATED"), "/srv/www/2024/a b");
  EXPECT_EQ(get(env, "SCRIPT_FILENAME"), "proxy:fcgi://localhost/srv/www/blog/index.php");
  EXPECT_EQ(get(env, "REQUEST_URI"), "/blog/index.php/2024/a%20b?x=1&y=2");
  EXPECT_EQ(get(env, "QUERY_STRING"), "x=1&y=2");
  EXPECT_EQ(get(env, "REQUEST_METHOD"), "POST");
  EXPECT_EQ(get(env, "REMOTE_ADDR"), "192.0.2.7");
  EXPECT_EQ(get(env, "REMOTE_PORT"), "40000");
  EXPECT_EQ(get(env, "SERVER_PORT"), "8080");
  EXPECT_EQ(get(env, "SERVER_NAME"), "example.test");
  EXPECT_EQ(get(env, "SERVER_PROTOCOL"), "HTTP/1.1");
  EXPECT_EQ(get(env, "GATEWAY_INTERFACE"), "CGI/1.1");
  EXPECT_EQ(get(env, "DOCUMENT_ROOT"), "/srv/www");
  EXPECT_EQ(get(env, "CONTENT_TYPE"), "application/x-www-form-urlencoded");
  EXPECT_EQ(get(env, "CONTENT_LENGTH"), "5");
  EXPECT_EQ(get(env, "HTTP_HOST"), "example.test:8080");
  EXPECT_EQ(get(env, "HTTP_USER_AGENT"), "t/1");
  EXPECT_EQ(get(env, "HTTP_X_MULTI"), "a, b");
  EXPECT_EQ(get(env, "HTTPS"), "<unset>");
  EXPECT_EQ(get(env, "HTTP_PROXY"), "<unset>") << "httpoxy";
  EXPECT_EQ(get(env, "HTTP_X_UNDER"), "<unset>") << "a field with '_' is dropped";
  EXPECT_EQ(get(env, "HTTP_AUTHORIZATION"), "<unset>");
  EXPECT_EQ(get(env, "HTTP_CONTENT_TYPE"), "<unset>");
}

TEST(CgiEnv, GenericBackendHttpsAndNoPathInfo) {
  std::vector<http::HeaderField> fields;
  CgiRequest r = sample(fields);
  r.backend = config::FcgiBackendType::Generic;
  r.https = true;
  r.path_info = {};
  r.has_content_length = false;
  CgiEnv env;
  build_cgi_env(r, env);
  EXPECT_EQ(get(env, "SCRIPT_FILENAME"), "/srv/www/blog/index.php");
  EXPECT_EQ(get(env, "HTTPS"), "on");
  EXPECT_EQ(get(env, "REQUEST_SCHEME"), "https");
  EXPECT_EQ(get(env, "PATH_INFO"), "<unset>");
  EXPECT_EQ(get(env, "PATH_TRANSLATED"), "<unset>");
  EXPECT_EQ(get(env, "CONTENT_LENGTH"), "<unset>");
}

TEST(CgiEnv, PassAuth) {
  std::vector<http::HeaderField> fields;
  CgiRequest r = sample(fields);
  r.pass_auth = true;
  CgiEnv env;
  build_cgi_env(r, env);
  EXPECT_EQ(get(env, "HTTP_AUTHORIZATION"), "Basic eA==");
}

TEST(CgiEnv, RemoteUserAfterBasicAuthentication) {
  std::vector<http::HeaderField> fields;
  CgiRequest r = sample(fields);
  CgiEnv env;
  build_cgi_env(r, env);
  EXPECT_EQ(env_find(env, "REMOTE_USER"), nullptr);  // nobody authenticated
  EXPECT_EQ(env_find(env, "AUTH_TYPE"), nullptr);
  r.remote_user = "alice";
  build_cgi_env(r, env);
  EXPECT_EQ(get(env, "REMOTE_USER"), "alice");
  EXPECT_EQ(get(env, "AUTH_TYPE"), "Basic");
  EXPECT_EQ(env_find(env, "HTTP_AUTHORIZATION"), nullptr);  // the credentials stay out without CGIPassAuth
}

TEST(CgiEnv, SetEnvIf) {
  std::vector<http::HeaderField> fields;
  CgiRequest r = sample(fields);
  std::vector<config::FcgiSetEnv> rules = {
      {true, false, "PATH_INFO", "/example"},
      {true, false, "X_COPY", "[%{reqenv:SCRIPT_NAME}]"},
      {false, false, "NEVER", "x"},
      {true, true, "PATH_TRANSLATED", ""},
  };
  r.set_env = rules;
  CgiEnv env;
  build_cgi_env(r, env);
  EXPECT_EQ(get(env, "PATH_INFO"), "/example");
  EXPECT_EQ(get(env, "X_COPY"), "[/blog/index.php]");
  EXPECT_EQ(get(env, "NEVER"), "<unset>");
  EXPECT_EQ(get(env, "PATH_TRANSLATED"), "<unset>");
}

// The request's environment (SetEnv, SetEnvIf, E=, BALANCER_*) reaches the
// application, but never in place of a CGI variable; ProxyFCGISetEnvIf
// sees it; SERVER_SIGNATURE is the ServerSignature line.
TEST(CgiEnv, RequestEnvironmentAndSignature) {
  std::vector<http::HeaderField> fields;
  CgiRequest r = sample(fields);
  std::vector<std::pair<std::string, std::string>> vars = {
      {"HTTP_AUTHORIZATION", "Basic eA=="}, {"APP_ENV", "prod"}, {"SCRIPT_NAME", "/forged"}};
  r.request_env = vars;
  std::vector<config::FcgiSetEnv> rules = {{true, false, "X_COPY", "%{reqenv:APP_ENV}"}};
  r.set_env = rules;
  r.server_signature = "<address>Pillar Server at example.test Port 8080</address>\n";
  CgiEnv env;
  build_cgi_env(r, env);
  EXPECT_EQ(get(env, "HTTP_AUTHORIZATION"), "Basic eA==");  // Debian's php-fpm.conf SetEnvIfNoCase line
  EXPECT_EQ(get(env, "APP_ENV"), "prod");
  EXPECT_EQ(get(env, "SCRIPT_NAME"), "/blog/index.php");
  EXPECT_EQ(get(env, "X_COPY"), "prod");
  EXPECT_EQ(get(env, "SERVER_SIGNATURE"), "<address>Pillar Server at example.test Port 8080</address>\n");
  size_t names = 0;
  for (const auto& [n, v] : env) names += n == "SCRIPT_NAME";
  EXPECT_EQ(names, 1u);
}

// mod_rewrite's E= variables reach the application (Laravel's, WordPress's and
// Drupal's [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]), empty ones too; the
// variables built from the request win over one of the same name, and
// PHP_VALUE/PHP_ADMIN_VALUE are not taken from them; ProxyFCGISetEnvIf still has the last word.
TEST(CgiEnv, RequestVariablesFromRewrite) {
  std::vector<http::HeaderField> fields;
  CgiRequest r = sample(fields);
  std::vector<std::pair<std::string, std::string>> vars = {
      {"HTTP_AUTHORIZATION", "Basic eA=="}, {"protossl", ""},          {"SCRIPT_NAME", "/other.php"},
      {"PHP_ADMIN_VALUE", "open_basedir=/"}, {"PHP_VALUE", "x=1"},     {"X_LATER", "from E="}};
  r.request_env = vars;
  std::vector<config::FcgiSetEnv> rules = {{true, false, "X_LATER", "from ProxyFCGISetEnvIf"}};
  r.set_env = rules;
  CgiEnv env;
  build_cgi_env(r, env);
  EXPECT_EQ(get(env, "HTTP_AUTHORIZATION"), "Basic eA==");
  EXPECT_EQ(get(env, "protossl"), "");
  EXPECT_EQ(get(env, "SCRIPT_NAME"), "/blog/index.php");
  EXPECT_EQ(get(env, "PHP_ADMIN_VALUE"), "<unset>");
  EXPECT_EQ(get(env, "PHP_VALUE"), "<unset>");
  EXPECT_EQ(get(env, "X_LATER"), "from ProxyFCGISetEnvIf");
  // Without E= variables nothing is added: the credentials stay out without CGIPassAuth.
  r.request_env = {};
  build_cgi_env(r, env);
  EXPECT_EQ(get(env, "HTTP_AUTHORIZATION"), "<unset>");
  EXPECT_EQ(get(env, "protossl"), "<unset>");
}

CgiParse parse(std::string_view in, CgiHead& h, size_t& consumed) {
  const char* why = nullptr;
  CgiParse p = parse_cgi_head(in, 1024, h, consumed, why);
  if (p == CgiParse::Error) {
    EXPECT_NE(why, nullptr);
  }
  return p;
}

TEST(CgiHead, StatusFieldsAndBody) {
  CgiHead h;
  size_t consumed = 0;
  std::string in = "Status: 404 Not Found\r\nContent-Type: text/html\r\nX-A: 1\r\nConnection: close\r\n\r\nbody";
  ASSERT_EQ(parse(in, h, consumed), CgiParse::Complete);
  EXPECT_EQ(h.status, 404);
  EXPECT_EQ(h.reason, "Not Found");
  ASSERT_EQ(h.fields.size(), 2u) << "Status and Connection are not passed on";
  EXPECT_EQ(h.fields[0].first, "Content-Type");
  EXPECT_EQ(in.substr(consumed), "body");
}

TEST(CgiHead, LfOnlyAndIncomplete) {
  CgiHead h;
  size_t consumed = 0;
  EXPECT_EQ(parse("Content-Type: text/plain\n", h, consumed), CgiParse::Incomplete);
  ASSERT_EQ(parse("Content-Type: text/plain\n\nx", h, consumed), CgiParse::Complete);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(consumed, 26u);
}

TEST(CgiHead, Location) {
  CgiHead h;
  size_t consumed = 0;
  ASSERT_EQ(parse("Location: /other.php?x=1\r\n\r\n", h, consumed), CgiParse::Complete);
  EXPECT_EQ(h.status, 302);
  EXPECT_TRUE(h.local_redirect);
  ASSERT_EQ(parse("Location: http://example.test/\r\n\r\n", h, consumed), CgiParse::Complete);
  EXPECT_EQ(h.status, 302);
  EXPECT_FALSE(h.local_redirect);
  ASSERT_EQ(parse("Status: 301 Moved\r\nLocation: /new\r\n\r\n", h, consumed), CgiParse::Complete);
  EXPECT_EQ(h.status, 301);
  EXPECT_FALSE(h.local_redirect) << "with a Status: it is the script's redirect";
}

TEST(CgiHead, Errors) {
  CgiHead h;
  size_t consumed = 0;
  EXPECT_EQ(parse("no colon here\r\n\r\n", h, consumed), CgiParse::Error);
  EXPECT_EQ(parse("Status: abc\r\n\r\n", h, consumed), CgiParse::Error);
  EXPECT_EQ(parse("Status: 100 Continue\r\n\r\n", h, consumed), CgiParse::Error);
  EXPECT_EQ(parse("X-A: 1\r\n folded\r\n\r\n", h, consumed), CgiParse::Error);
  EXPECT_EQ(parse("Bad Name: 1\r\n\r\n", h, consumed), CgiParse::Error);
  EXPECT_EQ(parse("Content-Length: 12x\r\n\r\n", h, consumed), CgiParse::Error);
  EXPECT_EQ(parse("X: " + std::string(2000, 'a'), h, consumed), CgiParse::Error) << "head over the limit";
  EXPECT_EQ(parse("X: " + std::string(2000, 'a') + "\r\n\r\n", h, consumed), CgiParse::Error);
}

TEST(CgiHead, ContentLengthKept) {
  CgiHead h;
  size_t consumed = 0;
  ASSERT_EQ(parse("Content-Length: 12\r\n\r\n", h, consumed), CgiParse::Complete);
  EXPECT_TRUE(h.has_content_length);
  EXPECT_EQ(h.content_length, 12u);
}

}  // namespace

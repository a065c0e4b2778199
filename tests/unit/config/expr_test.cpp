// The ap_expr subset (config/expr.h): each operator, variable and function
// against a request, and the malformed expressions the loader must refuse
// with a message.
#include "config/expr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "http/request.h"
#include "http/request_env.h"

namespace pillar::config {
namespace {

struct Fixture {
  http::RequestHead head;
  http::RequestEnv env;
  sockaddr_storage client{};
  ExprInput in;
  Fixture() {
    head.method_name = "GET";
    head.target = "/admin/x?a=1";
    head.path = "/admin/x";
    head.query = "a=1";
    head.authority = "www.example.com";
    head.headers = {{"Host", "www.example.com"}, {"X-Debug", "1"}, {"User-Agent", "curl/8"},
                    {"Accept", "text/html"}, {"Accept", "*/*"}};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&client);
    v4->sin_family = AF_INET;
    inet_pton(AF_INET, "10.1.2.3", &v4->sin_addr);
    env.set("HAS_COOKIE", "yes");
    in.head = &head;
    in.uri = "/admin/x";
    in.query = "a=1";
    in.remote_addr = "10.1.2.3";
    in.client = &client;
    in.https = false;
    in.server_name = "www.example.com";
    in.server_port = 8080;
    in.env = &env;
  }
};

bool eval(const std::string& text, const ExprInput& in) {
  std::string why;
  auto e = Expr::compile(text, why);
  EXPECT_NE(e, nullptr) << text << ": " << why;
  return e && e->evaluate(in);
}

std::string refusal(const std::string& text) {
  std::string why;
  auto e = Expr::compile(text, why);
  EXPECT_EQ(e, nullptr) << text << " compiled";
  return why;
}

TEST(Expr, ComparesStringsAndVariables) {
  Fixture f;
  EXPECT_TRUE(eval("%{HTTP_HOST} == 'www.example.com'", f.in));
  EXPECT_FALSE(eval("%{HTTP_HOST} != 'www.example.com'", f.in));
  EXPECT_TRUE(eval("%{HTTPS} != 'on'", f.in));
  f.in.https = true;
  EXPECT_TRUE(eval("%{HTTPS} == 'on' && %{REQUEST_SCHEME} == 'https'", f.in));
  EXPECT_TRUE(eval("%{REQUEST_METHOD} = \"GET\"", f.in));
  EXPECT_TRUE(eval("%{QUERY_STRING} == 'a=1'", f.in));
  EXPECT_TRUE(eval("%{SERVER_NAME} == 'www.example.com' && %{SERVER_PORT} == '8080'", f.in));
  EXPECT_TRUE(eval("%{REMOTE_ADDR} == '10.1.2.3'", f.in));
  EXPECT_TRUE(eval("'abc' < 'abd' && 'b' > 'a' && 'a' <= 'a' && 'a' >= 'a'", f.in));
  EXPECT_TRUE(eval("%{THE_REQUEST} == 'GET /admin/x?a=1 HTTP/1.1'", f.in));
}

TEST(Expr, ReadsRequestFieldsAndEnvironment) {
  Fixture f;
  EXPECT_TRUE(eval("req('X-Debug') == '1'", f.in));
  EXPECT_TRUE(eval("http('x-debug') == '1'", f.in));
  EXPECT_TRUE(eval("%{HTTP:X-Debug} == '1'", f.in));
  EXPECT_TRUE(eval("%{HTTP_USER_AGENT} =~ /^curl/", f.in));
  EXPECT_TRUE(eval("%{HTTP_X_DEBUG} == '1'", f.in));
  EXPECT_TRUE(eval("req('Accept') == 'text/html, */*'", f.in)) << "repeated fields read joined";
  EXPECT_TRUE(eval("-z req('X-Missing') && -n req('X-Debug')", f.in));
  EXPECT_TRUE(eval("%{ENV:HAS_COOKIE} == 'yes' && env('has_cookie') == 'yes' && reqenv('HAS_COOKIE') == 'yes'", f.in));
  EXPECT_TRUE(eval("-z %{ENV:unset}", f.in));
  EXPECT_TRUE(eval("req('X-' . 'Debug') == '1'", f.in)) << "a computed field name";
}

TEST(Expr, RegexesBothSpellingsAndCase) {
  Fixture f;
  EXPECT_TRUE(eval("%{REQUEST_URI} =~ m#^/admin#", f.in));
  EXPECT_TRUE(eval("%{REQUEST_URI} =~ /^\\/admin\\//", f.in));
  EXPECT_FALSE(eval("%{REQUEST_URI} =~ m#^/ADMIN#", f.in));
  EXPECT_TRUE(eval("%{REQUEST_URI} =~ m#^/ADMIN#i", f.in));
  EXPECT_TRUE(eval("%{REQUEST_URI} !~ m|^/public|", f.in));
}

TEST(Expr, MatchesNetworks) {
  Fixture f;
  EXPECT_TRUE(eval("-R '10.0.0.0/8'", f.in));
  EXPECT_FALSE(eval("-R '192.168.0.0/16'", f.in));
  EXPECT_TRUE(eval("%{REMOTE_ADDR} -ipmatch '10.1.2.0/24'", f.in));
  EXPECT_TRUE(eval("req('X-Debug') -ipmatch '0.0.0.0/0' || true", f.in));
  EXPECT_TRUE(eval("'192.168.1.7' -ipmatch '192.168.1.0/24'", f.in)) << "any word, parsed as an address";
  EXPECT_FALSE(eval("'not-an-address' -ipmatch '0.0.0.0/0'", f.in));
}

TEST(Expr, WildcardsListsAndIntegers) {
  Fixture f;
  EXPECT_TRUE(eval("%{HTTP_HOST} -strmatch '*.example.com'", f.in));
  EXPECT_FALSE(eval("%{HTTP_HOST} -strmatch '*.EXAMPLE.com'", f.in));
  EXPECT_TRUE(eval("%{HTTP_HOST} -strcmatch '*.EXAMPLE.com'", f.in));
  EXPECT_TRUE(eval("%{REQUEST_METHOD} -in {'POST', 'GET'}", f.in));
  EXPECT_FALSE(eval("%{REQUEST_METHOD} in {'POST','PUT'}", f.in));
  EXPECT_TRUE(eval("%{SERVER_PORT} -eq 8080 && 9 -lt 10 && 10 -ge 10 && 3 -ne 4", f.in));
  EXPECT_FALSE(eval("'x' -eq 0", f.in)) << "not a number: false";
}

TEST(Expr, BooleansFunctionsAndInterpolation) {
  Fixture f;
  EXPECT_TRUE(eval("true", f.in));
  EXPECT_FALSE(eval("false", f.in));
  EXPECT_TRUE(eval("!false && (false || true)", f.in));
  EXPECT_FALSE(eval("true && false || false", f.in));
  EXPECT_TRUE(eval("false || true && true", f.in)) << "&& binds tighter";
  EXPECT_TRUE(eval("!(%{HTTP_HOST} == 'other')", f.in));
  EXPECT_TRUE(eval("tolower('WWW.Example.COM') == %{HTTP_HOST}", f.in));
  EXPECT_TRUE(eval("toupper(%{REQUEST_METHOD}) == 'GET'", f.in));
  EXPECT_TRUE(eval("'%{REQUEST_METHOD} %{REQUEST_URI}' == 'GET /admin/x'", f.in));
  EXPECT_TRUE(eval("'it\\'s' == \"it's\"", f.in));
  EXPECT_TRUE(eval("-T 'yes' && !-T 'off' && !-T ''", f.in));
}

TEST(Expr, ResponseFields) {
  Fixture f;
  std::string why;
  auto e = Expr::compile("%{CONTENT_TYPE} =~ m#text/html#", why);
  ASSERT_NE(e, nullptr) << why;
  EXPECT_TRUE(e->reads_response());
  EXPECT_FALSE(e->evaluate(f.in));
  f.in.content_type = "text/html; charset=utf-8";
  EXPECT_TRUE(e->evaluate(f.in));
  static const std::string kType = "image/png";
  f.in.response_field = [](const void*, std::string_view name) -> std::string_view {
    return name == "Content-Type" ? std::string_view(kType) : std::string_view();
  };
  EXPECT_FALSE(e->evaluate(f.in)) << "the response's field wins over the handler's type";
  EXPECT_TRUE(eval("resp('Content-Type') == 'image/png'", f.in));
  EXPECT_FALSE(Expr::compile("%{HTTP_HOST} == 'x'", why)->reads_response());
}

TEST(Expr, RefusesMalformedExpressions) {
  EXPECT_NE(refusal("").find("expected a condition"), std::string::npos);
  EXPECT_NE(refusal("%{HTTP_HOST}").find("expected an operator"), std::string::npos);
  EXPECT_NE(refusal("%{HTTP_HOST} == ").find("expected a word"), std::string::npos);
  EXPECT_NE(refusal("%{HTTP_HOST} == 'x").find("no closing '"), std::string::npos);
  EXPECT_NE(refusal("%{HTTP_HOST").find("no closing '}'"), std::string::npos);
  EXPECT_NE(refusal("%{NO_SUCH_VAR} == 'x'").find("unknown variable %{NO_SUCH_VAR}"), std::string::npos);
  EXPECT_NE(refusal("%{FOO:bar} == 'x'").find("unknown variable kind"), std::string::npos);
  EXPECT_NE(refusal("nosuch('x') == 'y'").find("unknown function"), std::string::npos);
  EXPECT_NE(refusal("%{REQUEST_URI} =~ m#(#").find("invalid"), std::string::npos);
  EXPECT_NE(refusal("%{REQUEST_URI} =~ /abc").find("no closing '/'"), std::string::npos);
  EXPECT_NE(refusal("%{REQUEST_URI} =~ 'abc'").find("expected a regular expression"), std::string::npos);
  EXPECT_NE(refusal("%{REQUEST_URI} =~ /a/x").find("flag 'x'"), std::string::npos);
  EXPECT_NE(refusal("-R 'not a net'").find("-ipmatch"), std::string::npos);
  EXPECT_NE(refusal("-f '/etc/passwd'").find("not supported"), std::string::npos);
  EXPECT_NE(refusal("-q 'x'").find("unknown unary operator"), std::string::npos);
  EXPECT_NE(refusal("(true").find("expected ')'"), std::string::npos);
  EXPECT_NE(refusal("true false").find("unexpected"), std::string::npos);
  EXPECT_NE(refusal("true &&").find("expected a condition"), std::string::npos);
  EXPECT_NE(refusal("'a' -in {'a',").find("expected a word"), std::string::npos);
  EXPECT_NE(refusal("'a' -in {'a' 'b'}").find("'}'"), std::string::npos);
  EXPECT_NE(refusal("$1 == 'a'").find("back-references"), std::string::npos);
  EXPECT_NE(refusal("on == 'a'").find("unknown function or word 'on'"), std::string::npos);
  EXPECT_NE(refusal(std::string(200, '(') + "true" + std::string(200, ')')).find("nests too deeply"), std::string::npos);
  EXPECT_NE(refusal("%{HTTP_HOST} == 'x' &&").find("(at offset 22)"), std::string::npos);
}

}  // namespace
}  // namespace pillar::config

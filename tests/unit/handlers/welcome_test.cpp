// The welcome site of the embedded default configuration: one page at /,
// 404 elsewhere; the page names the live pages and shows a configuration
// that loads.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "config/loader.h"
#include "handlers/builtin_pages.h"
#include "http/handler.h"
#include "http/request.h"
#include "http/response.h"

namespace {

using pillar::handlers::WelcomeHandler;

pillar::http::Response get(std::string_view path, pillar::http::Method m = pillar::http::Method::Get) {
  pillar::http::RequestHead head;
  head.method = m;
  sockaddr_storage client{};
  pillar::http::RequestContext ctx{head, path, "localhost", client, "127.0.0.1"};
  pillar::http::Response resp;
  WelcomeHandler().handle(ctx, resp);
  return resp;
}

std::string body(const pillar::http::Response& r) {
  std::string s;
  for (size_t i = 0; i < r.part_count(); ++i) s += r.parts()[i].text;
  return s;
}

TEST(Welcome, RootIsThePageNamingTheLivePagesAndTheExample) {
  auto r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.use_error_page);
  std::string b = body(r);
  EXPECT_NE(b.find("href=\"/server-status\""), std::string::npos) << b;
  EXPECT_NE(b.find("href=\"/metrics\""), std::string::npos) << b;
  EXPECT_NE(b.find("ServerName www.example.com"), std::string::npos) << b;
  EXPECT_NE(b.find("&lt;Location /server-status&gt;"), std::string::npos) << b;  // escaped in <pre>
  EXPECT_EQ(get("/index.html").status, 200);
}

TEST(Welcome, OtherPathsAreNotFound) {
  for (std::string_view p : {"/favicon.ico", "/x/", "/index.htm", "/server-statusx"}) {
    auto r = get(p);
    EXPECT_EQ(r.status, 404) << p;
    EXPECT_TRUE(r.use_error_page) << p;
    EXPECT_EQ(body(r).find("Pillar is running"), std::string::npos) << p;
  }
}

TEST(Welcome, OtherMethodsAreRefused) { EXPECT_EQ(get("/", pillar::http::Method::Post).status, 405); }

TEST(Welcome, ExampleIsTenLinesThatLoad) {
  std::string_view ex = pillar::handlers::welcome_example_config();
  EXPECT_EQ(std::count(ex.begin(), ex.end(), '\n'), 10) << ex;
  // Its log directory is the one a package would create: a temporary one here.
  std::string text(ex);
  char dir[] = "/tmp/pillar_welcome_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  for (size_t at; (at = text.find("/var/log/pillar")) != std::string::npos;) text.replace(at, 15, dir);
  pillar::config::LoadOptions o;
  o.server_root = "/tmp";
  auto res = pillar::config::load_config_text(text, "welcome-example.conf", o);
  rmdir(dir);
  std::string errors;
  for (const auto& e : res.errors) errors += e.to_string() + "\n";
  EXPECT_TRUE(res.ok()) << errors;
}

}  // namespace

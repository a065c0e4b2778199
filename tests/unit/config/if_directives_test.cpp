// <If>, <ElseIf>, <Else> as the loader reads them (config/loader.cpp,
// model.h IfSection): where they are kept, the chains, nesting, and what
// is refused with file:line; Header/RequestHeader expr=.
#include <gtest/gtest.h>

#include "config/directives.h"
#include "config/expr.h"
#include "config/loader.h"
#include "config/overrides.h"
#include "config/section_tree.h"
#include "config_text.h"

namespace pillar::config {
namespace {

using config_text::errors;
using config_text::load;

TEST(IfDirectives, KeptWhereWrittenWithTheirChains) {
  auto r = load(
      "<If \"%{HTTP_HOST} != 'www.example.com'\">\n"
      "  Redirect permanent / https://www.example.com/\n"
      "</If>\n"
      "<ElseIf \"-R '10.0.0.0/8'\">\n"
      "  Header set X-Net ten\n"
      "  <If \"req('X-Debug') == '1'\">\n"
      "    Header set X-Debug on\n"
      "  </If>\n"
      "</ElseIf>\n"
      "# a comment between is fine\n"
      "<Else>\n"
      "  Header set X-Else yes\n"
      "</Else>\n"
      "<Directory /srv/www>\n"
      "  <If \"%{HTTPS} != 'on'\">\n"
      "    Require all denied\n"
      "  </If>\n"
      "</Directory>\n"
      "<Location /admin>\n"
      "  <If \"true\">\n"
      "    Header set X-Admin 1\n"
      "  </If>\n"
      "</Location>\n"
      "<Files \"*.php\">\n"
      "  <If \"false\">\n"
      "    Header set X-Php 1\n"
      "  </If>\n"
      "</Files>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& vh = r.config->main_server;
  EXPECT_TRUE(vh.ifs_anywhere);
  ASSERT_EQ(vh.ifs.size(), 3u);
  EXPECT_EQ(vh.ifs[0].kind, IfSection::Kind::If);
  EXPECT_EQ(vh.ifs[0].where.line, 2);
  ASSERT_NE(vh.ifs[0].cond, nullptr);
  EXPECT_EQ(vh.ifs[0].cond->text(), "%{HTTP_HOST} != 'www.example.com'");
  ASSERT_EQ(vh.ifs[0].body->size(), 1u);
  EXPECT_EQ((*vh.ifs[0].body)[0].name, "Redirect");
  EXPECT_EQ(vh.ifs[1].kind, IfSection::Kind::ElseIf);
  ASSERT_EQ(vh.ifs[1].body->size(), 1u) << "the nested <If> is not part of the body";
  ASSERT_EQ(vh.ifs[1].nested.size(), 1u);
  EXPECT_EQ(vh.ifs[1].nested[0].where.line, 7);
  EXPECT_EQ(vh.ifs[2].kind, IfSection::Kind::Else);
  EXPECT_EQ(vh.ifs[2].cond, nullptr);
  ASSERT_EQ(vh.directories.size(), 1u);
  EXPECT_EQ(vh.directories[0].ifs.size(), 1u);
  EXPECT_TRUE(vh.directories[0].access.empty()) << "an <If>'s Require stays in its body";
  ASSERT_EQ(vh.locations.size(), 1u);
  EXPECT_EQ(vh.locations[0].ifs.size(), 1u);
  EXPECT_TRUE(vh.locations[0].meta.headers.empty());
  ASSERT_EQ(vh.files.size(), 1u);
  EXPECT_EQ(vh.files[0].ifs.size(), 1u);
  EXPECT_TRUE(vh.meta.headers.empty()) << "nothing of a body reaches the server's own settings";
  EXPECT_TRUE(vh.redirects.empty());
}

TEST(IfDirectives, VirtualHostsInheritAndKeepTheirOwn) {
  auto r = load(
      "<If \"true\">\n  Header set X-Server 1\n</If>\n"
      "<VirtualHost *:80>\n  ServerName a.example\n"
      "  <If \"%{REQUEST_URI} =~ m#^/admin#\">\n    Require ip 127.0.0.1\n  </If>\n"
      "</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  ASSERT_EQ(r.config->vhosts.size(), 1u);
  EXPECT_EQ(r.config->vhosts[0].ifs.size(), 2u);
  EXPECT_EQ(r.config->main_server.ifs.size(), 1u);
}

std::string first_error(const std::string& body) {
  auto r = load(body);
  EXPECT_FALSE(r.ok()) << body;
  return r.errors.empty() ? "" : r.errors[0].to_string();
}

TEST(IfDirectives, RefusesWithFileAndLine) {
  EXPECT_EQ(first_error("<Else>\n  Header set A b\n</Else>\n"),
            "t.conf:2: <Else> must directly follow an <If> or <ElseIf> section (only comments may come between)");
  EXPECT_NE(first_error("<If \"true\">\n</If>\nHeader set A b\n<ElseIf \"true\">\n</ElseIf>\n").find("t.conf:5: <ElseIf> must directly follow"),
            std::string::npos);
  EXPECT_NE(first_error("<If \"true\">\n</If>\n<Else>\n</Else>\n<Else>\n</Else>\n").find("t.conf:6: <Else> must directly follow"),
            std::string::npos);
  EXPECT_NE(first_error("<If \"true\">\n</If>\n<Else \"true\">\n</Else>\n").find("t.conf:4: <Else> takes no condition"),
            std::string::npos);
  EXPECT_NE(first_error("<If>\n</If>\n").find("t.conf:2: <If> needs a condition"), std::string::npos);
  std::string e = first_error("<If \"%{HTTP_HOST} = = 'x'\">\n</If>\n");
  EXPECT_NE(e.find("t.conf:2: <If \"%{HTTP_HOST} = = 'x'\">: "), std::string::npos) << e;
  EXPECT_NE(e.find("offset"), std::string::npos) << e;
  EXPECT_NE(first_error("<If \"%{NOPE} == 'x'\">\n</If>\n").find("unknown variable %{NOPE}"), std::string::npos);
  EXPECT_EQ(first_error("<If \"true\">\n  Listen 8081\n</If>\n"),
            "t.conf:3: Listen is not allowed in <If>: only per-directory directives (those allowed in <Directory> or "
            ".htaccess) go there");
  EXPECT_NE(first_error("<If \"true\">\n  ServerName x.example\n</If>\n").find("t.conf:3: ServerName is not allowed in <If>"),
            std::string::npos);
  EXPECT_NE(first_error("<If \"true\">\n  <Directory /srv>\n  </Directory>\n</If>\n")
                .find("t.conf:3: <Directory> is not allowed in <If>"),
            std::string::npos);
  EXPECT_NE(first_error("<If \"true\">\n  <Location /x>\n  </Location>\n</If>\n").find("t.conf:3: <Location> is not allowed in <If>"),
            std::string::npos);
  EXPECT_NE(first_error("<If \"true\">\n  Header set\n</If>\n").find("t.conf:3: Header"), std::string::npos)
      << "the body is checked at load";
  EXPECT_NE(first_error("<If \"true\">\n  <If \"true\">\n    Listen 1\n  </If>\n</If>\n").find("t.conf:4: Listen is not allowed in <If>"),
            std::string::npos);
  EXPECT_NE(first_error("<If \"true\">\n  Header set A b early\n</If>\n").find("t.conf:3: "), std::string::npos);
  EXPECT_EQ(first_error("<If \"true\">\n  SetHandler server-status\n</If>\n"),
            "t.conf:3: SetHandler server-status in <If> is not supported; there Pillar takes cgi-script or None");
  EXPECT_NE(first_error("<If \"true\">\n  SetHandler \"proxy:fcgi://127.0.0.1:9000\"\n</If>\n").find("in <If> is not supported"),
            std::string::npos);
}

TEST(IfDirectives, RedirectTakesOneArgumentInside) {
  auto r = load("<If \"%{HTTPS} != 'on'\">\n  Redirect https://www.example.com/\n</If>\n"
                "<If \"true\">\n  Redirect 301 https://www.example.com/\n</If>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
}

TEST(IfDirectives, HeaderExprConditions) {
  auto r = load("Header always set X-Frame-Options DENY \"expr=%{CONTENT_TYPE} =~ m#text/html#\"\n"
                "RequestHeader set X-Internal 1 \"expr=-R '10.0.0.0/8'\"\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& h = r.config->main_server.meta.headers;
  ASSERT_EQ(h.size(), 2u);
  ASSERT_NE(h[0].expr, nullptr);
  EXPECT_TRUE(h[0].expr->reads_response());
  ASSERT_NE(h[1].expr, nullptr);
  EXPECT_NE(first_error("Header set A b \"expr=%{HTTP_HOST} ==\"\n").find("t.conf:2: Header ... expr=%{HTTP_HOST} ==: expected a word"),
            std::string::npos);
  EXPECT_NE(first_error("RequestHeader set A b \"expr=%{CONTENT_TYPE} == 'x'\"\n").find("reads the response"),
            std::string::npos);
}

// An .htaccess file's <If>: its body is held to the directory's AllowOverride.
TEST(IfDirectives, HtaccessIfFollowsAllowOverride) {
  auto apply = [](const std::string& text, const std::string& allow, std::vector<ConfigError>& errs) {
    HtaccessPermissions p;
    EXPECT_EQ(parse_allow_override({allow}, p.allow), "");
    TreeInput in;
    in.htaccess = true;
    TreeResult tree;
    build_tree_from_text(text, "/srv/www/.htaccess", in, tree);
    VirtualHost vh;
    DirectorySection dir;
    dir.path = "/srv/www";
    dir.htaccess = true;
    std::vector<std::string> notices;
    apply_htaccess(tree.top, "/", vh, dir, p, errs, notices);
    return dir.ifs.size() + (vh.ifs_anywhere ? 100 : 0);
  };
  std::vector<ConfigError> errs;
  EXPECT_EQ(apply("<If \"req('X-Debug') == '1'\">\n  Header set X-Debug on\n</If>\n", "FileInfo", errs), 101u);
  EXPECT_TRUE(errs.empty());
  errs.clear();
  apply("<If \"true\">\n  Require all denied\n</If>\n", "FileInfo", errs);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_NE(errs[0].to_string().find("/srv/www/.htaccess:2: Require not allowed here"), std::string::npos) << errs[0].to_string();
}

}  // namespace
}  // namespace pillar::config

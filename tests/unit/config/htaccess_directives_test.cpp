// .htaccess files read through the directive tables (config/overrides.h,
// loader.h apply_htaccess): each directive let in or refused by its
// override class (AllowOverride), by AllowOverrideList, Options=...,
// Nonfatal=, and the read-time constructs an .htaccess may not use.
#include <gtest/gtest.h>

#include "config/directives.h"
#include "config/loader.h"
#include "config/overrides.h"
#include "config/section_tree.h"

namespace pillar::config {
namespace {

struct Applied {
  VirtualHost vh;
  DirectorySection dir;
  std::vector<ConfigError> errors;
  std::vector<std::string> notices;
  std::string first_error() const { return errors.empty() ? "" : errors[0].to_string(); }
};

// `text` read as /srv/www/.htaccess under AllowOverride `allow` (its words)
// and AllowOverrideList `list`.
Applied apply(const std::string& text, const std::vector<std::string>& allow, const std::vector<std::string>& list = {}) {
  Applied a;
  HtaccessPermissions p;
  EXPECT_EQ(parse_allow_override(allow, p.allow), "");
  EXPECT_EQ(parse_allow_override_list(list.empty() ? std::vector<std::string>{"None"} : list, p.list), "");
  TreeInput in;
  in.htaccess = true;
  TreeResult tree;
  build_tree_from_text(text, "/srv/www/.htaccess", in, tree);
  a.errors = tree.errors;
  a.dir.path = "/srv/www";
  a.dir.htaccess = true;
  apply_htaccess(tree.top, "/", a.vh, a.dir, p, a.errors, a.notices);
  return a;
}

TEST(HtaccessDirectives, EachClassLetsInItsDirectivesOnly) {
  // FileInfo: mod_rewrite, ErrorDocument, mod_mime.
  auto fi = apply("RewriteEngine On\nRewriteRule . /index.php [L]\nErrorDocument 404 /nf.html\nAddType text/x-a .aa\n",
                  {"FileInfo"});
  EXPECT_TRUE(fi.errors.empty()) << fi.first_error();
  EXPECT_EQ(fi.dir.rewrite.size(), 2u);
  EXPECT_EQ(fi.vh.error_documents.count(404), 1u);
  EXPECT_EQ(fi.vh.add_types[".aa"], "text/x-a");

  auto idx = apply("DirectoryIndex home.html\n", {"FileInfo"});
  ASSERT_EQ(idx.errors.size(), 1u);
  EXPECT_EQ(idx.errors[0].line, 1);
  EXPECT_NE(idx.first_error().find("/srv/www/.htaccess:1: DirectoryIndex not allowed here"), std::string::npos) << idx.first_error();
  EXPECT_NE(idx.first_error().find("does not include Indexes"), std::string::npos) << idx.first_error();
  EXPECT_TRUE(apply("DirectoryIndex home.html\nFallbackResource /index.php\n", {"Indexes"}).errors.empty());

  EXPECT_TRUE(apply("Require all denied\n", {"AuthConfig"}).errors.empty());
  EXPECT_FALSE(apply("Require all denied\n", {"Limit"}).errors.empty());
  EXPECT_TRUE(apply("Order deny,allow\nDeny from all\n", {"Limit"}).errors.empty());
  EXPECT_FALSE(apply("Deny from all\n", {"AuthConfig", "FileInfo", "Indexes", "Options"}).errors.empty());
  EXPECT_TRUE(apply("Options -Indexes\n", {"Options"}).errors.empty());
  EXPECT_FALSE(apply("Options -Indexes\n", {"FileInfo"}).errors.empty());
  // "All"-class directives: in with any class, out with None.
  EXPECT_TRUE(apply("ServerSignature Off\n", {"Limit"}).errors.empty());
  EXPECT_FALSE(apply("ServerSignature Off\n", {"None"}, {"Redirect"}).errors.empty());
  auto all = apply("RewriteEngine On\nDirectoryIndex a.html\nRequire all granted\nOrder allow,deny\nOptions +Indexes\n", {"All"});
  EXPECT_TRUE(all.errors.empty()) << all.first_error();
}

TEST(HtaccessDirectives, AdminOnlyDirectivesAreNeverAllowed) {
  for (const char* line : {"Listen 8081\n", "DocumentRoot /etc\n", "RewriteMap m txt:/etc/passwd\n", "Alias /x /etc\n",
                           "ProxyPass / http://10.0.0.1/\n", "User root\n", "php_admin_value open_basedir none\n",
                           "ScriptSourceGuard Off\n", "AllowOverride All\n", "Include /etc/passwd\n",
                           "Define X\n", "LoadModule foo_module x.so\n", "ServerRoot /\n"}) {
    auto a = apply(line, {"All"});
    ASSERT_EQ(a.errors.size(), 1u) << line;
    EXPECT_NE(a.first_error().find("not allowed here"), std::string::npos) << line << a.first_error();
    EXPECT_EQ(a.errors[0].line, 1) << line;
  }
  auto sec = apply("<Directory /etc>\nRequire all granted\n</Directory>\n<VirtualHost *:80>\n</VirtualHost>\n", {"All"});
  ASSERT_EQ(sec.errors.size(), 2u) << sec.first_error();
  EXPECT_NE(sec.first_error().find("<Directory not allowed here"), std::string::npos);
}

TEST(HtaccessDirectives, UnknownDirectiveIsApachesInvalidCommand) {
  auto a = apply("\n\nFrobnicate on\n", {"All"});
  ASSERT_EQ(a.errors.size(), 1u);
  EXPECT_EQ(a.errors[0].line, 3);
  EXPECT_NE(a.first_error().find("Invalid command 'Frobnicate'"), std::string::npos) << a.first_error();
}

TEST(HtaccessDirectives, NonfatalIgnoresWithANotice) {
  auto o = apply("DirectoryIndex x.html\nRewriteEngine On\n", {"FileInfo", "Nonfatal=Override"});
  EXPECT_TRUE(o.errors.empty()) << o.first_error();
  ASSERT_EQ(o.notices.size(), 1u);
  EXPECT_NE(o.notices[0].find("ignored: Nonfatal=Override"), std::string::npos);
  EXPECT_EQ(o.vh.directory_index, std::vector<std::string>{"index.html"}) << "the refused line had no effect";
  EXPECT_FALSE(apply("Frobnicate\n", {"FileInfo", "Nonfatal=Override"}).errors.empty()) << "Override does not cover unknown names";
  EXPECT_TRUE(apply("Frobnicate\n", {"FileInfo", "Nonfatal=Unknown"}).errors.empty());
  EXPECT_TRUE(apply("Frobnicate\nDirectoryIndex x\n", {"FileInfo", "Nonfatal=All"}).errors.empty());
  // A syntax error in an allowed directive stays fatal.
  EXPECT_FALSE(apply("ErrorDocument 200 x\n", {"FileInfo", "Nonfatal=All"}).errors.empty());
  // An admin-only directive stays fatal too.
  EXPECT_FALSE(apply("Listen 80\n", {"All", "Nonfatal=All"}).errors.empty());
}

TEST(HtaccessDirectives, AllowOverrideListAddsNamedDirectives) {
  auto a = apply("Redirect /old /new\nRedirectMatch ^/x$ /y\n", {"None"}, {"Redirect", "RedirectMatch"});
  EXPECT_TRUE(a.errors.empty()) << a.first_error();
  EXPECT_EQ(a.dir.redirects.size(), 2u);
  EXPECT_FALSE(apply("RedirectPermanent /a /b\n", {"None"}, {"Redirect"}).errors.empty());
  EXPECT_TRUE(apply("Redirect /a /b\nRequire all granted\n", {"AuthConfig"}, {"Redirect"}).errors.empty());
}

TEST(HtaccessDirectives, OptionsEqualsLimitsTheOptions) {
  EXPECT_TRUE(apply("Options +Indexes -FollowSymLinks\n", {"Options=Indexes,FollowSymLinks"}).errors.empty());
  auto a = apply("Options +Indexes +ExecCGI\n", {"Options=Indexes"});
  ASSERT_EQ(a.errors.size(), 1u);
  EXPECT_NE(a.first_error().find("Option ExecCGI not allowed here"), std::string::npos) << a.first_error();
  EXPECT_FALSE(apply("Options All\n", {"Options=Indexes"}).errors.empty()) << "All needs every option allowed";
  EXPECT_TRUE(apply("Options None\n", {"Options=Indexes"}).errors.empty());
  EXPECT_TRUE(apply("Options All\n", {"Options"}).errors.empty());
  // php_value is in the Options class, as with mod_php.
  auto php = apply("php_value memory_limit 64M\nphp_flag display_errors On\n", {"Options=Indexes"});
  EXPECT_TRUE(php.errors.empty()) << php.first_error();
  ASSERT_EQ(php.dir.fcgi_opts.php.size(), 2u);
  EXPECT_EQ(php.dir.fcgi_opts.php[1].value, "1");
  EXPECT_FALSE(apply("php_value memory_limit 64M\n", {"FileInfo"}).errors.empty());
}

TEST(HtaccessDirectives, SectionsAndConditionals) {
  auto a = apply("<IfModule mod_rewrite.c>\nRewriteEngine On\n</IfModule>\n<IfModule mod_nosuch.c>\nFrobnicate\n</IfModule>\n"
                 "<FilesMatch \"\\.(bak|sql)$\">\nRequire all denied\n</FilesMatch>\n",
                 {"FileInfo", "AuthConfig"});
  EXPECT_TRUE(a.errors.empty()) << a.first_error();
  EXPECT_EQ(a.dir.rewrite.size(), 1u);
  ASSERT_EQ(a.dir.files.size(), 1u);
  EXPECT_FALSE(a.dir.files[0].access.empty());
  // Inside <Files> the same class check applies.
  EXPECT_FALSE(apply("<Files x>\nRequire all denied\n</Files>\n", {"FileInfo"}).errors.empty());
  // ${VAR} is not expanded in .htaccess (it would show the server's environment).
  ::setenv("PILLAR_TEST_SECRET", "s3cret", 1);
  auto e = apply("ErrorDocument 404 \"${PILLAR_TEST_SECRET}\"\n", {"FileInfo"});
  EXPECT_TRUE(e.errors.empty()) << e.first_error();
  EXPECT_EQ(e.vh.error_documents[404].value, "${PILLAR_TEST_SECRET}");
}

TEST(HtaccessDirectives, EveryDirectiveWithAClassIsAPerDirectoryOne) {
  // What the class lets in must make sense per directory: no server-only directive carries one.
  for (const auto& t : directive_tables()) {
    for (const auto& d : t.specs) {
      if (d.overrides == kOrNone) continue;
      EXPECT_NE(d.contexts, kServer) << d.name << " is server-wide only, yet has an override class";
      EXPECT_EQ(d.overrides & ~kOrAll, 0) << d.name;
    }
  }
}

}  // namespace
}  // namespace pillar::config

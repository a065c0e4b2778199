// render_directory_listing over a real temporary directory.
#include "handlers/directory_listing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using pillar::handlers::render_directory_listing;

namespace {

namespace fs = std::filesystem;

class DirectoryListing : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/pillar_dirlist_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << tmpl;
    dir_ = tmpl;
    file("a&b.txt", "hello");  // 5 bytes
    file("x y.html", "<p>hi</p>\n");  // 10 bytes
    file(".htaccess", "Deny from all\n");
    file(".htpasswd", "user:hash\n");
    ASSERT_EQ(mkdir((dir_ + "/sub").c_str(), 0755), 0);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  void file(const std::string& name, const std::string& content) {
    std::ofstream out(dir_ + "/" + name, std::ios::binary);
    ASSERT_TRUE(out) << name;
    out << content;
  }

  std::string render(std::string_view url_path = "/files/") {
    std::string html;
    EXPECT_TRUE(render_directory_listing(dir_, url_path, html));
    return html;
  }

  static bool contains(const std::string& hay, std::string_view needle) {
    return hay.find(needle) != std::string::npos;
  }

  std::string dir_;
};

}  // namespace

TEST_F(DirectoryListing, ReturnsTrueAndHtmlDocument) {
  std::string html;
  ASSERT_TRUE(render_directory_listing(dir_, "/files/", html));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(contains(html, "</html>"));
}

TEST_F(DirectoryListing, TitleNamesUrlPath) {
  std::string html = render("/files/");
  EXPECT_TRUE(contains(html, "<title>Index of /files/</title>"));
  EXPECT_TRUE(contains(html, "<h1>Index of /files/</h1>"));
}

TEST_F(DirectoryListing, TitleIsHtmlEscaped) {
  std::string html = render("/a&b/<x>/\"q\"/");
  EXPECT_TRUE(contains(html, "Index of /a&amp;b/&lt;x&gt;/&quot;q&quot;/"));
  EXPECT_FALSE(contains(html, "<x>"));
}

TEST_F(DirectoryListing, AmpersandNameIsEscaped) {
  std::string html = render();
  EXPECT_TRUE(contains(html, "<a href=\"a%26b.txt\">a&amp;b.txt</a>")) << html;
  EXPECT_FALSE(contains(html, "a&b.txt"));
}

TEST_F(DirectoryListing, SpaceNameIsPercentEncodedInLink) {
  std::string html = render();
  EXPECT_TRUE(contains(html, "<a href=\"x%20y.html\">x y.html</a>")) << html;
  EXPECT_FALSE(contains(html, "href=\"x y.html\""));
}

TEST_F(DirectoryListing, SubdirectoryLinkHasTrailingSlash) {
  std::string html = render();
  EXPECT_TRUE(contains(html, "<a href=\"sub/\">sub/</a>")) << html;
}

TEST_F(DirectoryListing, HtFilesAreHidden) {
  std::string html = render();
  EXPECT_FALSE(contains(html, ".htaccess"));
  EXPECT_FALSE(contains(html, ".htpasswd"));
  EXPECT_FALSE(contains(html, "Deny from all"));
}

TEST_F(DirectoryListing, HtDirectoryIsHiddenToo) {
  ASSERT_EQ(mkdir((dir_ + "/.htsecret").c_str(), 0755), 0);
  EXPECT_FALSE(contains(render(), ".htsecret"));
}

TEST_F(DirectoryListing, DotAndDotDotAreNotListedAsEntries) {
  std::string html = render();
  EXPECT_FALSE(contains(html, "href=\".\""));
  EXPECT_FALSE(contains(html, "href=\"./\""));
  EXPECT_FALSE(contains(html, ">./<"));
  EXPECT_FALSE(contains(html, ">../<"));
}

TEST_F(DirectoryListing, ParentLinkBelowRoot) {
  EXPECT_TRUE(contains(render("/files/"), "href=\"../\""));
}

TEST_F(DirectoryListing, NoParentLinkAtRoot) {
  EXPECT_FALSE(contains(render("/"), "href=\"../\""));
}

TEST_F(DirectoryListing, FileSizesShown) {
  std::string html = render();
  size_t row = html.find("a%26b.txt");
  ASSERT_NE(row, std::string::npos);
  std::string tr = html.substr(row, html.find("</tr>", row) - row);
  EXPECT_TRUE(contains(tr, "<td>5</td>")) << tr;

  row = html.find("x%20y.html");
  ASSERT_NE(row, std::string::npos);
  tr = html.substr(row, html.find("</tr>", row) - row);
  EXPECT_TRUE(contains(tr, "<td>10</td>")) << tr;

  row = html.find("href=\"sub/\"");
  ASSERT_NE(row, std::string::npos);
  tr = html.substr(row, html.find("</tr>", row) - row);
  EXPECT_TRUE(contains(tr, "<td>-</td>")) << tr;
}

TEST_F(DirectoryListing, EntriesSortedByName) {
  std::string html = render();
  size_t a = html.find("a%26b.txt"), s = html.find("href=\"sub/\""), x = html.find("x%20y.html");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(s, std::string::npos);
  ASSERT_NE(x, std::string::npos);
  EXPECT_LT(a, s);
  EXPECT_LT(s, x);
}

TEST_F(DirectoryListing, MarkupInNamesIsNeutralised) {
  file("<script>alert(1)<", "x");
  file("q\"uote's.txt", "x");
  std::string html = render();
  EXPECT_FALSE(contains(html, "<script>"));
  EXPECT_TRUE(contains(html, "&lt;script&gt;alert(1)&lt;")) << html;
  EXPECT_TRUE(contains(html, "href=\"%3Cscript%3Ealert%281%29%3C\"")) << html;
  EXPECT_TRUE(contains(html, ">q&quot;uote&#39;s.txt</a>")) << html;
  EXPECT_TRUE(contains(html, "href=\"q%22uote%27s.txt\"")) << html;
}

TEST_F(DirectoryListing, NonAsciiNameIsPercentEncodedInLink) {
  file("caf\xc3\xa9.txt", "x");
  std::string html = render();
  EXPECT_TRUE(contains(html, "href=\"caf%C3%A9.txt\"")) << html;
  EXPECT_TRUE(contains(html, ">caf\xc3\xa9.txt</a>")) << html;
}

TEST_F(DirectoryListing, OtherDotfilesAreNotTreatedAsHt) {
  file(".hidden", "x");
  file("htfile.txt", "x");
  std::string html = render();
  EXPECT_TRUE(contains(html, "href=\"htfile.txt\""));
}

TEST_F(DirectoryListing, EmptyDirectory) {
  std::string empty = dir_ + "/sub";
  std::string html;
  ASSERT_TRUE(render_directory_listing(empty, "/files/sub/", html));
  EXPECT_TRUE(contains(html, "Index of /files/sub/"));
  EXPECT_TRUE(contains(html, "href=\"../\""));
  // Only the parent link.
  size_t links = 0;
  for (size_t p = html.find("<a href="); p != std::string::npos; p = html.find("<a href=", p + 1)) ++links;
  EXPECT_EQ(links, 1u);
}

TEST_F(DirectoryListing, OutputIsReplacedNotAppended) {
  std::string html = "stale";
  ASSERT_TRUE(render_directory_listing(dir_, "/files/", html));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
}

TEST_F(DirectoryListing, MissingDirectoryReturnsFalse) {
  std::string html;
  EXPECT_FALSE(render_directory_listing(dir_ + "/does-not-exist", "/x/", html));
  EXPECT_FALSE(render_directory_listing("/nonexistent/pillar/dir", "/x/", html));
}

TEST_F(DirectoryListing, RegularFileReturnsFalse) {
  std::string html;
  EXPECT_FALSE(render_directory_listing(dir_ + "/a&b.txt", "/x/", html));
}

// IndexIgnore: Debian's patterns hide dot files, backups and RCS directories.
TEST_F(DirectoryListing, IndexIgnoreWildcardsHideMatchingNames) {
  file(".profile", "x");
  file("notes.txt~", "x");
  file("keep.txt", "x");
  std::string html;
  ASSERT_TRUE(render_directory_listing(dir_, "/files/", html, {".??*", "*~", "*#", "RCS", "CVS", "*,v", "*,t"}));
  EXPECT_FALSE(contains(html, ".profile"));
  EXPECT_FALSE(contains(html, "notes.txt~"));
  EXPECT_TRUE(contains(html, "keep.txt"));
  std::string all;
  ASSERT_TRUE(render_directory_listing(dir_, "/files/", all));
  EXPECT_TRUE(contains(all, ".profile"));
  EXPECT_TRUE(contains(all, "notes.txt~"));
}

// HeaderName's file replaces the "Index of" heading; ReadmeName's follows the table.
TEST_F(DirectoryListing, HeaderReplacesTheHeadingAndReadmeFollowsTheTable) {
  file("keep.txt", "x");
  std::string html;
  ASSERT_TRUE(render_directory_listing(dir_, "/files/", html, {}, {}, "<p>my header</p>\n", "<p>my readme</p>\n"));
  EXPECT_FALSE(contains(html, "<h1>Index of"));
  EXPECT_TRUE(contains(html, "<title>Index of /files/</title>"));
  size_t header = html.find("<p>my header</p>"), table = html.find("<table>"), end = html.find("</table>"),
         readme = html.find("<p>my readme</p>");
  ASSERT_NE(header, std::string::npos);
  ASSERT_NE(readme, std::string::npos);
  EXPECT_LT(header, table);
  EXPECT_GT(readme, end);
}

TEST(ListingInsert, HtmlAsItIsOtherTextInPreAnythingElseNothing) {
  using pillar::handlers::listing_insert;
  EXPECT_EQ(listing_insert("<b>hi</b>", "text/html; charset=UTF-8"), "<b>hi</b>");
  EXPECT_EQ(listing_insert("a < b", "text/plain"), "<pre>\na &lt; b</pre>\n");
  EXPECT_EQ(listing_insert("GIF89a", "image/gif"), std::nullopt);
  EXPECT_EQ(listing_insert("x", ""), std::nullopt);
}

// MimeTypes: the built-in table, AddType-style overrides and mime.types files.
#include "handlers/mime_types.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

using pillar::handlers::MimeTypes;

namespace {

// A mime.types file under $TMPDIR, removed when the object goes away.
class TempMimeFile {
 public:
  explicit TempMimeFile(const std::string& content) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/pillar_mime_test_XXXXXX";
    int fd = mkstemp(path_.data());
    if (fd < 0) {
      ADD_FAILURE() << "mkstemp failed for " << path_;
      path_.clear();
      return;
    }
    close(fd);
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << content;
  }
  ~TempMimeFile() {
    if (!path_.empty()) unlink(path_.c_str());
  }
  TempMimeFile(const TempMimeFile&) = delete;
  TempMimeFile& operator=(const TempMimeFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

// ---- built-in table ----

TEST(MimeTypesBuiltin, CommonTypes) {
  MimeTypes m;
  EXPECT_EQ(m.lookup("index.html"), "text/html");
  EXPECT_EQ(m.lookup("index.htm"), "text/html");
  EXPECT_EQ(m.lookup("style.css"), "text/css");
  EXPECT_EQ(m.lookup("app.js"), "text/javascript");  // RFC 9239
  EXPECT_EQ(m.lookup("logo.png"), "image/png");
  EXPECT_EQ(m.lookup("data.json"), "application/json");
  EXPECT_EQ(m.lookup("photo.jpg"), "image/jpeg");
  EXPECT_EQ(m.lookup("photo.jpeg"), "image/jpeg");
  EXPECT_EQ(m.lookup("icon.svg"), "image/svg+xml");
  EXPECT_EQ(m.lookup("readme.txt"), "text/plain");
  EXPECT_EQ(m.lookup("doc.pdf"), "application/pdf");
  EXPECT_EQ(m.lookup("module.wasm"), "application/wasm");
}

TEST(MimeTypesBuiltin, CaseInsensitive) {
  MimeTypes m;
  EXPECT_EQ(m.lookup("INDEX.HTML"), "text/html");
  EXPECT_EQ(m.lookup("index.Html"), "text/html");
  EXPECT_EQ(m.lookup("Style.CSS"), "text/css");
  EXPECT_EQ(m.lookup("APP.JS"), "text/javascript");
  EXPECT_EQ(m.lookup("logo.PnG"), "image/png");
  EXPECT_EQ(m.lookup("DATA.JSON"), "application/json");
}

TEST(MimeTypesBuiltin, UsesLastExtension) {
  MimeTypes m;
  EXPECT_EQ(m.lookup("archive.tar.gz"), "application/gzip");
  EXPECT_EQ(m.lookup("page.html.json"), "application/json");
  EXPECT_EQ(m.lookup("jquery.min.js"), "text/javascript");
}

TEST(MimeTypesBuiltin, WorksWithPaths) {
  MimeTypes m;
  EXPECT_EQ(m.lookup("/var/www/site/index.html"), "text/html");
  EXPECT_EQ(m.lookup("dir.d/sub/logo.png"), "image/png");
}

TEST(MimeTypesBuiltin, UnknownIsEmpty) {
  MimeTypes m;
  EXPECT_TRUE(m.lookup("file.unknownext").empty());
  EXPECT_TRUE(m.lookup("file.xyz").empty());
  EXPECT_TRUE(m.lookup("Makefile").empty());
  EXPECT_TRUE(m.lookup("").empty());
  EXPECT_TRUE(m.lookup("trailingdot.").empty());
  EXPECT_TRUE(m.lookup(".").empty());
}

TEST(MimeTypesBuiltin, DotInDirectoryIsNotAnExtension) {
  MimeTypes m;
  EXPECT_TRUE(m.lookup("/srv/site.html/README").empty());
  EXPECT_TRUE(m.lookup("dir.css/file").empty());
}

TEST(MimeTypesBuiltin, VeryLongExtensionIsEmpty) {
  MimeTypes m;
  EXPECT_TRUE(m.lookup("file." + std::string(200, 'a')).empty());
}

// ---- add() ----

TEST(MimeTypesAdd, NewExtensionWithoutDot) {
  MimeTypes m;
  m.add("foo", "application/x-foo");
  EXPECT_EQ(m.lookup("a.foo"), "application/x-foo");
  EXPECT_EQ(m.lookup("a.FOO"), "application/x-foo");
}

TEST(MimeTypesAdd, NewExtensionWithDot) {
  MimeTypes m;
  m.add(".bar", "application/x-bar");
  EXPECT_EQ(m.lookup("b.bar"), "application/x-bar");
  EXPECT_EQ(m.lookup("b.Bar"), "application/x-bar");
}

TEST(MimeTypesAdd, OverridesBuiltinWithoutDot) {
  MimeTypes m;
  m.add("html", "application/xhtml+xml");
  EXPECT_EQ(m.lookup("index.html"), "application/xhtml+xml");
  EXPECT_EQ(m.lookup("INDEX.HTML"), "application/xhtml+xml");
  EXPECT_EQ(m.lookup("index.htm"), "text/html");  // other extensions untouched
}

TEST(MimeTypesAdd, OverridesBuiltinWithDot) {
  MimeTypes m;
  m.add(".js", "application/javascript");
  EXPECT_EQ(m.lookup("app.js"), "application/javascript");
}

TEST(MimeTypesAdd, UpperCaseExtensionIsNormalised) {
  MimeTypes m;
  m.add(".PNG", "image/x-png");
  EXPECT_EQ(m.lookup("logo.png"), "image/x-png");
  EXPECT_EQ(m.lookup("logo.PNG"), "image/x-png");
}

TEST(MimeTypesAdd, LastAddWins) {
  MimeTypes m;
  m.add("baz", "text/x-one");
  m.add(".baz", "text/x-two");
  EXPECT_EQ(m.lookup("f.baz"), "text/x-two");
}

TEST(MimeTypesAdd, IndependentInstances) {
  MimeTypes a, b;
  a.add("css", "text/x-css");
  EXPECT_EQ(a.lookup("s.css"), "text/x-css");
  EXPECT_EQ(b.lookup("s.css"), "text/css");
}

// ---- load() ----

TEST(MimeTypesLoad, ParsesFile) {
  TempMimeFile f(
      "# This is a comment. I love comments.\n"
      "#\n"
      "# application/x-commented   cmtd\n"
      "\n"
      "application/x-foo\t\t\t\tfoo fooo\n"
      "text/x-bar  bar   BARX\tbarz\n"
      "application/x-noext\n"
      "image/x-tab\tTAB\n");
  MimeTypes m;
  ASSERT_TRUE(m.load(f.path()));
  EXPECT_EQ(m.lookup("a.foo"), "application/x-foo");
  EXPECT_EQ(m.lookup("a.fooo"), "application/x-foo");
  EXPECT_EQ(m.lookup("a.bar"), "text/x-bar");
  EXPECT_EQ(m.lookup("a.barx"), "text/x-bar");
  EXPECT_EQ(m.lookup("a.BARZ"), "text/x-bar");
  EXPECT_EQ(m.lookup("a.tab"), "image/x-tab");
  EXPECT_TRUE(m.lookup("a.cmtd").empty());
  // The built-in table is still there.
  EXPECT_EQ(m.lookup("index.html"), "text/html");
}

TEST(MimeTypesLoad, CommentWordsAreNotTypesOrExtensions) {
  TempMimeFile f(
      "# text/x-evil evil\n"
      "#text/x-evil2 evil2\n");
  MimeTypes m;
  ASSERT_TRUE(m.load(f.path()));
  EXPECT_TRUE(m.lookup("a.evil").empty());
  EXPECT_TRUE(m.lookup("a.evil2").empty());
}

TEST(MimeTypesLoad, IndentedCommentIsAComment) {
  // Apache's mime.types reader strips leading whitespace before looking for '#'.
  TempMimeFile f("   # text/x-indented indented\n\t# another comment line\n");
  MimeTypes m;
  ASSERT_TRUE(m.load(f.path()));
  EXPECT_TRUE(m.lookup("a.indented").empty());
  EXPECT_TRUE(m.lookup("a.another").empty());
  EXPECT_TRUE(m.lookup("a.comment").empty());
}

TEST(MimeTypesLoad, CrlfLineEndings) {
  TempMimeFile f("text/x-crlf crlf crlf2\r\napplication/x-next next\r\n");
  MimeTypes m;
  ASSERT_TRUE(m.load(f.path()));
  EXPECT_EQ(m.lookup("a.crlf"), "text/x-crlf");
  EXPECT_EQ(m.lookup("a.crlf2"), "text/x-crlf");
  EXPECT_EQ(m.lookup("a.next"), "application/x-next");
}

TEST(MimeTypesLoad, NoTrailingNewline) {
  TempMimeFile f("text/x-last last");
  MimeTypes m;
  ASSERT_TRUE(m.load(f.path()));
  EXPECT_EQ(m.lookup("a.last"), "text/x-last");
}

TEST(MimeTypesLoad, FileOverridesBuiltinAndAddOverridesFile) {
  TempMimeFile f("application/x-custom-json json\n");
  MimeTypes m;
  ASSERT_TRUE(m.load(f.path()));
  EXPECT_EQ(m.lookup("d.json"), "application/x-custom-json");
  m.add(".json", "application/json");
  EXPECT_EQ(m.lookup("d.json"), "application/json");
}

TEST(MimeTypesLoad, EmptyFileSucceeds) {
  TempMimeFile f("");
  MimeTypes m;
  EXPECT_TRUE(m.load(f.path()));
  EXPECT_EQ(m.lookup("index.html"), "text/html");
}

TEST(MimeTypesLoad, MissingFileReturnsFalse) {
  MimeTypes m;
  EXPECT_FALSE(m.load("/nonexistent/pillar/mime.types"));
  EXPECT_FALSE(m.load(""));
  // The table is unaffected.
  EXPECT_EQ(m.lookup("index.html"), "text/html");
}

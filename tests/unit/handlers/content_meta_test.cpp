// Unit tests for handlers::content_meta (mime_types.cpp): mod_mime's reading
// of a file name's extensions into Content-Type (with charset),
// Content-Encoding and Content-Language.
#include <gtest/gtest.h>

#include "handlers/mime_types.h"

using namespace pillar;
using handlers::content_meta;

namespace {

struct Fixture {
  config::VirtualHost vh;
  handlers::MimeTypes mime;  // the built-in table: html -> text/html, ...
};

TEST(ContentMeta, EveryExtensionCountsTypeRightmostEncodingsAccumulate) {
  Fixture f;
  f.vh.add_encodings[".gz"] = "x-gzip";
  f.vh.add_types[".gz"] = "";  // RemoveType .gz, else the table's application/gzip is the rightmost type
  f.vh.add_languages[".en"] = "en";
  f.vh.add_languages[".de"] = "de";
  auto m = content_meta("welcome.html.en.de.gz", f.vh, f.mime);
  EXPECT_EQ(m.type, "text/html");
  EXPECT_EQ(m.encoding, "x-gzip");
  EXPECT_EQ(m.language, "en, de");
  EXPECT_EQ(content_meta("welcome.en.html", f.vh, f.mime).language, "en");
}

TEST(ContentMeta, RemoveTypeHidesTypesConfigToo) {
  Fixture f;
  f.mime.add("gz", "application/gzip");
  f.vh.add_encodings[".gz"] = "gzip";
  EXPECT_EQ(content_meta("a.html.gz", f.vh, f.mime).type, "application/gzip");  // rightmost type wins
  f.vh.add_types[".gz"] = "";  // RemoveType .gz
  auto m = content_meta("a.html.gz", f.vh, f.mime);
  EXPECT_EQ(m.type, "text/html");
  EXPECT_EQ(m.encoding, "gzip");
}

TEST(ContentMeta, CharsetFromAddCharsetThenAddDefaultCharsetForTextOnly) {
  Fixture f;
  f.vh.default_charset = "UTF-8";
  EXPECT_EQ(content_meta("index.html", f.vh, f.mime).type, "text/html; charset=UTF-8");
  EXPECT_EQ(content_meta("style.css", f.vh, f.mime).type, "text/css");
  f.vh.add_charsets[".koi8-r"] = "KOI8-R";
  EXPECT_EQ(content_meta("page.html.koi8-r", f.vh, f.mime).type, "text/html; charset=KOI8-R");
  f.vh.add_types[".txt"] = "text/plain; charset=us-ascii";
  EXPECT_EQ(content_meta("a.txt", f.vh, f.mime).type, "text/plain; charset=us-ascii");
}

TEST(ContentMeta, DefaultLanguageWhenNoExtensionNamesOne) {
  Fixture f;
  f.vh.default_language = "fr";
  EXPECT_EQ(content_meta("a.html", f.vh, f.mime).language, "fr");
  EXPECT_EQ(content_meta("noext", f.vh, f.mime).type, "");
}

TEST(ContentMeta, ForceTypeReplacesTypeAndAddCharsetNotDefaultCharset) {
  Fixture f;
  f.vh.add_charsets[".utf8"] = "UTF-8";
  std::string forced = "image/png";
  EXPECT_EQ(content_meta("a.html.utf8", f.vh, f.mime, &forced).type, "image/png");
  forced = "text/plain";
  f.vh.default_charset = "iso-8859-1";
  EXPECT_EQ(content_meta("a.html.utf8", f.vh, f.mime, &forced).type, "text/plain; charset=iso-8859-1");
  std::string none;  // ForceType None
  EXPECT_EQ(content_meta("a.html.utf8", f.vh, f.mime, &none).type, "text/html; charset=UTF-8");
}

}  // namespace

// Unit tests for src/http/uri.cpp: normalize_path, html_escape, url_escape_path.
#include "http/uri.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

using namespace std::string_view_literals;
using pillar::http::html_escape;
using pillar::http::normalize_path;
using pillar::http::url_escape_path;

namespace {

struct PathCase {
  std::string_view raw;
  std::string_view expected;
};

std::string show(std::string_view s) {
  std::string r;
  for (char c : s) {
    if (c == '\0') r += "\\0";
    else r += c;
  }
  return r;
}

TEST(NormalizePath, AcceptedPaths) {
  const PathCase cases[] = {
      {"/", "/"},
      {"/index.html", "/index.html"},
      {"/a/b/c", "/a/b/c"},
      {"/a/b/", "/a/b/"},            // trailing slash kept
      {"//", "/"},
      {"//a", "/a"},
      {"/a//b", "/a/b"},             // "//" collapsed
      {"/a///b//", "/a/b/"},
      {"/./", "/"},
      {"/.", "/"},
      {"/a/./b", "/a/b"},
      {"/a/.", "/a/"},               // RFC 3986 §5.2.4: "/a/." -> "/a/"
      {"/a/b/..", "/a/"},
      {"/a/b/../", "/a/"},
      {"/a/b/../c", "/a/c"},
      {"/a/../b", "/b"},
      {"/a/..", "/"},
      {"/a/b/../../c", "/c"},
      {"/a/./../b/./c/.", "/b/c/"},
      {"/a/b/c/../../../d", "/d"},
      {"/...", "/..."},              // not a dot segment
      {"/..a/a..", "/..a/a.."},
      {"/.hidden", "/.hidden"},
      {"/a.b/c.d", "/a.b/c.d"},
      {"/%41%62c", "/Abc"},
      {"/a%20b", "/a b"},
      {"/%7e%7E", "/~~"},
      {"/caf%C3%A9", "/caf\xC3\xA9"},
      {"/%2e", "/"},                 // encoded dot segments are dot segments
      {"/a/%2e/b", "/a/b"},
      {"/a/%2E%2e/b", "/b"},
      {"/a/.%2e/b", "/b"},
      {"/a/%2e./b", "/b"},
      {"/a/%2e%2e", "/"},
      {"/%2e%2e%2e", "/..."},
      {"/%25", "/%"},                // decoded once only
      {"/%252e%252e/x", "/%2e%2e/x"},
      {"/a%3Fb", "/a?b"},
      {"/a%23b", "/a#b"},
      {"/a%5cb", "/a\\b"},           // backslash is not a separator
      {"/a;b=c/d", "/a;b=c/d"},
  };
  for (const PathCase& c : cases) {
    std::string out = "garbage";
    int status = 0;
    EXPECT_TRUE(normalize_path(c.raw, out, status)) << show(c.raw) << " status " << status;
    EXPECT_EQ(out, c.expected) << "raw: " << show(c.raw);
  }
}

TEST(NormalizePath, RefusedPaths) {
  struct Bad {
    std::string_view raw;
    int status;
  };
  const Bad cases[] = {
      {"", 400},
      {"a/b", 400},                // not starting with '/'
      {"*", 400},
      {"http://x/", 400},
      {"/..", 400},                // above the root
      {"/../", 400},
      {"/../a", 400},
      {"/a/../..", 400},
      {"/a/../../b", 400},
      {"/a/b/../../..", 400},
      {"/./..", 400},
      {"//..", 400},
      {"/%2e%2e", 400},            // encoded, still above the root
      {"/%2E%2E/etc/passwd", 400},
      {"/a/%2e%2e/%2e%2e/x", 400},
      {"/.%2e/", 400},
      {"/a%2fb", 404},             // encoded slash (AllowEncodedSlashes Off)
      {"/a%2Fb", 404},
      {"/%2f", 404},
      {"/..%2f..%2fetc", 404},
      {"/a%00b", 400},             // NUL
      {"/a\0b"sv, 400},
      {"/%00", 400},
      {"/%", 400},                 // bad escapes
      {"/a%", 400},
      {"/a%2", 400},
      {"/a%2/b", 400},             // escape cut short by a '/'
      {"/%zz", 400},
      {"/%g0", 400},
      {"/%0g", 400},
      {"/%-1", 400},
      {"/% 1", 400},
  };
  for (const Bad& c : cases) {
    std::string out;
    int status = 0;
    EXPECT_FALSE(normalize_path(c.raw, out, status)) << "raw: " << show(c.raw) << " gave " << out;
    EXPECT_EQ(status, c.status) << "raw: " << show(c.raw);
  }
}

TEST(NormalizePath, OutIsClearedAndReusable) {
  std::string out = "previous contents";
  int status = 0;
  ASSERT_TRUE(normalize_path("/x", out, status));
  EXPECT_EQ(out, "/x");
  ASSERT_TRUE(normalize_path("/a/b/c/d/e", out, status));
  ASSERT_TRUE(normalize_path("/y", out, status));
  EXPECT_EQ(out, "/y");
}

TEST(NormalizePath, ResultNeverClimbsAndIsIdempotent) {
  // Generated paths over a small alphabet: whatever is accepted starts with
  // '/', has no "." or ".." segment and no "//", and normalizes to itself.
  const std::string_view parts[] = {"a", ".", "..", "%2e", "%2E%2e", "", "b.c"};
  std::string raw;
  for (int n = 0; n < 7 * 7 * 7 * 7; ++n) {
    raw = "";
    int k = n;
    for (int i = 0; i < 4; ++i, k /= 7) {
      raw += "/";
      raw += parts[k % 7];
    }
    std::string out;
    int status = 0;
    if (!normalize_path(raw, out, status)) {
      EXPECT_EQ(status, 400) << raw;
      continue;
    }
    ASSERT_FALSE(out.empty()) << raw;
    EXPECT_EQ(out.front(), '/') << raw;
    EXPECT_EQ(out.find("//"), std::string::npos) << raw << " -> " << out;
    EXPECT_EQ(out.find("/./"), std::string::npos) << raw << " -> " << out;
    EXPECT_EQ(out.find("/../"), std::string::npos) << raw << " -> " << out;
    EXPECT_NE(out, "/..") << raw;
    std::string again;
    ASSERT_TRUE(normalize_path(out, again, status)) << out;
    EXPECT_EQ(again, out) << raw;
  }
}

TEST(HtmlEscape, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("plain text 123"), "plain text 123");
  EXPECT_EQ(html_escape("&"), "&amp;");
  EXPECT_EQ(html_escape("<"), "&lt;");
  EXPECT_EQ(html_escape(">"), "&gt;");
  EXPECT_EQ(html_escape("\""), "&quot;");
  EXPECT_EQ(html_escape("'"), "&#39;");
  EXPECT_EQ(html_escape("<script>alert('x' & \"y\")</script>"),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;");
  EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");  // not idempotent: escapes what it is given
  EXPECT_EQ(html_escape("caf\xC3\xA9 /a?b=c"), "caf\xC3\xA9 /a?b=c");
  EXPECT_EQ(html_escape("a\0b"sv), "a\0b"sv);
}

TEST(UrlEscapePath, KeepsUnreservedAndSlash) {
  EXPECT_EQ(url_escape_path(""), "");
  EXPECT_EQ(url_escape_path("/abcXYZ019-._~/"), "/abcXYZ019-._~/");
  EXPECT_EQ(url_escape_path("/dir/file.txt"), "/dir/file.txt");
}

TEST(UrlEscapePath, EscapesEverythingElseUppercaseHex) {
  EXPECT_EQ(url_escape_path("a b"), "a%20b");
  EXPECT_EQ(url_escape_path("%"), "%25");
  EXPECT_EQ(url_escape_path("?#[]@!$&'()*+,;=:"), "%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A");
  EXPECT_EQ(url_escape_path("<\">\\^`{|}"), "%3C%22%3E%5C%5E%60%7B%7C%7D");
  EXPECT_EQ(url_escape_path("caf\xC3\xA9"), "caf%C3%A9");
  EXPECT_EQ(url_escape_path("\x01\x7f\xff"), "%01%7F%FF");
  EXPECT_EQ(url_escape_path("\0"sv), "%00");
  EXPECT_EQ(url_escape_path("\r\n\t"), "%0D%0A%09");
}

TEST(UrlEscapePath, RoundTripsThroughNormalizePath) {
  // A normalized path, escaped, normalizes back to itself (the slash is kept
  // literal, so no encoded-slash refusal).
  for (std::string_view p : {"/a b/c%d/\xC3\xA9t\xC3\xA9/", "/x?y#z", "/100% & more", "/a/b.c"}) {
    std::string out;
    int status = 0;
    ASSERT_TRUE(normalize_path(url_escape_path(p), out, status)) << p;
    EXPECT_EQ(out, p);
  }
}

}  // namespace

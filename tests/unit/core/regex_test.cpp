// Unit tests for core::Regex (src/core/regex.cpp): PCRE2 syntax, captures,
// flags, errors, and the match limit on a catastrophic pattern.
#include "core/regex.h"

#include <gtest/gtest.h>

using pillar::core::Regex;

TEST(Regex, MatchesUnanchoredWithCaptures) {
  Regex r;
  ASSERT_EQ(r.compile(R"(^/(.*\.php(/.*)?)$)"), "");
  EXPECT_EQ(r.capture_count(), 2u);
  std::vector<std::string_view> g;
  ASSERT_TRUE(r.match("/blog/index.php/2024/post", &g));
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[1], "blog/index.php/2024/post");
  EXPECT_EQ(g[2], "/2024/post");
  ASSERT_TRUE(r.match("/index.php", &g));
  EXPECT_EQ(g[2], "") << "an unset group is empty";
  EXPECT_FALSE(r.match("/index.phps"));
  Regex u;
  ASSERT_EQ(u.compile(R"(\.php$)"), "");
  EXPECT_TRUE(u.match("a/b/x.php"));
  EXPECT_FALSE(u.match("x.PHP"));
}

TEST(Regex, IgnoreCase) {
  Regex r;
  ASSERT_EQ(r.compile(R"(\.php$)", Regex::kIgnoreCase), "");
  EXPECT_TRUE(r.match("INDEX.PHP"));
}

TEST(Regex, CompileErrorSaysWhere) {
  Regex r;
  std::string e = r.compile("(unclosed");
  EXPECT_NE(e.find("offset"), std::string::npos) << e;
  EXPECT_FALSE(r.valid());
  EXPECT_FALSE(r.match("unclosed"));
}

TEST(Regex, MatchLimitStopsCatastrophicBacktracking) {
  Regex r;
  ASSERT_EQ(r.compile("^(a+)+$"), "");
  std::string s(40, 'a');
  EXPECT_TRUE(r.match(s));
  s.push_back('!');
  EXPECT_FALSE(r.match(s));  // would take 2^40 steps without the limit
}

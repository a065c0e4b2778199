// core::Regex: PCRE2 syntax, captures, caseless, compile errors for config
// messages, and the match limit that keeps a catastrophic pattern bounded.
#include "core/regex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

using pillar::core::Regex;

TEST(Regex, MatchesAndCaptures) {
  Regex r;
  ASSERT_EQ(r.compile("^/blog/(\\d+)/(.*)$"), "");
  EXPECT_EQ(r.group_count(), 2);
  Regex::Captures c;
  ASSERT_EQ(r.match("/blog/42/hello-world", &c), Regex::Result::Match);
  EXPECT_EQ(c[0], "/blog/42/hello-world");
  EXPECT_EQ(c[1], "42");
  EXPECT_EQ(c[2], "hello-world");
  EXPECT_EQ(c.count, 3);
  EXPECT_EQ(r.match("/blog/x/y", &c), Regex::Result::NoMatch);
}

TEST(Regex, SearchIsUnanchored) {
  Regex r;
  ASSERT_EQ(r.compile("\\.php"), "");
  EXPECT_EQ(r.match("/a/index.php?x"), Regex::Result::Match);
  EXPECT_EQ(r.match("/a/index.html"), Regex::Result::NoMatch);
}

TEST(Regex, Caseless) {
  Regex plain, nc;
  ASSERT_EQ(plain.compile("^/Admin"), "");
  ASSERT_EQ(nc.compile("^/Admin", Regex::kCaseless), "");
  EXPECT_EQ(plain.match("/ADMIN/x"), Regex::Result::NoMatch);
  EXPECT_EQ(nc.match("/ADMIN/x"), Regex::Result::Match);
}

TEST(Regex, UnsetGroupIsEmpty) {
  Regex r;
  ASSERT_EQ(r.compile("^(a)|(b)$"), "");
  Regex::Captures c;
  ASSERT_EQ(r.match("b", &c), Regex::Result::Match);
  EXPECT_FALSE(c.set[1]);
  EXPECT_EQ(c[1], "");
  EXPECT_TRUE(c.set[2]);
  EXPECT_EQ(c[2], "b");
}

TEST(Regex, CompileErrorSaysWhatAndWhere) {
  Regex r;
  std::string err = r.compile("^(abc");
  EXPECT_NE(err.find("parenthesis"), std::string::npos) << err;
  EXPECT_NE(err.find("offset"), std::string::npos) << err;
  EXPECT_FALSE(r.valid());
  EXPECT_EQ(r.match("abc"), Regex::Result::Error);
}

TEST(Regex, CatastrophicPatternEndsWithError) {
  Regex r;
  ASSERT_EQ(r.compile("^(a+)+$"), "");
  std::string subject(40, 'a');
  subject.push_back('!');
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(r.match(subject), Regex::Result::Error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(r.match("aaaa"), Regex::Result::Match);  // the thread's state is fine afterwards
}

TEST(Regex, MovedRegexKeepsItsCode) {
  Regex a;
  ASSERT_EQ(a.compile("x(y)"), "");
  Regex b = std::move(a);
  EXPECT_FALSE(a.valid());
  Regex::Captures c;
  ASSERT_EQ(b.match("axyz", &c), Regex::Result::Match);
  EXPECT_EQ(c[1], "y");
}

}  // namespace

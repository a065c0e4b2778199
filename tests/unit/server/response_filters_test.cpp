// ResponseFilters: filters stack innermost first between an exchange and
// the carrier's sink, the base is used when there are none, and a cleared
// stack (the next request) writes to the base again.
#include "server/request/response_filters.h"

#include "scripted_client.h"

#include <gtest/gtest.h>

namespace pillar::server {
namespace {

// Wraps each body piece in its tag, so the order of the stack shows.
class TagFilter final : public http::SinkFilter {
 public:
  explicit TagFilter(char tag) : tag_(tag) {}
  void body(std::string_view data) override {
    std::string s(1, tag_);
    s.append(data);
    s.push_back(tag_);
    next().body(s);
  }
  bool can_pass_through() const override { return false; }

 private:
  char tag_;
};

TEST(ResponseFilters, NoFilterIsTheBaseSink) {
  test_support::ScriptedSink base;
  ResponseFilters f;
  EXPECT_EQ(&f.top(base), &base);
  f.top(base).body("x");
  EXPECT_EQ(base.out, "x");
}

TEST(ResponseFilters, TheFirstPushedWritesIntoTheBase) {
  test_support::ScriptedSink base;
  ResponseFilters f;
  f.push(std::make_unique<TagFilter>('i'));
  f.push(std::make_unique<TagFilter>('o'));
  http::ResponseSink& top = f.top(base);
  EXPECT_NE(&top, &base);
  top.body("x");
  EXPECT_EQ(base.out, "ioxoi");
  EXPECT_FALSE(top.can_pass_through());
  top.begin_head(200) += "A: b\r\n";  // forwarded unchanged
  EXPECT_NE(base.out.find("HTTP/1.1 200\r\nA: b\r\n"), std::string::npos);
}

TEST(ResponseFilters, AClearedStackWritesIntoTheBaseAgain) {
  test_support::ScriptedSink base, other;
  ResponseFilters f;
  f.push(std::make_unique<TagFilter>('t'));
  f.top(base).body("1");
  f.clear();
  EXPECT_EQ(&f.top(base), &base);
  f.push(std::make_unique<TagFilter>('u'));
  f.top(other).body("2");  // attached afresh, to the sink asked for
  EXPECT_EQ(base.out, "t1t");
  EXPECT_EQ(other.out, "u2u");
}

}  // namespace
}  // namespace pillar::server

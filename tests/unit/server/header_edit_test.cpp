// mod_headers' edit engine (server/metadata/header_edit.cpp): each action
// over response fields and request fields, formats, conditions and the two
// tables, against what Apache 2.4 does for the same lines.
#include "server/metadata/header_edit.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace pillar::server::metadata {
namespace {

using config::HeaderAction;

std::vector<HeaderAction> actions(const std::string& lines) {
  config::LoadOptions o;
  o.server_root = "/tmp";
  auto r = config::load_config_text("Listen 127.0.0.1:0\n" + lines, "t.conf", o);
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.ok() ? r.config->main_server.meta.headers : std::vector<HeaderAction>{};
}

class FakeSource final : public FormatSource {
 public:
  http::RequestEnv vars;
  const http::RequestEnv& env() const override { return vars; }
  uint64_t request_time_us() const override { return 1796644046081490; }
  uint64_t duration_us() const override { return 295; }
  std::string load() const override { return "0.50/0.25/0.10"; }
  int idle_percent() const override { return 98; }
  int busy_percent() const override { return 2; }
  std::string ssl_var(std::string_view n) const override { return n == "SSL_PROTOCOL" ? "TLSv1.3" : ""; }
};

std::string block(const std::vector<ResponseField>& fs) {
  std::string s;
  for (const auto& f : fs) s += f.name + ": " + f.value + "\n";
  return s;
}

// Runs every line over `fields` (their condition included).
void run(const std::string& lines, std::vector<ResponseField>& fields, FakeSource& src,
         std::span<const http::HeaderField> request = {}) {
  http::RequestEnv notes;
  for (const auto& a : actions(lines)) {
    if (condition_holds(a, src.vars)) apply_response_action(a, fields, request, src, notes);
  }
}

std::vector<ResponseField> head(const std::string& text) {
  std::vector<ResponseField> f;
  EXPECT_TRUE(parse_fields(text, FieldTable::OnSuccess, f));
  return f;
}

TEST(HeaderEdit, SetReplacesEveryFieldOfTheNameInTheFirstsPlace) {
  FakeSource src;
  auto f = head("A: 1\r\nX: old\r\nB: 2\r\nx: older\r\n");
  run("Header set X new\n", f, src);
  EXPECT_EQ(block(f), "A: 1\nX: new\nB: 2\n");
}

TEST(HeaderEdit, AddAppendMergeSetIfEmpty) {
  FakeSource src;
  auto f = head("Cache-Control: no-cache\r\nVary: Accept\r\n");
  run("Header add Vary Cookie\nHeader append Cache-Control private\nHeader merge Cache-Control private\n"
      "Header merge Cache-Control \"no-store\"\nHeader merge X-New a\nHeader setifempty Vary x\nHeader setifempty Y y\n",
      f, src);
  EXPECT_EQ(block(f), "Cache-Control: no-cache, private, no-store\nVary: Accept\nVary: Cookie\nX-New: a\nY: y\n");
}

TEST(HeaderEdit, MergeComparesWholeTokensQuotesKept) {
  FakeSource src;
  auto f = head("T: a, \"b, c\" , d\r\n");
  run("Header merge T d\nHeader merge T c\nHeader merge T \"b\"\nHeader merge T a\n", f, src);
  // "c" is inside a quoted token, "b" only quoted: both new; "d" and "a" are there.
  EXPECT_EQ(block(f), "T: a, \"b, c\" , d, c, b\n");
}

TEST(HeaderEdit, UnsetEchoNote) {
  FakeSource src;
  auto f = head("X-Powered-By: PHP\r\nKeep: 1\r\nx-powered-by: again\r\n");
  std::vector<http::HeaderField> req{{"X-Req-One", "1"}, {"Cookie", "a=b"}, {"X-Req-Two", "2"}};
  http::RequestEnv notes;
  for (const auto& a : actions("Header unset X-Powered-By\nHeader echo ^X-Req\nHeader note Keep kept\n"))
    apply_response_action(a, f, req, src, notes);
  EXPECT_EQ(block(f), "Keep: 1\nX-Req-One: 1\nX-Req-Two: 2\n");
  EXPECT_EQ(notes.get("kept"), "1");
}

TEST(HeaderEdit, EditOnceOrEveryMatchWithBackReferences) {
  FakeSource src;
  auto f = head("Location: http://a.example/http://x\r\nSet-Cookie: a=1; path=/; path=/x\r\n");
  run("Header edit Location ^http://([^/]+) https://$1\nHeader edit* Set-Cookie \"path=([^;]*)\" \"Path=/app$1\"\n"
      "Header edit Absent x y\n",
      f, src);
  EXPECT_EQ(block(f), "Location: https://a.example/http://x\nSet-Cookie: a=1; Path=/app/; Path=/app/x\n");
}

TEST(HeaderEdit, EditStarOnEmptyMatchesEnds) {
  FakeSource src;
  auto f = head("X: abc\r\n");
  run("Header edit* X \"b*\" -\n", f, src);
  EXPECT_EQ(block(f), "X: -a--c-\n");
}

TEST(HeaderEdit, FormatSpecifiers) {
  FakeSource src;
  src.vars.set("ROUTE", "n1");
  auto f = head("");
  run("Header set X \"%t %D %l %i %b %{ROUTE}e %{NOPE}e %{SSL_PROTOCOL}s %{SSL_CIPHER}s 100%%\"\n", f, src);
  EXPECT_EQ(block(f), "X: t=1796644046081490 D=295 l=0.50/0.25/0.10 i=98 b=2 n1 (null) TLSv1.3 (null) 100%\n");
}

TEST(HeaderEdit, EnvConditions) {
  FakeSource src;
  src.vars.set("BALANCER_ROUTE_CHANGED", "1");
  src.vars.set("BALANCER_WORKER_ROUTE", "n2");
  auto f = head("");
  run("Header add Set-Cookie \"ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/\" env=BALANCER_ROUTE_CHANGED\n"
      "Header set Not-Changed 1 env=!BALANCER_ROUTE_CHANGED\nHeader set Any-Case 1 env=balancer_route_changed\n",
      f, src);
  EXPECT_EQ(block(f), "Set-Cookie: ROUTEID=.n2; path=/\nAny-Case: 1\n");
}

// A Header line sees its own table's fields; Content-Type both; Date none.
TEST(HeaderEdit, TablesSeparateOnSuccessFromAlways) {
  FakeSource src;
  std::vector<ResponseField> f;
  ASSERT_TRUE(parse_fields("Date: x\r\nContent-Type: text/html\r\nX-App: 1\r\n", FieldTable::Always, f));
  f.push_back({"X-Member", "1", FieldTable::OnSuccess});
  EXPECT_EQ(f[0].table, FieldTable::None);
  EXPECT_EQ(f[1].table, FieldTable::Both);
  run("Header unset X-App\nHeader always unset X-Member\nHeader unset Date\nHeader always unset Date\n"
      "Header always set Content-Type text/plain\n",
      f, src);
  EXPECT_EQ(block(f), "Date: x\nContent-Type: text/plain\nX-App: 1\nX-Member: 1\n");
  run("Header always unset X-App\nHeader unset X-Member\nHeader set X-App again\n", f, src);
  EXPECT_EQ(block(f), "Date: x\nContent-Type: text/plain\nX-App: again\n");
  EXPECT_EQ(f.back().table, FieldTable::OnSuccess);
}

TEST(HeaderEdit, RequestHeaderActionsKeepTheirValues) {
  FakeSource src;
  std::string buffer = "X-Req-Two: z";  // the views of a parsed head point into a buffer like this
  std::vector<http::HeaderField> fields{{std::string_view(buffer).substr(0, 9), std::string_view(buffer).substr(11)},
                                        {"Drop", "1"}};
  std::deque<std::string> storage;
  http::RequestEnv notes;
  // The actions outlive the fields, as the configuration outlives a request:
  // a field added by name keeps a view of the action's name.
  const auto acts = actions("RequestHeader set X-Req-One \"one %D\"\nRequestHeader append X-Req-Two a\n"
                            "RequestHeader merge X-Req-Two a\nRequestHeader merge X-Req-Two b\nRequestHeader unset Drop\n"
                            "RequestHeader edit X-Req-Two ^z Z\nRequestHeader setifempty X-Req-One ignored\n");
  for (const auto& a : acts) apply_request_action(a, fields, storage, src, notes);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].name, "X-Req-Two");
  EXPECT_EQ(fields[0].value, "Z, a, b");
  EXPECT_EQ(fields[1].name, "X-Req-One");
  EXPECT_EQ(fields[1].value, "one D=295");
  EXPECT_EQ(buffer, "X-Req-Two: z");  // the received bytes are not written over
}

}  // namespace
}  // namespace pillar::server::metadata

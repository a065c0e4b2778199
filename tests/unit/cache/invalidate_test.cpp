// Unit tests for invalidation after unsafe requests (src/cache/invalidate.cpp),
// written from RFC 9111 §4.4, RFC 9110 §9.2.1 (safe methods) and §4.3.1
// (origins), and RFC 3986 §5.2 / §5.4 (resolving Location and
// Content-Location against the target URI).
#include "cache/invalidate.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cache/policy.h"
#include "heads.h"

using pillar::cache::invalidation_keys;
using pillar::cache::primary_key;
using pillar::cache::unsafe_method;
using namespace cache_test;

namespace {

using Keys = std::vector<std::string>;

Keys keys(std::string_view method, std::string_view target, int status, std::string_view resp_fields = "",
          std::string_view scheme = "http") {
  Req req("", method, target);
  Resp resp(resp_fields, status);
  return invalidation_keys(req.head, scheme, resp.head);
}

std::string key(std::string_view target) { return primary_key("example.com", target); }

TEST(Invalidation, UnsafeMethodWithSuccessInvalidatesTheTargetUri) {
  EXPECT_EQ(keys("POST", "/a?x=1", 200), Keys{key("/a?x=1")});
  EXPECT_EQ(keys("PUT", "/a", 201), Keys{key("/a")});
  EXPECT_EQ(keys("DELETE", "/a", 204), Keys{key("/a")});
  EXPECT_EQ(keys("PATCH", "/a", 200), Keys{key("/a")});
  EXPECT_EQ(keys("POST", "/a", 303), Keys{key("/a")});  // 3xx is a non-error response
}

TEST(Invalidation, MethodsOfUnknownSafetyInvalidate) {
  EXPECT_EQ(keys("M-SEARCH", "/a", 200), Keys{key("/a")});
  EXPECT_TRUE(unsafe_method(pillar::http::Method::Other));
}

TEST(Invalidation, SafeMethodsInvalidateNothing) {
  for (std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE"}) EXPECT_TRUE(keys(m, "/a", 200).empty()) << m;
}

TEST(Invalidation, ErrorResponsesInvalidateNothing) {
  for (int status : {400, 403, 404, 409, 500, 502, 503})
    EXPECT_TRUE(keys("POST", "/a", status, "Location: /b\r\n").empty()) << status;
  EXPECT_TRUE(keys("POST", "/a", 100).empty());  // an interim response is no response yet
}

TEST(Invalidation, ConnectNamesNoStoredUri) {
  Req req("", "CONNECT", "example.com:443");
  Resp resp("", 200);
  EXPECT_TRUE(invalidation_keys(req.head, "http", resp.head).empty());
}

struct RefCase {
  const char* name;
  const char* field;  // "Location: ..." or "Content-Location: ..."
  const char* want;   // target of the second key, "" when only the target URI is invalidated
};
void PrintTo(const RefCase& c, std::ostream* os) { *os << c.name; }

class InvalidationReference : public ::testing::TestWithParam<RefCase> {};

// Request: POST http://example.com/dir/a?x=1 answered 201.
TEST_P(InvalidationReference, SameOriginOnly) {
  const RefCase& c = GetParam();
  Keys got = keys("POST", "/dir/a?x=1", 201, std::string(c.field) + "\r\n");
  Keys want{key("/dir/a?x=1")};
  if (*c.want) want.push_back(key(c.want));
  EXPECT_EQ(got, want) << c.field;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc3986, InvalidationReference,
    ::testing::Values(
        RefCase{"AbsolutePath", "Location: /b", "/b"}, RefCase{"RelativePath", "Location: c", "/dir/c"},
        RefCase{"DotDot", "Location: ../c/./d", "/c/d"}, RefCase{"DotDotAboveRoot", "Location: ../../../e", "/e"},
        RefCase{"QueryOnly", "Location: ?y=2", "/dir/a?y=2"}, RefCase{"FragmentDropped", "Location: /g#top", "/g"},
        RefCase{"EmptyReferenceIsTheTarget", "Location: #top", ""},
        RefCase{"AbsoluteSameOrigin", "Location: http://example.com/h", "/h"},
        RefCase{"CaseAndDefaultPort", "Location: HTTP://EXAMPLE.COM:80/i", "/i"},
        RefCase{"EmptyPort", "Location: http://example.com:/j", "/j"},
        RefCase{"TrailingDotHost", "Location: http://example.com./k", "/k"},
        RefCase{"AuthorityOnly", "Location: http://example.com", "/"},
        RefCase{"NetworkPathSameHost", "Location: //example.com/l", "/l"},
        RefCase{"ContentLocation", "Content-Location: /m.json", "/m.json"},
        RefCase{"OtherScheme", "Location: https://example.com/n", ""},
        RefCase{"OtherPort", "Location: http://example.com:8080/o", ""},
        RefCase{"OtherHost", "Location: http://evil.example/p", ""},
        RefCase{"NetworkPathOtherHost", "Location: //evil.example/q", ""},
        RefCase{"NotHttp", "Location: mailto:a@example.com", ""},
        RefCase{"BlankInside", "Location: /a b", ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Invalidation, LocationAndContentLocationBothCountOnceEach) {
  Keys got = keys("POST", "/a", 201, "Location: /b\r\nContent-Location: /b\r\nContent-Location: /a\r\n");
  EXPECT_EQ(got, (Keys{key("/a"), key("/b")}));
}

TEST(Invalidation, OriginComesFromSchemeAndPortOfTheRequest) {
  // https: port 443 is the default; 80 is another origin.
  EXPECT_EQ(keys("POST", "/a", 200, "Location: https://example.com:443/b\r\n", "https"), (Keys{key("/a"), key("/b")}));
  EXPECT_EQ(keys("POST", "/a", 200, "Location: http://example.com/b\r\n", "https"), Keys{key("/a")});
  // An absolute-form target with a port: the port is part of the origin, not of the key.
  EXPECT_EQ(keys("POST", "http://example.com:8080/a", 200, "Location: http://example.com:8080/b\r\n"),
            (Keys{key("/a"), key("/b")}));
  EXPECT_EQ(keys("POST", "http://example.com:8080/a", 200, "Location: http://example.com/b\r\n"), Keys{key("/a")});
}

}  // namespace

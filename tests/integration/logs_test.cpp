// Access logs (CustomLog / LogFormat) and the error log.
#include <regex>
#include <set>
#include <sstream>

#include "test_common.h"

namespace itest {
namespace {

class Logs : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::string logdir = tree.mkdir("logs");

  void SetUp() override { tree.write("www/a.txt", "AAAA\n"); }

  // Lines of the log file once it has at least `n` lines (waits up to 3 s; the
  // writer thread flushes every 100 ms).
  std::vector<std::string> wait_lines(const std::string& rel, size_t n) {
    std::vector<std::string> lines;
    eventually(
        [&] {
          lines.clear();
          std::istringstream in(tree.read(rel));
          for (std::string l; std::getline(in, l);) lines.push_back(l);
          return lines.size() >= n;
        },
        3s);
    return lines;
  }
};

TEST_F(Logs, CustomLogCommonFormat) {
  START_SERVER(srv, basic_config(docroot, "CustomLog \"" + logdir + "/access.log\" common\n"));
  ASSERT_EQ(curl_get(srv.base_url() + "/a.txt").status, 200);
  auto lines = wait_lines("logs/access.log", 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET /a\.txt HTTP/1\.1" 200 5)")))
      << lines[0];
}

TEST_F(Logs, CommonFormatDashForEmptyBody) {
  START_SERVER(srv, basic_config(docroot, "CustomLog \"" + logdir + "/access.log\" common\n"));
  std::string etag = curl_get(srv.base_url() + "/a.txt").header("ETag");
  ASSERT_EQ(curl_get(srv.base_url() + "/a.txt", {"If-None-Match: " + etag}).status, 304);
  auto lines = wait_lines("logs/access.log", 2);
  ASSERT_EQ(lines.size(), 2u);
  // The two requests may be served by different worker processes, whose
  // buffered log writers need not flush in request order.
  const std::string tail = "\" 304 -";
  int found = 0;
  for (const auto& l : lines) found += l.size() > tail.size() && l.substr(l.size() - tail.size()) == tail;
  EXPECT_EQ(found, 1) << lines[0] << "\n" << lines[1];
}

TEST_F(Logs, LogsErrorsAndRawRequestLine) {
  START_SERVER(srv, basic_config(docroot, "CustomLog \"" + logdir + "/access.log\" common\n"));
  EXPECT_EQ(curl_get(srv.base_url() + "/missing?q=1").status, 404);
  auto lines = wait_lines("logs/access.log", 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"GET /missing?q=1 HTTP/1.1\" 404 "), std::string::npos) << lines[0];
}

TEST_F(Logs, LogFormatNicknameAndCombined) {
  START_SERVER(srv, basic_config(docroot,
                                 "LogFormat \"%h %>s %U %b\" short\n"
                                 "CustomLog \"" + logdir + "/short.log\" short\n"
                                 "CustomLog \"" + logdir + "/combined.log\" combined\n"));
  ASSERT_EQ(curl_get(srv.base_url() + "/a.txt", {"Referer: http://ref.example/", "User-Agent: itest/1.0"}).status, 200);
  auto s = wait_lines("logs/short.log", 1);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], "127.0.0.1 200 /a.txt 5");
  auto c = wait_lines("logs/combined.log", 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(std::regex_match(c[0], std::regex(R"(127\.0\.0\.1 - - \[[^\]]+\] "GET /a\.txt HTTP/1\.1" 200 5 "http://ref\.example/" "itest/1\.0")")))
      << c[0];
}

// A body over LimitRequestBody is refused from the parsed head: its line
// keeps the head's fields (a regression: the head was cleared before logging).
TEST_F(Logs, RefusedBodyLineKeepsRefererAndUserAgent) {
  START_SERVER(srv, basic_config(docroot, "LimitRequestBody 10\n"
                                          "CustomLog \"" + logdir + "/combined.log\" combined\n"));
  auto r = raw_exchange(srv.port(), "POST /a.txt HTTP/1.1\r\nHost: localhost\r\nReferer: http://ref.example/form\r\n"
                                    "User-Agent: itest-upload/2.0\r\nContent-Length: 100\r\nConnection: close\r\n\r\n");
  ASSERT_FALSE(r.responses.empty()) << r.data;
  ASSERT_EQ(r.first().status, 413) << r.data;
  auto c = wait_lines("logs/combined.log", 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(std::regex_match(
      c[0], std::regex(R"(127\.0\.0\.1 - - \[[^\]]+\] "POST /a\.txt HTTP/1\.1" 413 \d+ "http://ref\.example/form" "itest-upload/2\.0")")))
      << c[0];
}

TEST_F(Logs, InlineFormatWithHeadersAndMethod) {
  START_SERVER(srv, basic_config(docroot, "CustomLog \"" + logdir + "/x.log\" \"%m %q %{X-Test}i %{Content-Type}o\"\n"));
  ASSERT_EQ(curl_get(srv.base_url() + "/a.txt?k=v", {"X-Test: hello"}).status, 200);
  auto l = wait_lines("logs/x.log", 1);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0], "GET ?k=v hello text/plain");
}

TEST_F(Logs, OneLinePerRequestInOrder) {
  START_SERVER(srv, basic_config(docroot, "LogFormat \"%U %>s\" mini\nCustomLog \"" + logdir + "/m.log\" mini\n"));
  RawConnection c(srv.port());
  c.send("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  c.read_until_close(5s);
  auto l = wait_lines("logs/m.log", 3);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0], "/a.txt 200");
  EXPECT_EQ(l[1], "/b 404");
  EXPECT_EQ(l[2], "/a.txt 200");
}

TEST_F(Logs, MalformedRequestIsLoggedAs400) {
  START_SERVER(srv, basic_config(docroot, "CustomLog \"" + logdir + "/access.log\" \"%>s\"\n"));
  raw_exchange(srv.port(), "GET /a.txt HTTP/1.1\r\nHost : x\r\n\r\n");
  auto l = wait_lines("logs/access.log", 1);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0], "400");
}

TEST_F(Logs, VhostCustomLogReplacesServerLog) {
  std::string vroot = tree.mkdir("v");
  tree.write("v/v.txt", "v");
  START_SERVER(srv, basic_config(docroot,
                                 "CustomLog \"" + logdir + "/main.log\" \"main %U\"\n"
                                 "<VirtualHost *>\n  ServerName v.example\n  DocumentRoot \"" + vroot +
                                     "\"\n  CustomLog \"" + logdir + "/v.log\" \"vhost %U\"\n</VirtualHost>\n"));
  ASSERT_EQ(curl_get(srv.base_url() + "/v.txt", {"Host: v.example"}).status, 200);
  auto l = wait_lines("logs/v.log", 1);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0], "vhost /v.txt");
  std::this_thread::sleep_for(300ms);  // give a wrong write to main.log the time to show
  EXPECT_EQ(tree.read("logs/main.log").find("/v.txt"), std::string::npos);
}

TEST_F(Logs, ErrorLogFileReceivesStartupNotice) {
  START_SERVER(srv, basic_config(docroot, "ErrorLog \"" + logdir + "/error.log\"\nLogLevel notice\n"));
  EXPECT_TRUE(eventually([&] { return tree.read("logs/error.log").find("listening") != std::string::npos; }, 3s))
      << tree.read("logs/error.log");
}

}  // namespace
}  // namespace itest

namespace itest {
namespace {

// mod_remoteip: behind a trusted proxy the client is the rightmost address
// of RemoteIPHeader that is not itself a trusted proxy (OWS around list
// items ignored); from an untrusted peer the header is ignored; a malformed
// list keeps what was found so far.
class RemoteIp : public Logs {};

TEST_F(RemoteIp, ClientIsTheRightmostUntrustedAddressOfTheHeader) {
  START_SERVER(srv, basic_config(docroot, "CustomLog \"" + logdir + "/access.log\" \"%a %{X-Case}i\"\n"
                                          "RemoteIPHeader X-Forwarded-For\nRemoteIPTrustedProxy 127.0.0.1 10.0.0.0/8\n"));
  ASSERT_EQ(curl_get(srv.base_url() + "/a.txt", {"X-Forwarded-For: 203.0.113.7 ,\t10.1.2.3 ", "X-Case: chain"}).status, 200);
  ASSERT_EQ(curl_get(srv.base_url() + "/a.txt", {"X-Forwarded-For: 198.51.100.1, 2001:db8::5", "X-Case: v6"}).status, 200);
  ASSERT_EQ(curl_get(srv.base_url() + "/a.txt", {"X-Forwarded-For: 192.0.2.9, bogus", "X-Case: bogus"}).status, 200);
  ASSERT_EQ(curl_get(srv.base_url() + "/a.txt", {"X-Case: none"}).status, 200);
  auto lines = wait_lines("logs/access.log", 4);
  ASSERT_EQ(lines.size(), 4u);
  std::set<std::string> got(lines.begin(), lines.end());
  EXPECT_TRUE(got.count("203.0.113.7 chain")) << lines[0] << "|" << lines[1] << "|" << lines[2] << "|" << lines[3];
  EXPECT_TRUE(got.count("2001:db8::5 v6"));
  EXPECT_TRUE(got.count("127.0.0.1 bogus")) << "a malformed list is not trusted past its bad item";
  EXPECT_TRUE(got.count("127.0.0.1 none"));
}

TEST_F(RemoteIp, AnUntrustedPeerCannotClaimAnAddress) {
  START_SERVER(srv, basic_config(docroot, "CustomLog \"" + logdir + "/access.log\" \"%a\"\n"
                                          "RemoteIPHeader X-Forwarded-For\nRemoteIPTrustedProxy 10.0.0.1\n"));
  ASSERT_EQ(curl_get(srv.base_url() + "/a.txt", {"X-Forwarded-For: 203.0.113.7"}).status, 200);
  auto lines = wait_lines("logs/access.log", 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "127.0.0.1");
}

}  // namespace
}  // namespace itest

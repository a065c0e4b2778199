// Protocol faults of issue 16 that the HTTP engine and proxied exchanges
// must answer cleanly: bare CR line endings, extension methods, clients that
// stop reading, graceful reloads under proxied keep-alive load and slow
// uploads to proxied URLs.
#include <signal.h>

#include <memory>
#include <string>

#include "backend.h"
#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

using Clock = std::chrono::steady_clock;

class ProxyProtocolFaults : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::unique_ptr<ServerProcess> front;

  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
  // A front proxying /app/ to `member_url`, with `extra` directives.
  void start_front(const std::string& member_url, const std::string& extra = "", int workers = 1) {
    std::string conf = "ProxyPass /app/ balancer://x/\n<Proxy balancer://x>\n  BalancerMember " + member_url +
                       "\n</Proxy>\n" + extra;
    front = std::make_unique<ServerProcess>(proxy_front_config(docroot, conf, workers));
    ASSERT_TRUE(front->ok()) << front->error();
  }
  uint16_t port() const { return front->port(); }
};

// Item 17: "GET / HTTP/1.1\r" followed by anything but LF is a bare CR (RFC
// 9112 §2.2): 400 at once and a clean close, not 408 at the header timeout.
TEST_F(ProxyProtocolFaults, BareCrLineEndingIsAnswered400AtOnce) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front(be.url(), "RequestReadTimeout header=10\n"));
  for (std::string head : {"GET / HTTP/1.1\rHost: localhost\r\r", "GET /app/x HTTP/1.1\r\nHost: localhost\rX-A: b\r\r"}) {
    RawConnection c(port());
    ASSERT_TRUE(c.connected());
    auto t0 = Clock::now();
    ASSERT_TRUE(c.send(head));
    std::string data = c.read_until_close(3s);
    auto took = Clock::now() - t0;
    std::vector<HttpResponse> rs = parse_responses(data);
    ASSERT_EQ(rs.size(), 1u) << "after " << std::chrono::duration_cast<Millis>(took).count() << " ms: " << data;
    EXPECT_EQ(rs[0].status, 400);
    EXPECT_EQ(rs[0].header("Connection"), "close");
    EXPECT_EQ(c.close_kind(), CloseKind::Eof);
    EXPECT_LT(took, 2s);
  }
  EXPECT_EQ(be.request_count(), 0u);
}

}  // namespace
}  // namespace itest

// mod_ratelimit's RATE_LIMIT on real responses: a static file, a proxied
// body and a compressed one sent at the rate-limit variable's KiB/s (timed
// from outside, the bytes compared), rate-initial-burst sent at full speed
// first, responses outside the filter's sections not paced, a client that
// leaves mid-body costing nothing, and -t naming an unknown filter.
// (HTTP/2: Http2.BandwidthLimitPacesAStream in http2_test.cpp.)
#include <chrono>

#include "backend.h"
#include "test_common.h"

namespace itest {
namespace {

using namespace std::chrono_literals;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

class Bandwidth : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::string file = pattern_bytes(200 * 1024, 3);  // 200 KiB
  void SetUp() override {
    tree.mkdir("www/slow");
    tree.write("www/slow/file.bin", file);
    tree.write("www/fast.bin", file);
    tree.write("www/slow/page.txt", std::string(300 * 1024, 'a'));  // compresses to almost nothing
  }
  // The whole body of GET `path` and how long it took.
  std::pair<RawExchange, double> timed_get(uint16_t port, const std::string& path, const std::string& headers = "") {
    auto t0 = std::chrono::steady_clock::now();
    RawExchange r = raw_get(port, path, "localhost", headers);
    return {r, seconds_since(t0)};
  }
};

// 200 KiB at 400 KiB/s: half a second, not much more and never less.
TEST_F(Bandwidth, AStaticFileIsSentAtTheRate) {
  START_SERVER(srv, basic_config(docroot, "<Location /slow>\n  SetOutputFilter RATE_LIMIT\n  SetEnv rate-limit 400\n"
                                          "</Location>\n"));
  auto [r, secs] = timed_get(srv.port(), "/slow/file.bin");
  ASSERT_EQ(r.first().status, 200);
  EXPECT_TRUE(r.first().body == file) << "the paced body is the file, " << r.first().body.size() << " bytes";
  EXPECT_GE(secs, 0.45) << "200 KiB at 400 KiB/s";
  EXPECT_LT(secs, 2.0);
  auto [fast, fast_secs] = timed_get(srv.port(), "/fast.bin");
  ASSERT_EQ(fast.first().status, 200);
  EXPECT_LT(fast_secs, 0.4) << "outside the <Location>: not paced";
}

// rate-initial-burst: the first 100 KiB at full speed, the other 100 KiB at
// 400 KiB/s: about a quarter of a second.
TEST_F(Bandwidth, TheInitialBurstGoesAtFullSpeed) {
  START_SERVER(srv, basic_config(docroot, "<Location /slow>\n  SetOutputFilter RATE_LIMIT\n  SetEnv rate-limit 400\n"
                                          "  SetEnv rate-initial-burst 100\n</Location>\n"));
  auto [r, secs] = timed_get(srv.port(), "/slow/file.bin");
  ASSERT_EQ(r.first().status, 200);
  EXPECT_TRUE(r.first().body == file);
  EXPECT_GE(secs, 0.2) << "the 100 KiB after the burst at 400 KiB/s";
  EXPECT_LT(secs, 0.45) << "the burst was not paced";
}

// Without a rate-limit variable the filter does nothing (Apache); by type
// (AddOutputFilterByType) it paces only that type.
TEST_F(Bandwidth, NoRateOrAnotherTypeIsNotPaced) {
  START_SERVER(srv, basic_config(docroot, "AddType application/x-slow .bin\n"
                                          "<Location /slow>\n  AddOutputFilterByType RATE_LIMIT text/plain\n"
                                          "  SetEnv rate-limit 400\n</Location>\n"
                                          "<Location /fast.bin>\n  SetOutputFilter RATE_LIMIT\n</Location>\n"));
  auto [bin, bin_secs] = timed_get(srv.port(), "/slow/file.bin");
  ASSERT_EQ(bin.first().status, 200);
  EXPECT_LT(bin_secs, 0.4) << "application/x-slow is not the filter's type";
  auto [txt, txt_secs] = timed_get(srv.port(), "/slow/page.txt");
  ASSERT_EQ(txt.first().status, 200);
  EXPECT_EQ(txt.first().body.size(), 300u * 1024);
  EXPECT_GE(txt_secs, 0.7) << "text/plain: 300 KiB at 400 KiB/s";
  auto [unset, unset_secs] = timed_get(srv.port(), "/fast.bin");
  ASSERT_EQ(unset.first().status, 200);
  EXPECT_LT(unset_secs, 0.4) << "no rate-limit variable";
}

// What goes on the wire is paced: gzip shrinks 300 KiB of text to about
// 1 KiB, which leaves at once even at 8 KiB/s.
TEST_F(Bandwidth, TheCompressedBytesArePaced) {
  START_SERVER(srv, basic_config(docroot, "<Location /slow>\n  SetOutputFilter RATE_LIMIT;DEFLATE\n"
                                          "  SetEnv rate-limit 8\n</Location>\n"));
  auto [r, secs] = timed_get(srv.port(), "/slow/page.txt", "Accept-Encoding: gzip\r\n");
  ASSERT_EQ(r.first().status, 200);
  EXPECT_EQ(r.first().header("Content-Encoding"), "gzip");
  EXPECT_LT(r.first().body.size(), 8u * 1024);
  EXPECT_LT(secs, 1.0) << "the compressed body is under one second's worth";
}

// A proxied body is paced as it is relayed; the member is not held up
// longer than the client's share needs (back-pressure).
TEST_F(Bandwidth, AProxiedBodyIsPaced) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  START_SERVER(srv, basic_config(docroot, "ProxyPass /app/ " + be.url() + "/\n"
                                          "<Location /app/>\n  SetOutputFilter RATE_LIMIT\n  SetEnv rate-limit 400\n"
                                          "</Location>\n"));
  auto [r, secs] = timed_get(srv.port(), "/app/big-204800");
  ASSERT_EQ(r.first().status, 200);
  EXPECT_TRUE(r.first().body == pattern_bytes(204800)) << r.first().body.size();
  EXPECT_GE(secs, 0.45);
  EXPECT_LT(secs, 2.0);
}

// A client that leaves in the middle of a paced body: the server goes on
// answering others at once, on the same worker.
TEST_F(Bandwidth, AClientLeavingMidBodyCostsNothing) {
  START_SERVER(srv, basic_config(docroot, "StartServers 1\nThreadsPerChild 1\n"
                                          "<Location /slow>\n  SetOutputFilter RATE_LIMIT\n  SetEnv rate-limit 20\n"
                                          "</Location>\n"));
  {
    RawConnection c(srv.port());
    ASSERT_TRUE(c.send("GET /slow/file.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    HttpResponse head = c.read_response(300ms);  // 10 s of body: only its start arrives
    EXPECT_EQ(head.status, 0) << "the body is still coming";
    ASSERT_FALSE(c.buffered().empty()) << "the head and the first bytes came";
  }  // closed mid-body
  for (int i = 0; i < 3; ++i) {
    auto [r, secs] = timed_get(srv.port(), "/fast.bin");
    EXPECT_EQ(r.first().status, 200);
    EXPECT_LT(secs, 1.0);
  }
}

TEST(BandwidthConfig, AnUnknownFilterIsNamed) {
  TempTree t;
  std::string docroot = t.mkdir("www");
  t.write("p.conf", basic_config(docroot, "SetOutputFilter RATE_LIMIT;INCLUDES\n"));
  RunResult r = run_pillar({"-t", "-f", t.path("p.conf")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("p.conf:4: SetOutputFilter: the output filter 'INCLUDES' is not available"),
            std::string::npos) << r.out << r.err;
  t.write("p.conf", basic_config(docroot, "SetOutputFilter RATE_LIMIT\nLoadModule ratelimit_module mod_ratelimit.so\n"));
  r = run_pillar({"-t", "-f", t.path("p.conf")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("ratelimit"), std::string::npos) << "mod_ratelimit is built in: no notice";
}

}  // namespace
}  // namespace itest

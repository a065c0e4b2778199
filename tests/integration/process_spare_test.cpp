// MinSpareThreads / MaxSpareThreads: the master grows and shrinks the pool.
#include <iostream>
#include <memory>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

class ProcessSpare : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
};

TEST_F(ProcessSpare, PoolGrowsAndShrinksWithinSpareBounds) {
  START_SERVER(srv, process_config(docroot, tree.root(),
                                   "StartServers 1\nServerLimit 4\nThreadsPerChild 10\n"
                                   "MinSpareThreads 5\nMaxSpareThreads 15\n"));
  const uint16_t port = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == 1; }, 5s, &st))
      << status_brief(st);
  // Stable at one worker: 10 idle slots are between 5 and 15.
  EXPECT_EQ(child_pids(srv.pid()).size(), 1u);

  // Eight held connections (each has sent part of a request head: Reading).
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 8; ++i) {
    auto c = std::make_unique<RawConnection>(port);
    ASSERT_TRUE(c->connected());
    ASSERT_TRUE(c->send("GET /index.html HTTP/1.1\r\n"));
    held.push_back(std::move(c));
  }
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == 2; }, 3s, &st))
      << "8 of 10 slots busy, but no second worker within 3 s: " << status_brief(st);
  auto grew_ms = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(child_pids(srv.pid()).size(), 2u);
  // And no third one: 2 + 10 idle slots are within the bounds.
  st = fetch_status_auto(port);
  EXPECT_EQ(status_num(st, "Processes"), 2) << status_brief(st);

  // Finish and close them: 20 idle slots > 15, one worker is retired.
  for (auto& c : held) {
    ASSERT_TRUE(c->send("Host: localhost\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(c->read_response(3s).status, 200);
  }
  held.clear();
  t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_status(
      port, [](const StatusMap& m) { return status_num(m, "Processes") == 1 && status_num(m, "Stopping") == 0; }, 5s,
      &st))
      << "connections closed, but still more than one worker after 5 s: " << status_brief(st);
  auto shrank_ms = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(eventually([&] { return child_pids(srv.pid()).size() == 1; }, 2s));
  std::cout << "[ spare    ] grew to 2 workers in " << grew_ms << " ms, back to 1 in " << shrank_ms << " ms\n";
  EXPECT_EQ(srv.stderr_text().find("exit signal"), std::string::npos) << srv.stderr_text();
}

}  // namespace
}  // namespace itest

// Member failures seen through the proxy: refused connections, crashed
// members under load, timeouts, broken responses, hot standbys.
#include <atomic>
#include <map>
#include <memory>
#include <thread>

#include "backend.h"
#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

using Clock = std::chrono::steady_clock;

// A port nothing listens on (a backend that was there a moment ago).
uint16_t closed_port() {
  Backend gone("gone");
  return gone.port();
}

std::string closed_url() { return "http://127.0.0.1:" + std::to_string(closed_port()); }

size_t occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

std::string who(const HttpResponse& r) { return r.has("X-Backend") ? r.header("X-Backend") : member_of(r.body); }

class ProxyFailure : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::unique_ptr<ServerProcess> front;

  void start_front(const std::string& balancer_body, const std::string& extra = "", int workers = 1) {
    std::string conf = "ProxyPass / balancer://x/\n<Proxy balancer://x>\n" + balancer_body + "</Proxy>\n" + extra;
    front = std::make_unique<ServerProcess>(proxy_front_config(docroot, conf, workers));
    ASSERT_TRUE(front->ok()) << front->error();
  }
  uint16_t port() const { return front->port(); }
  RawExchange get(const std::string& target, Millis timeout = 5s) {
    return raw_exchange(port(), "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", timeout);
  }
};

TEST_F(ProxyFailure, RefusingMemberIsRetriedThenSkipped) {
  PillarMember live("live");
  ASSERT_TRUE(live.ok()) << live.error();
  const std::string dead = closed_url();
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + dead + "\n  BalancerMember " + live.url() + "\n"));
  for (int i = 0; i < 40; ++i) {
    auto ex = get("/index.html");
    ASSERT_EQ(ex.responses.size(), 1u) << "request " << i << ": " << ex.data;
    EXPECT_EQ(ex.first().status, 200) << "request " << i;
    EXPECT_EQ(member_of(ex.first().body), "live") << "request " << i;
  }
  // The refused member was tried once, then left alone for retry= (60 s).
  std::string log;
  eventually([&] { return occurrences(log = front->stderr_text(), dead) >= 1; }, 1s);
  EXPECT_EQ(occurrences(log, "connect to " + dead + " failed"), 1u) << log;
}

TEST_F(ProxyFailure, RefusingMemberIsSkippedByEveryWorker) {
  // Apache keeps a member's error state in shared memory: one failure puts it
  // in error for the whole node, not for one child process.
  PillarMember live("live");
  ASSERT_TRUE(live.ok()) << live.error();
  const std::string dead = closed_url();
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + dead + "\n  BalancerMember " + live.url() + "\n", "", 4));
  // One request finds the member refusing (concurrent first requests could
  // all race to it before it is marked, in Apache too).
  auto first = get("/index.html");
  ASSERT_EQ(first.responses.size(), 1u) << first.data;
  EXPECT_EQ(member_of(first.first().body), "live");
  ASSERT_TRUE(eventually([&] { return occurrences(front->stderr_text(), dead) >= 1; }, 1s)) << front->stderr_text();
  std::vector<std::thread> ts;
  std::atomic<int> ok{0}, bad{0};
  for (int t = 0; t < 8; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        auto ex = get("/index.html");
        (ex.responses.size() == 1 && ex.first().status == 200 ? ok : bad)++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(ok.load(), 120);
  std::this_thread::sleep_for(300ms);  // log lines of the other workers, if any
  std::string log = front->stderr_text();
  EXPECT_LE(occurrences(log, "connect to " + dead + " failed"), 1u)
      << "connection attempts to the refusing member across the node's 4 workers:\n" << log;
}

TEST_F(ProxyFailure, KilledMemberUnderLoadCostsNoRequest) {
  PillarMember a("a"), b("b");
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + "\n  BalancerMember " + b.url() + "\n"));
  LoadOptions lo;
  lo.port = port();
  lo.threads = 6;
  lo.target = "/index.html";
  lo.response_timeout = 3s;
  LoadGenerator load(lo);
  load.start();
  ASSERT_TRUE(load.wait_progress(300, 5s)) << load.snapshot().summary();
  a.kill9();
  ASSERT_TRUE(eventually([&] { return !process_alive(a.server().pid()); }, 2s));
  EXPECT_TRUE(load.wait_progress(1000, 5s)) << load.snapshot().summary();
  LoadStats st = load.stop();
  EXPECT_EQ(st.failures(), 0u) << st.summary() << "\n"
                               << (st.failure_samples.empty() ? "" : st.failure_samples[0]) << "\nfront stderr:\n"
                               << front->stderr_text().substr(0, 2000);
  // Afterwards everything goes to b.
  for (int i = 0; i < 10; ++i) {
    auto ex = get("/index.html");
    ASSERT_EQ(ex.responses.size(), 1u);
    EXPECT_EQ(member_of(ex.first().body), "b");
  }
}

TEST_F(ProxyFailure, KilledMemberUnderLoadWithFreshConnections) {
  PillarMember a("a"), b("b");
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + "\n  BalancerMember " + b.url() + "\n"));
  LoadOptions lo;
  lo.port = port();
  lo.threads = 6;
  lo.keep_alive = false;
  lo.response_timeout = 3s;
  LoadGenerator load(lo);
  load.start();
  ASSERT_TRUE(load.wait_progress(200, 5s)) << load.snapshot().summary();
  a.kill9();
  EXPECT_TRUE(load.wait_progress(500, 5s)) << load.snapshot().summary();
  LoadStats st = load.stop();
  EXPECT_EQ(st.failures(), 0u) << st.summary() << "\n" << (st.failure_samples.empty() ? "" : st.failure_samples[0]);
}

TEST_F(ProxyFailure, EveryMemberDownIs503) {
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + closed_url() + "\n  BalancerMember " + closed_url() + "\n"));
  for (int i = 0; i < 3; ++i) {
    auto t0 = Clock::now();
    auto ex = get("/index.html");
    auto ms = std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
    ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
    EXPECT_EQ(ex.first().status, 503) << "request " << i;
    EXPECT_LT(ms, 1500) << "request " << i;
  }
}

TEST_F(ProxyFailure, MemberTimeoutIs504) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + be.url() + " timeout=1\n"));
  auto t0 = Clock::now();
  auto ex = get("/sleep-4000", 6s);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_EQ(ex.first().status, 504);
  EXPECT_GE(s, 0.9);
  EXPECT_LE(s, 2.0);
  // A fast answer from the same member is fine.
  auto ok = get("/quick");
  EXPECT_EQ(ok.first().status, 200) << ok.data;
}

TEST_F(ProxyFailure, ProxyTimeoutIs504) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + be.url() + "\n", "ProxyTimeout 1\n"));
  auto t0 = Clock::now();
  auto ex = get("/sleep-4000", 6s);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_EQ(ex.first().status, 504);
  EXPECT_GE(s, 0.9);
  EXPECT_LE(s, 2.0);
}

TEST_F(ProxyFailure, MalformedStatusLineIs502) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + be.url() + "\n"));
  auto ex = get("/malformed");
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_EQ(ex.first().status, 502) << ex.data;
  EXPECT_FALSE(ex.first().has("X-Backend")) << "nothing of the bad answer reaches the client";
}

TEST_F(ProxyFailure, OversizedResponseHeaderIs502) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + be.url() + "\n"));
  auto ex = get("/bigheaders");
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data.substr(0, 300);
  EXPECT_EQ(ex.first().status, 502);
  EXPECT_FALSE(ex.first().has("X-Huge"));
}

TEST_F(ProxyFailure, UnaskedSwitchingProtocolsIs502) {
  // A 101 the client did not ask for (no Upgrade in its request) is a broken answer.
  Backend be("be");
  ASSERT_TRUE(be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + be.url() + "\n"));
  auto ex = get("/upgrade");
  ASSERT_FALSE(ex.responses.empty()) << ex.data;
  EXPECT_EQ(ex.first().status, 502) << ex.data;
  EXPECT_EQ(ex.data.find("hello-from-backend"), std::string::npos);
}

TEST_F(ProxyFailure, AskedUpgradeIsTunnelled) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + be.url() + "\n"));
  RawConnection c(port());
  ASSERT_TRUE(c.send("GET /upgrade HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  HttpResponse r = c.read_response(3s, true);  // 101: no body
  ASSERT_EQ(r.status, 101) << c.buffered();
  EXPECT_TRUE(iequals(r.header("Upgrade"), "websocket"));
  EXPECT_TRUE(icontains(r.header("Connection"), "upgrade"));
  std::string got;
  ASSERT_TRUE(eventually([&] {
    got += c.read_until_close(50ms);
    return got.find("hello-from-backend") != std::string::npos;
  }, 3s)) << got;
  ASSERT_TRUE(c.send("ping-from-client"));
  got.clear();
  EXPECT_TRUE(eventually([&] {
    got += c.read_until_close(50ms);
    return got.find("ping-from-client") != std::string::npos;
  }, 3s)) << got;
  auto reqs = be.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(iequals(reqs[0].header("Upgrade"), "websocket"));
  EXPECT_TRUE(icontains(reqs[0].header("Connection"), "upgrade"));
  EXPECT_EQ(reqs[0].header("Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST_F(ProxyFailure, EarlyCloseMidBodyCutsTheClientConnection) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + be.url() + "\n"));
  {
    RawConnection c(port());
    ASSERT_TRUE(c.send("GET /cut HTTP/1.1\r\nHost: localhost\r\n\r\n"));  // keep-alive asked
    std::string data = c.read_until_close(4s);
    EXPECT_TRUE(c.close_kind() == CloseKind::Eof || c.close_kind() == CloseKind::Reset) << to_string(c.close_kind());
    size_t head_end = data.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << data;
    HttpResponse r;
    parse_response(data.substr(0, head_end + 4), r);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Length"), "100000");
    size_t body = data.size() - head_end - 4;
    EXPECT_EQ(body, 1000u) << "the bytes the member sent, and nothing more";
  }
  {
    RawConnection c(port());
    ASSERT_TRUE(c.send("GET /cutchunked HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    std::string data = c.read_until_close(4s);
    EXPECT_TRUE(c.close_kind() == CloseKind::Eof || c.close_kind() == CloseKind::Reset) << to_string(c.close_kind());
    EXPECT_NE(data.find(" 200 "), std::string::npos) << data.substr(0, 200);
    EXPECT_FALSE(data.ends_with("0\r\n\r\n")) << "a cut chunked body must not get its last chunk";
    HttpResponse r;
    EXPECT_EQ(parse_response(data, r), 0u) << "the client must not see a complete response";
  }
}

TEST_F(ProxyFailure, MemberClosingWithoutAnswerGetIsRetriedPostIsNot) {
  Backend dropper("dropper", [](const BackendRequest&) {
    BackendReply r;
    r.close_after = true;  // reads the request, answers nothing, closes
    return r;
  });
  Backend good("good");
  ASSERT_TRUE(dropper.ok() && good.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + dropper.url() + "\n  BalancerMember " + good.url() +
                                      "\n"));
  auto ex = get("/idempotent");
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_EQ(ex.first().status, 200);
  EXPECT_EQ(who(ex.first()), "good");
  EXPECT_EQ(dropper.request_count(), 1u);

  // Restart the front so the dropper is not in its back-off.
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + dropper.url() + "\n  BalancerMember " + good.url() + "\n"));
  good.clear();
  dropper.clear();
  auto post = raw_exchange(port(), "POST /order HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  ASSERT_EQ(post.responses.size(), 1u) << post.data;
  EXPECT_EQ(post.first().status, 502) << "a POST the member may have acted on is not replayed";
  EXPECT_EQ(good.request_count(), 0u);
  EXPECT_EQ(dropper.request_count(), 1u);
}

TEST_F(ProxyFailure, HotStandbyTakesOverOnlyWhenNeeded) {
  PillarMember a("a"), s("standby");
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + "\n  BalancerMember " + s.url() + " status=+H\n"));
  std::map<std::string, int> before, after;
  for (int i = 0; i < 30; ++i) {
    auto ex = get("/index.html");
    ++before[ex.responses.empty() ? "<none>" : std::to_string(ex.first().status) + ":" + member_of(ex.first().body)];
  }
  EXPECT_EQ(before["200:a"], 30);
  a.server().stop(2s);
  for (int i = 0; i < 30; ++i) {
    auto ex = get("/index.html");
    ++after[ex.responses.empty() ? "<none>" : std::to_string(ex.first().status) + ":" + member_of(ex.first().body)];
  }
  EXPECT_EQ(after["200:standby"], 30) << (after.size() > 1 ? "other answers present" : "");
  for (const auto& [k, v] : after) EXPECT_EQ(k, "200:standby") << v << " answers";
}

}  // namespace
}  // namespace itest

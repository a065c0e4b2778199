// Protocol faults of issue 16 that the HTTP engine and proxied exchanges
// must answer cleanly: bare CR line endings, extension methods, clients that
// stop reading, graceful reloads under proxied keep-alive load and slow
// uploads to proxied URLs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <iostream>

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

// Item 16: extension methods go to the member under ProxyPass; elsewhere
// they get 501; every answer, the 400 for a head refused before routing
// included, has its line in the access log of the vhost it came to.
TEST_F(ProxyProtocolFaults, ExtensionMethodsAreProxiedAndEveryAnswerIsLogged) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  const std::string log = tree.path("access.log");
  std::string conf = proxy_front_config(docroot, "<VirtualHost *>\n  ServerName localhost\n  DocumentRoot \"" +
                                                     docroot + "\"\n  CustomLog \"" + log +
                                                     "\" common\n  ProxyPass /app/ " + be.url() + "/\n</VirtualHost>\n");
  START_SERVER(srv, conf);

  auto ask = [&](const std::string& line, const std::string& extra = "", const std::string& body = "") {
    RawExchange ex = raw_exchange(srv.port(), line + "\r\nHost: localhost\r\n" + extra + "Connection: close\r\n\r\n" + body);
    EXPECT_EQ(ex.responses.size(), 1u) << line << ": " << ex.data;
    return ex.responses.empty() ? HttpResponse{} : ex.responses[0];
  };
  const std::string xml = "<?xml version=\"1.0\"?><propfind xmlns=\"DAV:\"><allprop/></propfind>";
  HttpResponse propfind = ask("PROPFIND /app/dav/ HTTP/1.1",
                              "Depth: 1\r\nContent-Length: " + std::to_string(xml.size()) + "\r\n", xml);
  EXPECT_EQ(propfind.status, 200) << propfind.body;
  EchoInfo e = parse_echo(propfind.body);
  EXPECT_EQ(e.method, "PROPFIND") << propfind.body;
  EXPECT_EQ(e.target, "/dav/");
  EXPECT_EQ(e.body_length, xml.size());
  EXPECT_EQ(e.header("depth"), "1");

  HttpResponse msearch = ask("M-SEARCH /app/x HTTP/1.1");
  EXPECT_EQ(msearch.status, 200);
  EXPECT_EQ(parse_echo(msearch.body).method, "M-SEARCH") << msearch.body;
  ASSERT_EQ(be.request_count(), 2u);

  EXPECT_EQ(ask("PROPFIND /index.html HTTP/1.1").status, 501);  // not proxied: nothing implements it
  EXPECT_EQ(ask("M-SEARCH * HTTP/1.1").status, 400);            // asterisk-form is OPTIONS only (RFC 9112 §3.2.4)
  EXPECT_EQ(be.request_count(), 2u);

  const std::vector<std::string> want = {"\"PROPFIND /app/dav/ HTTP/1.1\" 200 ", "\"M-SEARCH /app/x HTTP/1.1\" 200 ",
                                         "\"PROPFIND /index.html HTTP/1.1\" 501 ", "\"M-SEARCH * HTTP/1.1\" 400 "};
  std::string text;
  bool all = eventually(
      [&] {
        text = tree.read("access.log");
        for (const auto& w : want)
          if (text.find(w) == std::string::npos) return false;
        return true;
      },
      3s);
  EXPECT_TRUE(all) << text;
}

// A client that asks for `target` and then reads nothing, with a small
// receive buffer so the server's side fills up quickly.
int stalled_reader(uint16_t port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Item 20: a client that stops reading a proxied response is the client's
// stall: `[core:info] ... send timeout` after Timeout, as on the static path,
// never a `[proxy:error]` blaming the response; and, both ways, the cut
// response is in the access log (item 16: every answered request is).
TEST_F(ProxyProtocolFaults, ClientThatStopsReadingProxiedResponseIsLoggedAsSendTimeout) {
  Backend be("be");
  ASSERT_TRUE(be.ok());
  tree.write("www/big.bin", pattern_bytes(16 << 20));
  ASSERT_NO_FATAL_FAILURE(start_front(be.url(), "LogLevel info\nTimeout 1\nProxyTimeout 3\nLogFormat \"%r %>s %X\" cut\n"
                                                "CustomLog \"" + tree.path("access.log") + "\" cut\n"));
  for (const std::string target : {"/big.bin", "/app/big-16777216"}) {
    size_t before = front->stderr_text().size();
    int fd = stalled_reader(port(), target);
    ASSERT_GE(fd, 0) << strerror(errno);
    auto t0 = Clock::now();
    std::string log;
    bool logged = eventually(
        [&] {
          log = front->stderr_text().substr(before);
          return log.find("send timeout") != std::string::npos;
        },
        5s);
    auto took = std::chrono::duration_cast<Millis>(Clock::now() - t0);
    ::close(fd);
    ASSERT_TRUE(logged) << target << ": " << log;
    EXPECT_LT(took, 2500ms) << target << ": Timeout is 1 s";
    EXPECT_NE(log.find("[core:info]"), std::string::npos) << target << ": " << log;
    EXPECT_EQ(log.find("proxy:error"), std::string::npos) << target << ": " << log;
    EXPECT_EQ(log.find("stalled"), std::string::npos) << target << ": " << log;
  }
  // The member's connection was let go with the client.
  EXPECT_EQ(curl_get(front->base_url() + "/app/x").status, 200);
  // Both cut responses have their access-log line, marked aborted (%X).
  std::string text;
  EXPECT_TRUE(eventually(
      [&] {
        text = tree.read("access.log");
        return text.find("GET /big.bin HTTP/1.1 200 X\n") != std::string::npos &&
               text.find("GET /app/big-16777216 HTTP/1.1 200 X\n") != std::string::npos;
      },
      3s))
      << text;
}

// Item 7: graceful reloads under keep-alive load through the proxy. A
// proxied response in flight when draining starts must say Connection:
// close, and a connection whose last response promised keep-alive is never
// closed under its client: 16 clients, 5 reloads, 0 failed requests.
TEST_F(ProxyProtocolFaults, GracefulReloadsUnderProxiedKeepAliveLoadLoseNothing) {
  constexpr int kWorkers = 2, kReloads = 5;
  Backend be("be");
  ASSERT_TRUE(be.ok());
  std::string conf = process_config(docroot, tree.root(),
                                    "StartServers " + std::to_string(kWorkers) +
                                        "\nServerLimit 4\nThreadsPerChild 100\n"
                                        "ProxyPass /app/ " + be.url() + "/\n");
  START_SERVER(srv, conf);
  const uint16_t p = srv.port();
  StatusMap st;
  ASSERT_TRUE(wait_status(p, [](const StatusMap& m) { return status_num(m, "Processes") == kWorkers; }, 5s, &st))
      << status_brief(st);

  LoadOptions lo;
  lo.port = p;
  lo.threads = 16;
  lo.keep_alive = true;
  lo.target = "/app/sleep-20";  // each response is in flight for a while: reloads find many of them
  LoadGenerator load(lo);
  load.start();
  ASSERT_TRUE(load.wait_progress(50)) << load.snapshot().summary();
  for (int i = 1; i <= kReloads; ++i) {
    std::vector<pid_t> old_workers = child_pids(srv.pid());
    ASSERT_EQ(kill(srv.pid(), SIGUSR1), 0);
    ASSERT_TRUE(wait_status(
        p, [&](const StatusMap& m) { return status_num(m, "ParentServerMPMGeneration") >= i; }, 5s, &st))
        << "reload " << i << ": " << status_brief(st);
    // The old generation drains (its clients were told to go) before the next reload.
    ASSERT_TRUE(eventually(
        [&] {
          std::vector<pid_t> now = child_pids(srv.pid());
          for (pid_t o : old_workers)
            if (std::find(now.begin(), now.end(), o) != now.end()) return false;
          return true;
        },
        8s))
        << "reload " << i << ": the old generation did not drain";
    ASSERT_TRUE(load.wait_progress(50)) << "reload " << i << ": " << load.snapshot().summary();
  }
  LoadStats stats = load.stop();
  for (const auto& s : stats.failure_samples) std::cout << "    " << s << "\n";
  EXPECT_EQ(stats.failures(), 0u) << stats.summary();
  EXPECT_GT(stats.server_closes, 0u) << stats.summary();  // draining workers said Connection: close
}

// Item 7's rule, "never close a connection that has not told its client
// so", when the member answers before the whole request body arrived (a
// pillar member answers a PUT to a file 405 at once): a small Content-Length
// rest keeps the client's connection, which reads and drops it; a large one
// makes the proxied head say Connection: close.
TEST_F(ProxyProtocolFaults, MemberAnsweringBeforeTheBodyEndsKeepsTheConnectionItPromised) {
  PillarMember m("m");
  ASSERT_TRUE(m.ok()) << m.error();
  ASSERT_NO_FATAL_FAILURE(start_front(m.url()));
  {
    RawConnection c(port());
    ASSERT_TRUE(c.send("PUT /app/index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000\r\n\r\n" +
                       std::string(1000, 'a')));
    HttpResponse r = c.read_response(3s);
    ASSERT_EQ(r.status, 405) << c.buffered();
    EXPECT_FALSE(icontains(r.header("Connection"), "close"));
    ASSERT_TRUE(c.send(std::string(1000, 'b') + "GET /app/index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    HttpResponse next = c.read_response(3s);
    EXPECT_EQ(next.status, 200) << "the connection promised keep-alive was closed: " << to_string(c.close_kind());
    EXPECT_EQ(member_of(next.body), "m");
  }
  {
    RawConnection c(port());
    ASSERT_TRUE(c.send("PUT /app/index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n" +
                       std::string(1000, 'a')));
    HttpResponse r = c.read_response(3s);
    ASSERT_EQ(r.status, 405) << c.buffered();
    EXPECT_EQ(r.header("Connection"), "close");
    EXPECT_TRUE(c.wait_closed(3s));
  }
}

// Item 18: slow uploads to a proxied URL are held to RequestReadTimeout
// body= and its MinRate, as any request body: 408 at about body= (2 s
// here; one byte a few times a second is far below MinRate=500), and the
// member connections they held are closed.
TEST_F(ProxyProtocolFaults, SlowUploadsToProxiedUrlGet408AndFreeTheMemberConnections) {
  constexpr size_t kClients = 5;
  Backend be("be");
  ASSERT_TRUE(be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front(be.url(), "RequestReadTimeout header=5 body=2,MinRate=500\nProxyTimeout 30\n"));
  ASSERT_EQ(be.connections_open(), 0u);
  std::vector<std::unique_ptr<RawConnection>> cs;
  auto t0 = Clock::now();
  for (size_t i = 0; i < kClients; ++i) {
    cs.push_back(std::make_unique<RawConnection>(port()));
    ASSERT_TRUE(cs.back()->connected());
    ASSERT_TRUE(cs.back()->send("PUT /app/upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\nx"));
  }
  ASSERT_TRUE(eventually([&] { return be.connections_open() == kClients; }, 2s))
      << "each upload holds a member connection: " << be.connections_open();
  // Each client sends one more byte every ~250 ms until it is answered (6 s at most).
  std::vector<HttpResponse> rs(kClients);
  std::vector<Millis> took(kClients, Millis(0));
  size_t answered = 0;
  while (answered < kClients && Clock::now() - t0 < 6s) {
    for (size_t i = 0; i < kClients; ++i) {
      if (took[i].count() > 0) continue;
      RawConnection& c = *cs[i];
      rs[i] = c.read_response(50ms);
      bool closed = c.close_kind() == CloseKind::Eof || c.close_kind() == CloseKind::Reset;
      if (rs[i].status != 0 || closed || !c.send("x")) {
        took[i] = std::chrono::duration_cast<Millis>(Clock::now() - t0);
        ++answered;
      }
    }
  }
  for (size_t i = 0; i < kClients; ++i) {
    ASSERT_EQ(rs[i].status, 408) << "client " << i << " after " << took[i].count() << " ms: " << cs[i]->buffered();
    EXPECT_EQ(rs[i].header("Connection"), "close");
    EXPECT_GE(took[i], 1800ms) << "client " << i;
    EXPECT_LT(took[i], 3500ms) << "client " << i;
    EXPECT_TRUE(cs[i]->wait_closed(2s)) << "client " << i;
  }
  EXPECT_TRUE(eventually([&] { return be.connections_open() == 0; }, 2s))
      << be.connections_open() << " member connections still open";
  EXPECT_EQ(be.request_count(), 0u);  // the member never got a whole request
  std::string err = front->stderr_text();
  EXPECT_EQ(err.find("proxy:error"), std::string::npos) << err;
}

}  // namespace
}  // namespace itest

// Load distribution across balancer members (mod_proxy_balancer's lbmethods)
// and sticky sessions (stickysession=, route=, nofailover=).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>

#include "backend.h"
#include "test_common.h"

namespace itest {
namespace {

std::string ka_get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

// Which member answered: X-Backend (Backend) or the body (PillarMember).
std::string who(const HttpResponse& r) {
  if (r.has("X-Backend")) return r.header("X-Backend");
  return member_of(r.body);
}

// One GET on a fresh connection from source address `src` (127.0.0.0/8).
HttpResponse get_from(const char* src, uint16_t port, const std::string& target) {
  HttpResponse out;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, src, &a.sin_addr);
  sockaddr_in d{};
  d.sin_family = AF_INET;
  d.sin_port = htons(port);
  d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::connect(fd, reinterpret_cast<sockaddr*>(&d), sizeof d) == 0 &&
      ::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
    std::string data;
    char buf[8192];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    parse_response(data, out);
  }
  ::close(fd);
  return out;
}

class ProxyBalance : public ::testing::Test {
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

  // `n` GETs on one keep-alive connection; answers counted by member.
  std::map<std::string, int> count_keepalive(int n, const std::string& target, const std::string& extra = "") {
    std::map<std::string, int> counts;
    auto c = std::make_unique<RawConnection>(port());
    for (int i = 0; i < n; ++i) {
      if (c->close_kind() != CloseKind::Open) c = std::make_unique<RawConnection>(port());
      if (!c->send(ka_get(target, extra))) {
        ++counts["<send failed>"];
        continue;
      }
      HttpResponse r = c->read_response(3s);
      if (r.status != 200) ++counts["<status " + std::to_string(r.status) + ">"];
      else ++counts[who(r)];
      if (icontains(r.header("Connection"), "close")) c = std::make_unique<RawConnection>(port());
    }
    return counts;
  }
};

std::string dump(const std::map<std::string, int>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += k + "=" + std::to_string(v) + " ";
  return s;
}

TEST_F(ProxyBalance, ByRequestsHonoursLoadFactorExactly) {
  PillarMember a("a"), b("b");
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + " loadfactor=3\n  BalancerMember " + b.url() +
                                      " loadfactor=1\n  ProxySet lbmethod=byrequests\n"));
  auto counts = count_keepalive(400, "/index.html");
  EXPECT_NEAR(counts["a"], 300, 2) << dump(counts);
  EXPECT_NEAR(counts["b"], 100, 2) << dump(counts);
  EXPECT_EQ(counts["a"] + counts["b"], 400) << dump(counts);
}

TEST_F(ProxyBalance, ByRequestsOverFreshConnections) {
  PillarMember a("a"), b("b");
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + " loadfactor=3\n  BalancerMember " + b.url() +
                                      " loadfactor=1\n  ProxySet lbmethod=byrequests\n"));
  std::map<std::string, int> counts;
  for (int i = 0; i < 400; ++i) {
    auto ex = raw_exchange(port(), "GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 3s);
    if (ex.responses.empty() || ex.first().status != 200) ++counts["<failed>"];
    else ++counts[who(ex.first())];
  }
  EXPECT_NEAR(counts["a"], 300, 2) << dump(counts);
  EXPECT_NEAR(counts["b"], 100, 2) << dump(counts);
}

TEST_F(ProxyBalance, ByBusynessAvoidsTheSlowMember) {
  Backend slow("slow", [](const BackendRequest&) { return text_reply("slow", "slow\n", 300ms); });
  Backend fast("fast", [](const BackendRequest&) { return text_reply("fast", "fast\n"); });
  ASSERT_TRUE(slow.ok() && fast.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + slow.url() + "\n  BalancerMember " + fast.url() +
                                      "\n  ProxySet lbmethod=bybusyness\n"));
  std::atomic<int> n_slow{0}, n_fast{0}, n_bad{0};
  std::mutex bad_mu;
  std::vector<std::string> bad_samples;
  std::vector<std::thread> ts;
  auto until = std::chrono::steady_clock::now() + 1500ms;
  for (int t = 0; t < 6; ++t) {
    ts.emplace_back([&] {
      auto c = std::make_unique<RawConnection>(port());
      while (std::chrono::steady_clock::now() < until) {
        if (c->close_kind() != CloseKind::Open) c = std::make_unique<RawConnection>(port());
        if (!c->send(ka_get("/x"))) {
          ++n_bad;
          continue;
        }
        HttpResponse r = c->read_response(3s);
        if (icontains(r.header("Connection"), "close")) c = std::make_unique<RawConnection>(port());
        std::string w = who(r);
        if (r.status == 200 && w == "slow") ++n_slow;
        else if (r.status == 200 && w == "fast") ++n_fast;
        else {
          ++n_bad;
          std::lock_guard<std::mutex> g(bad_mu);
          if (bad_samples.size() < 3)
            bad_samples.push_back("status " + std::to_string(r.status) + " from " + w + " close=" +
                                  to_string(c->close_kind()) + " buffered=" + c->buffered().substr(0, 200));
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  int total = n_slow + n_fast;
  EXPECT_EQ(n_bad.load(), 0) << (bad_samples.empty() ? "" : bad_samples[0]) << "\n"
                             << (bad_samples.size() > 1 ? bad_samples[1] : "");
  EXPECT_GT(n_fast.load(), 100) << "slow=" << n_slow << " fast=" << n_fast;
  EXPECT_LT(n_slow.load() * 10, total) << "slow=" << n_slow << " fast=" << n_fast << ": most must go to the fast member";
}

TEST_F(ProxyBalance, ClientAddressPersistenceHoldsAcrossAThousandRequests) {
  Backend a("a"), b("b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + "\n  BalancerMember " + b.url() +
                                      "\n  ProxySet lbmethod=byrequests persistence=60s\n"));
  // byrequests alone would alternate; persistence keeps each client on its member.
  std::map<std::string, int> first, second;
  for (int i = 0; i < 1000; ++i) ++first[who(get_from("127.0.0.21", port(), "/p" + std::to_string(i)))];
  for (int i = 0; i < 50; ++i) ++second[who(get_from("127.0.0.22", port(), "/q"))];
  EXPECT_EQ(first.size(), 1u) << dump(first);
  EXPECT_EQ(second.size(), 1u) << dump(second);
  EXPECT_NE(first.begin()->first, second.begin()->first);  // the next new client got the other member
}

TEST_F(ProxyBalance, SourceHashKeepsAClientOnOneMember) {
  Backend a("a"), b("b"), c("c");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + "\n  BalancerMember " + b.url() +
                                      "\n  BalancerMember " + c.url() + "\n  ProxySet lbmethod=sourcehash\n"));
  // The same client, fresh connections and keep-alive alike: always one member.
  std::map<std::string, int> counts;
  for (int i = 0; i < 30; ++i) {
    auto ex = raw_exchange(port(), "GET /s" + std::to_string(i) + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    ++counts[ex.responses.empty() ? "<failed>" : who(ex.first())];
  }
  auto ka = count_keepalive(30, "/k");
  for (const auto& [k, v] : ka) counts[k] += v;
  EXPECT_EQ(counts.size(), 1u) << dump(counts);

  // Different client addresses spread, each one stable.
  std::map<std::string, std::string> first;
  std::map<std::string, int> spread;
  for (int round = 0; round < 2; ++round) {
    for (int i = 1; i <= 24; ++i) {
      std::string ip = "127.0.0." + std::to_string(10 + i);
      HttpResponse r = get_from(ip.c_str(), port(), "/ip");
      ASSERT_EQ(r.status, 200) << ip;
      std::string w = who(r);
      if (round == 0) {
        first[ip] = w;
        ++spread[w];
      } else {
        EXPECT_EQ(w, first[ip]) << ip << " moved";
      }
      // The member saw the real client in X-Forwarded-For.
      EXPECT_EQ(parse_echo(r.body).header("x-forwarded-for"), ip);
    }
  }
  EXPECT_GE(spread.size(), 2u) << dump(spread);
}

TEST_F(ProxyBalance, HashOnHeaderMapsEachValueToOneMember) {
  Backend a("a"), b("b"), c("c");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + "\n  BalancerMember " + b.url() +
                                      "\n  BalancerMember " + c.url() + "\n  ProxySet lbmethod=hash hashheader=X-User\n"));
  std::map<std::string, std::string> owner;
  std::map<std::string, int> spread;
  for (int round = 0; round < 3; ++round) {
    for (int u = 0; u < 40; ++u) {
      std::string user = "user" + std::to_string(u);
      auto ex = raw_exchange(port(), "GET /h/" + std::to_string(round) + " HTTP/1.1\r\nHost: localhost\r\nX-User: " +
                                         user + "\r\nConnection: close\r\n\r\n");
      ASSERT_FALSE(ex.responses.empty()) << user;
      std::string w = who(ex.first());
      if (round == 0) {
        owner[user] = w;
        ++spread[w];
      } else {
        EXPECT_EQ(w, owner[user]) << user << " moved in round " << round << " (different URL, same header)";
      }
    }
  }
  EXPECT_EQ(spread.size(), 3u) << "40 users over 3 members: " << dump(spread);
  for (const auto& [m, n] : spread) EXPECT_GE(n, 4) << dump(spread);
}

// ---- sticky sessions ------------------------------------------------------------------

class ProxySticky : public ProxyBalance {
 protected:
  Backend a{"a"}, b{"b"};
  void start_sticky(const std::string& a_params, const std::string& b_params, const std::string& set = "") {
    ASSERT_TRUE(a.ok() && b.ok());
    start_front("  BalancerMember " + a.url() + " route=a " + a_params + "\n  BalancerMember " + b.url() +
                " route=b " + b_params + "\n  ProxySet stickysession=JSESSIONID|jsessionid " + set + "\n");
  }
};

TEST_F(ProxySticky, CookieRoutesToItsMember) {
  ASSERT_NO_FATAL_FAILURE(start_sticky("", ""));
  auto counts = count_keepalive(1000, "/page", "Cookie: theme=dark; JSESSIONID=xyz.b; lang=en\r\n");
  EXPECT_EQ(counts["b"], 1000) << dump(counts);
  auto counts_a = count_keepalive(50, "/page", "Cookie: JSESSIONID=q1w2.a\r\n");
  EXPECT_EQ(counts_a["a"], 50) << dump(counts_a);
  // Without a session the members share the load.
  auto none = count_keepalive(40, "/page");
  EXPECT_EQ(none["a"], 20) << dump(none);
  EXPECT_EQ(none["b"], 20) << dump(none);
}

TEST_F(ProxySticky, UrlParameterRoutesToItsMember) {
  ASSERT_NO_FATAL_FAILURE(start_sticky("", ""));
  auto path = count_keepalive(50, "/cart;jsessionid=xyz.a");
  EXPECT_EQ(path["a"], 50) << dump(path);
  auto query = count_keepalive(50, "/cart?x=1&jsessionid=xyz.b");
  EXPECT_EQ(query["b"], 50) << dump(query);
  // The URL parameter wins over the cookie (Apache looks at the URL first).
  auto both = count_keepalive(20, "/cart;jsessionid=xyz.a", "Cookie: JSESSIONID=xyz.b\r\n");
  EXPECT_EQ(both["a"], 20) << dump(both);
  // The member sees the URL as sent.
  auto reqs = a.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.front().target, "/cart;jsessionid=xyz.a");
}

TEST_F(ProxySticky, DisabledStickyMemberFailsOver) {
  ASSERT_NO_FATAL_FAILURE(start_sticky("", "status=+D"));
  auto counts = count_keepalive(30, "/page", "Cookie: JSESSIONID=xyz.b\r\n");
  EXPECT_EQ(counts["a"], 30) << dump(counts);
  EXPECT_EQ(b.request_count(), 0u);
}

TEST_F(ProxySticky, DisabledStickyMemberWithNoFailoverIs503) {
  ASSERT_NO_FATAL_FAILURE(start_sticky("", "status=+D", "nofailover=On"));
  auto counts = count_keepalive(10, "/page", "Cookie: JSESSIONID=xyz.b\r\n");
  EXPECT_EQ(counts["<status 503>"], 10) << dump(counts);
  EXPECT_EQ(a.request_count() + b.request_count(), 0u);
  // Requests without a session still work.
  auto plain = count_keepalive(4, "/page");
  EXPECT_EQ(plain["a"], 4) << dump(plain);
}

TEST_F(ProxySticky, StickyMemberDownFailsOverUnlessNoFailover) {
  // Member b is a closed port: its sticky requests go to a...
  PillarMember live("live");
  ASSERT_TRUE(live.ok()) << live.error();
  uint16_t dead_port;
  {
    Backend gone("gone");
    dead_port = gone.port();
  }
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + live.url() + " route=a\n  BalancerMember http://127.0.0.1:" +
                                      std::to_string(dead_port) + " route=b\n  ProxySet stickysession=ROUTEID\n"));
  auto counts = count_keepalive(20, "/index.html", "Cookie: ROUTEID=.b\r\n");
  EXPECT_EQ(counts["live"], 20) << dump(counts);
}

TEST_F(ProxySticky, StickyMemberDownWithNoFailoverIs503) {
  PillarMember live("live");
  ASSERT_TRUE(live.ok()) << live.error();
  uint16_t dead_port;
  {
    Backend gone("gone");
    dead_port = gone.port();
  }
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + live.url() + " route=a\n  BalancerMember http://127.0.0.1:" +
                                      std::to_string(dead_port) + " route=b\n  ProxySet stickysession=ROUTEID nofailover=On\n"));
  auto counts = count_keepalive(5, "/index.html", "Cookie: ROUTEID=.b\r\n");
  EXPECT_EQ(counts["<status 503>"], 5) << dump(counts);
}

}  // namespace
}  // namespace itest

// Faults in the shared cache store (issue 16): a pathological regex ban
// against a stored URL with a long query. Each test bounds every request
// and pillarctl call.
#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

#include "backend.h"
#include "test_common.h"

namespace itest {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t0) { return std::chrono::duration_cast<Millis>(Clock::now() - t0).count(); }

// An origin whose every answer may be stored for 300 s; the body names the target.
BackendReply cacheable(const BackendRequest& r) {
  std::string body = "origin " + r.target + "\n";
  BackendReply out;
  out.bytes = "HTTP/1.1 200 OK\r\nCache-Control: max-age=300\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\n\r\n" + body;
  return out;
}

size_t origin_count(const Backend& be, const std::string& target) {
  size_t n = 0;
  for (const auto& r : be.requests()) n += r.target == target ? 1 : 0;
  return n;
}

// One GET on a fresh connection, bounded by `timeout` (status 0: no answer in time).
HttpResponse get(uint16_t port, const std::string& target, Millis timeout = 5s) {
  RawExchange ex = raw_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", timeout);
  return ex.responses.empty() ? HttpResponse{} : ex.first();
}

long long json_num(const std::string& json, const std::string& key) {
  size_t k = json.find("\"" + key + "\"");
  if (k == std::string::npos) return -1;
  size_t c = json.find(':', k);
  if (c == std::string::npos) return -1;
  return std::strtoll(json.c_str() + c + 1, nullptr, 10);
}

// A pillar front with one vhost proxying / to `origin` through the cache,
// /metrics and /server-status served by Pillar itself.
struct Front {
  TempTree tree;
  std::string sock = tree.path("ctl.sock");
  std::unique_ptr<ServerProcess> srv;

  void start(const Backend& origin, int workers, const std::vector<std::string>& env) {
    std::string url = "http://127.0.0.1:" + std::to_string(origin.port());
    std::string cfg = proxy_front_config(tree.mkdir("www"),
                                         "PillarControlSocket " + sock + "\nCacheSize 16M\n"
                                         "<VirtualHost *>\n  ServerName localhost\n"
                                         "  ProxyPass /metrics !\n  ProxyPass /server-status !\n"
                                         "  ProxyPass / " + url + "/ retry=0\n  CacheEnable mem /\n  CacheHeader on\n"
                                         "  <Location /metrics>\n    SetHandler pillar-metrics\n  </Location>\n"
                                         "  <Location /server-status>\n    SetHandler server-status\n  </Location>\n"
                                         "</VirtualHost>\n",
                                         workers);
    srv = std::make_unique<ServerProcess>(cfg, 1, env);
  }
  uint16_t port() const { return srv->port(); }
  std::string ctl(const std::string& args) const { return pillarctl(sock, args); }
};

// =========================================================================================
// Item 3: a regex ban is matched in linear time (RE2), never under the
// store's lock, never on the master's loop.
// =========================================================================================

TEST(CacheFaults, PathologicalRegexBanStallsNothing) {
  Backend origin("origin", cacheable);
  ASSERT_TRUE(origin.ok());
  Front f;
  f.start(origin, 2, {});
  ASSERT_TRUE(f.srv->ok()) << f.srv->error();
  // '(a*)*b' against 40 a's: a backtracking matcher takes 2^40 steps.
  const std::string longq = "/q?" + std::string(40, 'a');
  ASSERT_EQ(get(f.port(), longq).header("X-Cache"), "MISS");
  ASSERT_EQ(get(f.port(), longq).header("X-Cache"), "HIT");

  auto t0 = Clock::now();
  std::string out = f.ctl("-j cache ban regex '(a*)*b'");
  EXPECT_LT(ms_since(t0), 2000) << "pillarctl cache ban took too long: " << out;
  ASSERT_GT(json_num(out, "ban"), 0) << out;

  // The next lookup of the long URL tests the ban; meanwhile the node serves.
  auto hit = std::async(std::launch::async, [&] { return get(f.port(), longq, 8s); });
  for (int i = 0; i < 10; ++i) {
    auto t = Clock::now();
    HttpResponse r = get(f.port(), "/other/" + std::to_string(i), 3s);
    EXPECT_EQ(r.status, 200) << "request " << i << " not answered while the ban is tested";
    EXPECT_LT(ms_since(t), 2000) << "request " << i;
  }
  t0 = Clock::now();
  out = f.ctl("-j status");
  EXPECT_LT(ms_since(t0), 2000) << out;
  EXPECT_NE(out.find("generation"), std::string::npos) << out;
  HttpResponse h = hit.get();
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("X-Cache"), "HIT") << "the ban does not match (no 'b'): the copy stays";
  EXPECT_EQ(origin_count(origin, longq), 1u);

  // A ban that does match still works; an invalid one gets a clear answer.
  ASSERT_GT(json_num(f.ctl("-j cache ban regex 'q[?]a+$'"), "ban"), 0);
  EXPECT_EQ(get(f.port(), longq).header("X-Cache"), "MISS");
  out = f.ctl("cache ban regex '(('");
  EXPECT_NE(out.find("not a valid regular expression"), std::string::npos) << out;
}

}  // namespace
}  // namespace itest

// Faults in the shared cache store (issue 16, items 3-5): a pathological
// regex ban against a stored URL with a long query, a process stalled while
// it holds the store's lock (PILLAR_FAULT_POINT=cache.store.purge, stop), and
// a worker killed between its lookup and recording the pins it took
// (PILLAR_FAULT_POINT=cache.after_lookup, kill). Each test bounds every
// request and pillarctl call, and SIGKILLs what it stopped.
#include <dirent.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
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

// The children of `parent` and their state letter (R, S, T for stopped, Z...).
std::vector<std::pair<pid_t, char>> children_of(pid_t parent) {
  std::vector<std::pair<pid_t, char>> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    // getline, not an istreambuf_iterator: a process that exits while its
    // stat is read makes the read fail (ESRCH), which the iterator throws.
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    size_t rp = stat.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream rest(stat.substr(rp + 2));
    char state = 0;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) out.emplace_back(pid, state);
  }
  closedir(d);
  return out;
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

// SIGKILLs a stopped process when the test ends, however it ends.
struct KillOnExit {
  pid_t pid = -1;
  ~KillOnExit() {
    if (pid > 0) kill(pid, SIGKILL);
  }
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

// =========================================================================================
// Item 4: a process stopped while it holds the store's lock freezes nothing.
// =========================================================================================

TEST(CacheFaults, StalledLockHolderFreezesNothing) {
  Backend origin("origin", cacheable);
  ASSERT_TRUE(origin.ok());
  Front f;
  f.start(origin, 3, {"PILLAR_FAULT_POINT=cache.store.purge", "PILLAR_FAULT_ACTION=stop"});
  ASSERT_TRUE(f.srv->ok()) << f.srv->error();
  const pid_t master = f.srv->pid();
  ASSERT_TRUE(eventually([&] { return children_of(master).size() == 3; }, 5s));
  ASSERT_EQ(get(f.port(), "/a").header("X-Cache"), "MISS");
  ASSERT_EQ(get(f.port(), "/a").header("X-Cache"), "HIT");

  // The worker that takes this PURGE stops inside the store's critical section.
  RawConnection purge(f.port());
  ASSERT_TRUE(purge.connected());
  ASSERT_TRUE(purge.send("PURGE /a HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  KillOnExit stopped;
  ASSERT_TRUE(eventually(
      [&] {
        for (auto [pid, state] : children_of(master))
          if (state == 'T') stopped.pid = pid;
        return stopped.pid > 0;
      },
      5s));

  // The other workers answer, uncached, each within the bound.
  const size_t before = origin_count(origin, "/a");
  for (int i = 0; i < 10; ++i) {
    auto t = Clock::now();
    HttpResponse r = get(f.port(), "/a", 3s);
    EXPECT_EQ(r.status, 200) << "request " << i;
    EXPECT_EQ(r.header("X-Cache"), "PASS") << "request " << i;
    EXPECT_LT(ms_since(t), 1000) << "request " << i;
  }
  EXPECT_EQ(origin_count(origin, "/a"), before + 10);
  // Counted, where the other cache counters are.
  auto t0 = Clock::now();
  std::string cache = f.ctl("-j cache");
  EXPECT_LT(ms_since(t0), 2000);
  EXPECT_GE(json_num(cache, "lock_timeouts"), 10) << cache;
  HttpResponse status = get(f.port(), "/server-status?auto", 3s);
  EXPECT_EQ(status.status, 200);
  EXPECT_NE(status.body.find("CacheLockTimeouts: "), std::string::npos) << status.body;
  HttpResponse metrics = get(f.port(), "/metrics", 3s);
  EXPECT_NE(metrics.body.find("pillar_cache_lock_timeouts_total "), std::string::npos);

  // The master still answers and still reaps and replaces a crashed worker.
  t0 = Clock::now();
  std::string st = f.ctl("-j status");
  EXPECT_LT(ms_since(t0), 2000) << st;
  EXPECT_NE(st.find("generation"), std::string::npos) << st;
  pid_t victim = -1;
  for (auto [pid, state] : children_of(master))
    if (pid != stopped.pid) victim = pid;
  ASSERT_GT(victim, 0);
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  EXPECT_TRUE(eventually(
      [&] {
        auto kids = children_of(master);
        bool gone = true;
        for (auto [pid, state] : kids) gone = gone && pid != victim;
        return gone && kids.size() == 3;
      },
      5s))
      << "the killed worker was not reaped and replaced";

  // The stalled holder dies: the robust lock recovers and the cache serves again.
  kill(stopped.pid, SIGKILL);
  stopped.pid = -1;
  EXPECT_TRUE(eventually([&] { return get(f.port(), "/b", 3s).header("X-Cache") == "HIT"; }, 5s));
}

// =========================================================================================
// Item 5: a worker killed right after its lookup took pins leaks none.
// =========================================================================================

TEST(CacheFaults, WorkerKilledAfterLookupLeaksNoPin) {
  Backend origin("origin", cacheable);
  ASSERT_TRUE(origin.ok());
  Front f;
  // The second lookup of the one worker: a hit, pinned, then SIGKILL.
  f.start(origin, 1, {"PILLAR_FAULT_POINT=cache.after_lookup", "PILLAR_FAULT_ACTION=kill", "PILLAR_FAULT_COUNT=2"});
  ASSERT_TRUE(f.srv->ok()) << f.srv->error();
  ASSERT_EQ(get(f.port(), "/p").header("X-Cache"), "MISS");
  EXPECT_EQ(get(f.port(), "/p", 3s).status, 0) << "the worker was to die in this request";
  ASSERT_EQ(json_num(f.ctl("-j cache"), "objects"), 1);

  // Reaped: the pin it took is returned, so a purge frees the object.
  std::string out;
  ASSERT_TRUE(eventually([&] { return json_num(out = f.ctl("-j cache purge http://localhost/p"), "purged") == 1; }, 5s))
      << out;
  EXPECT_TRUE(eventually([&] { return json_num(out = f.ctl("-j cache"), "objects") == 0; }, 5s))
      << "the purged object is still pinned: " << out;
}

}  // namespace
}  // namespace itest

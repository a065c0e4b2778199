// Faults in the proxy's shared state and its members' answers: workers
// killed or stopped while they hold balancer state, a member that answers
// garbage, reused member connections the member had closed.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "backend.h"
#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

using Clock = std::chrono::steady_clock;

// Sets environment variables for the processes started while it lives
// (pillar inherits the test's environment), and removes them after.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, std::string>> vars) : vars_(std::move(vars)) {
    for (const auto& [k, v] : vars_) setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : vars_) unsetenv(k.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

// Every "busy": N of `pillarctl -j balancer NAME`, in member order; empty
// when the command did not answer.
std::vector<long> busy_counts(const std::string& sock, const std::string& balancer) {
  std::string out = pillarctl(sock, "-j balancer " + balancer);
  std::vector<long> busy;
  for (size_t p = out.find("\"busy\":"); p != std::string::npos; p = out.find("\"busy\":", p + 1))
    busy.push_back(std::strtol(out.c_str() + p + 7, nullptr, 10));
  return busy;
}

std::string join(const std::vector<long>& v) {
  std::string s;
  for (long x : v) s += (s.empty() ? "" : "+") + std::to_string(x);
  return s;
}

bool all_zero(const std::vector<long>& v) {
  if (v.empty()) return false;
  for (long x : v)
    if (x != 0) return false;
  return true;
}

// The /proc state letter of pid ('T' stopped, 'R', 'S'...), 0 when gone.
char proc_state(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return 0;
  size_t rp = line.rfind(')');
  return rp == std::string::npos || rp + 2 >= line.size() ? 0 : line[rp + 2];
}

class ProxyFaults : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  std::string sock = tree.path("ctl.sock");
  std::unique_ptr<ServerProcess> front;
  std::set<pid_t> stopped;  // workers a test stopped: continued by TearDown

  // A stopped or wedged worker would outlive its master (it cannot act on
  // the master's death) and keep the server's stderr open, so the server
  // would never be seen to end: after a test, stopped workers are continued
  // and the workers killed before the master is stopped.
  void TearDown() override {
    if (!front) return;
    for (pid_t p : child_pids(front->pid()))
      if (proc_state(p) == 'T') stopped.insert(p);
    for (pid_t p : stopped) kill(p, SIGCONT);
    for (pid_t p : child_pids(front->pid())) kill(p, SIGKILL);
    front->stop(3s);
  }
  void start_front(const std::string& balancer_body, const std::string& extra = "", int workers = 1) {
    std::string conf = "PillarControlSocket " + sock + "\nProxyPass / balancer://x/\n<Proxy balancer://x>\n" +
                       balancer_body + "</Proxy>\n" + extra;
    front = std::make_unique<ServerProcess>(proxy_front_config(docroot, conf, workers));
    ASSERT_TRUE(front->ok()) << front->error();
  }
  uint16_t port() const { return front->port(); }
  RawExchange get(const std::string& target, Millis timeout = 5s) {
    return raw_exchange(port(), "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", timeout);
  }
  // n GETs in a row on fresh connections; the statuses that were not 200, as "i:status".
  std::string not_ok(int n, const std::string& target = "/index.html", Millis timeout = 5s) {
    std::string bad;
    for (int i = 0; i < n; ++i) {
      auto ex = get(target, timeout);
      int st = ex.responses.empty() ? 0 : ex.first().status;
      if (st != 200) bad += " " + std::to_string(i) + ":" + std::to_string(st);
    }
    return bad;
  }
};

// Item 1: what a killed worker held in the balancer (its busy counts) is
// given back by the master when it reaps the worker, so neither the node nor
// a reload keeps counts nobody holds.
TEST_F(ProxyFaults, BusyCountsOfKilledWorkersAreReturned) {
  Backend a("a"), b("b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + " max=8\n  BalancerMember " + b.url() +
                                          " max=8\n",
                                      "", 2));
  LoadOptions lo;
  lo.port = port();
  lo.threads = 16;
  lo.target = "/sleep-150";  // every client holds a slow proxied request most of the time
  lo.response_timeout = 3s;
  LoadGenerator load(lo);
  load.start();
  for (int k = 0; k < 10; ++k) {
    std::vector<pid_t> workers;
    ASSERT_TRUE(eventually([&] { return (workers = child_pids(front->pid())).size() == 2; }, 5s))
        << "kill " << k << ": workers " << workers.size();
    // Requests flow (and are in flight) before the next kill; after a leak
    // they no longer do, which the checks below report.
    load.wait_progress(8, 2s);
    pid_t victim = workers[static_cast<size_t>(k) % workers.size()];
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    ASSERT_TRUE(eventually([&] { return !process_alive(victim); }, 3s));
  }
  LoadStats st = load.stop();
  EXPECT_GT(st.ok, 0u) << st.summary();
  std::vector<long> busy;
  EXPECT_TRUE(eventually([&] { return all_zero(busy = busy_counts(sock, "x")); }, 3s))
      << "busy " << join(busy) << " with no request in flight";
  EXPECT_EQ(not_ok(20), "") << "requests after the kills that were not 200";
  // A graceful reload carries only what is really held.
  ASSERT_EQ(kill(front->pid(), SIGUSR1), 0);
  ASSERT_TRUE(eventually([&] { return pillarctl(sock, "status").find("generation: 1") != std::string::npos; }, 5s));
  EXPECT_TRUE(eventually([&] { return all_zero(busy = busy_counts(sock, "x")); }, 3s))
      << "busy " << join(busy) << " after the reload";
  EXPECT_EQ(not_ok(20), "") << "requests after the reload that were not 200";
}

// Item 2: a worker killed inside the persistence table's critical section
// leaves its lock to the next worker, which takes it over.
TEST_F(ProxyFaults, WorkerKilledInsidePersistenceLookupLeavesTheLockUsable) {
  Backend a("a"), b("b");
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string once = tree.path("fault-taken");
  {
    ScopedEnv env({{"PILLAR_FAULT_POINT", "persist_lookup"}, {"PILLAR_FAULT_ACTION", "kill"}, {"PILLAR_FAULT_ONCE", once}});
    ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + "\n  BalancerMember " + b.url() +
                                            "\n  ProxySet persistence=60s\n",
                                        "", 2));
  }
  auto first = get("/index.html", 3s);  // its worker dies holding the lock: the connection is cut
  EXPECT_TRUE(first.responses.empty()) << first.data;
  ASSERT_TRUE(eventually([&] { return std::ifstream(once).good(); }, 3s)) << "the fault point was never reached";
  ASSERT_TRUE(eventually([&] { return front->stderr_text().find("exit signal Killed") != std::string::npos; }, 3s))
      << front->stderr_text();
  std::map<std::string, int> members;
  for (int i = 0; i < 20; ++i) {
    auto t0 = Clock::now();
    auto ex = get("/index.html", 2s);
    ASSERT_EQ(ex.responses.size(), 1u) << "request " << i << " after the kill got no answer in "
                                       << std::chrono::duration_cast<Millis>(Clock::now() - t0).count() << " ms";
    EXPECT_EQ(ex.first().status, 200) << "request " << i;
    ++members[ex.first().header("X-Backend")];
  }
  // The lock was taken over, not bypassed: persistence still keeps this client on one member.
  EXPECT_EQ(members.size(), 1u) << "members: a=" << members["a"] << " b=" << members["b"];
  EXPECT_EQ(front->stop(5s), 0) << "a plain stop ends every worker";
}

// Item 2: a worker stopped (not dead) inside the critical section: the other
// workers wait a bounded time once, then serve without persistence until
// it goes on.
TEST_F(ProxyFaults, WorkerStoppedInsidePersistenceLookupCostsOnlyABoundedWait) {
  Backend a("a"), b("b");
  ASSERT_TRUE(a.ok() && b.ok());
  {
    ScopedEnv env({{"PILLAR_FAULT_POINT", "persist_lookup"},
                   {"PILLAR_FAULT_ACTION", "stop"},
                   {"PILLAR_FAULT_ONCE", tree.path("fault-taken")}});
    ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + a.url() + "\n  BalancerMember " + b.url() +
                                            "\n  ProxySet persistence=60s\n",
                                        "", 2));
  }
  RawConnection held(port());
  ASSERT_TRUE(held.send("GET /held HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  pid_t stopped_worker = 0;
  ASSERT_TRUE(eventually(
      [&] {
        for (pid_t p : child_pids(front->pid()))
          if (proc_state(p) == 'T') return (stopped_worker = p) != 0;
        return false;
      },
      3s))
      << "no worker stopped at the fault point";
  stopped.insert(stopped_worker);
  for (int i = 0; i < 20; ++i) {
    auto t0 = Clock::now();
    auto ex = get("/index.html", 3s);
    auto ms = std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
    ASSERT_EQ(ex.responses.size(), 1u) << "request " << i << " with a worker stopped holding the lock: no answer in "
                                       << ms << " ms";
    EXPECT_EQ(ex.first().status, 200) << "request " << i;
    EXPECT_LT(ms, 1000) << "request " << i;
  }
  EXPECT_TRUE(eventually([&] { return front->stderr_text().find("shared-memory lock") != std::string::npos; }, 2s))
      << front->stderr_text();
  // It goes on: its own request is answered and the table works again.
  ASSERT_EQ(kill(stopped_worker, SIGCONT), 0);
  auto r = held.read_response(3s);
  EXPECT_EQ(r.status, 200);
  std::map<std::string, int> members;
  for (int i = 0; i < 10; ++i) ++members[get("/index.html", 3s).first().header("X-Backend")];
  EXPECT_EQ(members.size(), 1u) << "members: a=" << members["a"] << " b=" << members["b"];
}

// A backend answering /odd with a status outside 100..599, /drop by closing
// without an answer, /health with 500 while `sick`; the rest as scripted.
struct FaultyBackend {
  std::atomic<bool> sick{false};
  Backend be{"one", [this](const BackendRequest& r) {
               BackendReply rep;
               if (r.target.find("/odd") != std::string::npos) {
                 rep.bytes = "HTTP/1.1 700 Strange\r\nContent-Length: 0\r\n\r\n";
               } else if (r.target.find("/drop") != std::string::npos) {
                 rep.close_after = true;  // nothing written
               } else if (r.target.find("/health") != std::string::npos && sick.load()) {
                 rep.bytes = "HTTP/1.1 500 Sick\r\nContent-Length: 0\r\n\r\n";
               } else {
                 rep = be.scripted(r);
               }
               return rep;
             }};
};

// Item 14: an answer outside 100..599 is a 502 for its request, not a
// failure of the member: it stays in use.
TEST_F(ProxyFaults, OddStatusFromTheOnlyMemberIs502AndTheSiteStaysUp) {
  FaultyBackend f;
  ASSERT_TRUE(f.be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + f.be.url() + "\n"));
  auto ex = get("/odd");
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_EQ(ex.first().status, 502);
  EXPECT_EQ(not_ok(10), "") << "requests after one odd answer that were not 200";
}

// Item 14: with two members, an odd answer does not take its member out either.
TEST_F(ProxyFaults, OddStatusDoesNotEjectAMember) {
  FaultyBackend f;
  Backend other("other");
  ASSERT_TRUE(f.be.ok() && other.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + f.be.url() + "\n  BalancerMember " + other.url() + "\n"));
  std::map<int, int> statuses;
  for (int i = 0; i < 10; ++i) ++statuses[get("/odd").first().status];
  EXPECT_EQ(f.be.request_count(), 5u) << "byrequests alternates; the odd member kept its share";
  EXPECT_EQ(statuses[502], 5);
  EXPECT_EQ(statuses[200], 5);
}

// Item 14: a member that fails passively (closes without answering) is
// still the pool's last usable member: it is not ejected.
TEST_F(ProxyFaults, LastUsableMemberIsNeverEjectedByPassiveFailures) {
  FaultyBackend f;
  ASSERT_TRUE(f.be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + f.be.url() + "\n"));
  auto ex = get("/drop");
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_GE(ex.first().status, 500);
  EXPECT_EQ(not_ok(10), "") << "requests after a dropped one that were not 200";
  EXPECT_TRUE(eventually([&] { return front->stderr_text().find("the only usable member") != std::string::npos; }, 2s))
      << front->stderr_text();
}

// Item 14: the rule is for passive failures only: an active health check
// still takes the last member out, and puts it back.
TEST_F(ProxyFaults, ActiveHealthCheckStillDecidesForTheLastMember) {
  FaultyBackend f;
  ASSERT_TRUE(f.be.ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + f.be.url() +
                                      " hcmethod=GET hcuri=/health hcinterval=100ms hcfails=1 hcpasses=1 hctimeout=500ms\n"));
  EXPECT_EQ(not_ok(3), "");
  f.sick = true;
  EXPECT_TRUE(eventually([&] { return get("/index.html").first().status == 503; }, 3s));
  f.sick = false;
  EXPECT_TRUE(eventually([&] { return get("/index.html").first().status == 200; }, 3s));
}

// Item 15: a pooled member connection the member closed when the next
// request came is retried on a fresh connection to the same member, even
// when it is the only one.
TEST_F(ProxyFaults, StaleReusedConnectionGoesAgainToTheSameMemberOnAFreshOne) {
  // The member closes every kept-alive connection when a second request
  // arrives on it (what a keep-alive timeout racing the request looks like).
  auto served = std::make_shared<std::map<uint64_t, int>>();
  auto mu = std::make_shared<std::mutex>();
  std::unique_ptr<Backend> be;
  be = std::make_unique<Backend>("one", [served, mu, &be](const BackendRequest& r) {
    std::lock_guard<std::mutex> g(*mu);
    if ((*served)[r.connection]++ > 0) {
      BackendReply rep;
      rep.close_after = true;  // nothing written
      return rep;
    }
    return be->scripted(r);
  });
  ASSERT_TRUE(be->ok());
  ASSERT_NO_FATAL_FAILURE(start_front("  BalancerMember " + be->url() + "\n"));
  for (int i = 0; i < 10; ++i) {
    auto ex = get("/index.html");
    ASSERT_EQ(ex.responses.size(), 1u) << "request " << i << ": " << ex.data;
    EXPECT_EQ(ex.first().status, 200) << "request " << i;
  }
  // A POST too: the member never read it on the closed connection.
  auto post = raw_exchange(port(), "POST /post HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                                   "Connection: close\r\n\r\nhello");
  ASSERT_EQ(post.responses.size(), 1u) << post.data;
  EXPECT_EQ(post.first().status, 200);
  EXPECT_NE(post.first().body.find("body-length 5"), std::string::npos) << post.first().body;
  EXPECT_GT(be->connections_accepted(), 1u);
}

}  // namespace
}  // namespace itest

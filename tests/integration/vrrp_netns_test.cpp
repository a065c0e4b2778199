// VRRP failover end to end, in network namespaces: two nodes (pillar, or
// keepalived for comparison and interop) and a client on one bridge, the
// virtual address 10.99.0.100/24, each node's docroot saying its name so the
// client knows who answered. Needs root; skipped otherwise.
//
//   bridge namespace: br0 with ports pn1, pn2, pc
//   n1: eth0 10.99.0.1/24   n2: eth0 10.99.0.2/24   c: eth0 10.99.0.3/24
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "netns.h"
#include "test_common.h"

namespace itest {
namespace {

using netns::Clock;
using netns::Lab;
using netns::NsProcess;

const std::string kVip = "10.99.0.100";
const std::string kClient = "c";
constexpr const char* kKeepalived = "/usr/sbin/keepalived";

std::string pillarctl_path() {
  std::string b = PILLAR_BINARY;
  return b.substr(0, b.rfind('/') + 1) + "pillarctl";
}

long long ms_since(Clock::time_point t0) {
  return std::chrono::duration_cast<Millis>(Clock::now() - t0).count();
}

// Polls pred every 10 ms until true or timeout (bounded).
template <typename Pred>
bool poll_until(Pred pred, Millis timeout) {
  auto end = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= end) return pred();
    std::this_thread::sleep_for(10ms);
  }
}

long long median(std::vector<long long> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? -1 : v[v.size() / 2];
}

std::string join(const std::vector<long long>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}

struct VrrpView {
  std::string state;  // INIT BACKUP MASTER FAULT, "" when the server does not answer
  std::string master;
  long long transitions = -1;
};

struct NodeOpts {
  int priority = 100;
  bool preempt = true;
  int version = 3;
  bool vrrp = true;           // a <Vrrp front> section (off: pillar only serves, keepalived does VRRP)
  std::string vrrp_extra;     // more lines in <Vrrp front>
  std::string server_extra;   // more server-level lines
};

// A lab with nodes n1, n2 and the client c, and the processes run on it.
// Members are destroyed in reverse: processes stop (SIGTERM, then SIGKILL)
// before the namespaces go (which SIGKILLs anything left in them).
class Cluster {
 public:
  explicit Cluster(TempTree& tree) : tree_(tree), lab_({"n1", "n2", kClient}) {}

  Lab& lab() { return lab_; }
  std::string dir(const std::string& n) const { return tree_.path(lab_.ns(n)); }
  std::string sock(const std::string& n) const { return dir(n) + "/ctl.sock"; }

  // Writes the node's docroot (index.html = its name) and pillar configuration.
  void configure_pillar(const std::string& n, const NodeOpts& o) {
    std::string d = tree_.mkdir(lab_.ns(n));
    tree_.write(lab_.ns(n) + "/www/index.html", n);
    std::string c = "ServerRoot \"" + d + "\"\n"
                    "Listen 0.0.0.0:80\n"
                    "ServerName " + n + "\n"
                    "DocumentRoot \"" + d + "/www\"\n"
                    "PidFile \"" + d + "/pillar.pid\"\n"
                    "PillarControlSocket \"" + d + "/ctl.sock\"\n"
                    "StartServers 2\n" + o.server_extra + "\n";
    if (o.vrrp) {
      c += "<Vrrp front>\n"
           "  Interface eth0\n"
           "  VirtualRouterId 51\n"
           "  Priority " + std::to_string(o.priority) + "\n"
           "  AdvertInterval " + std::string(o.version == 2 ? "1s" : "100ms") + "\n"
           "  VirtualAddress " + kVip + "/24\n"
           "  Preempt " + (o.preempt ? "On" : "Off") + "\n"
           "  VrrpVersion " + std::to_string(o.version) + "\n" + o.vrrp_extra + "\n"
           "</Vrrp>\n";
    }
    tree_.write(lab_.ns(n) + "/pillar.conf", c);
  }

  void start_pillar(const std::string& n) {
    pillar_[n] = std::make_unique<NsProcess>(lab_.ns(n),
                                             std::vector<std::string>{PILLAR_BINARY, "-f", dir(n) + "/pillar.conf"},
                                             dir(n) + "/pillar.log");
  }
  NsProcess* pillar(const std::string& n) { return pillar_.count(n) ? pillar_[n].get() : nullptr; }

  void configure_keepalived(const std::string& n, int priority, int version) {
    tree_.mkdir(lab_.ns(n));
    std::string c = "global_defs {\n"
                    "  router_id " + n + "\n"
                    "  vrrp_version " + std::to_string(version) + "\n"
                    "  enable_script_security\n"
                    "}\n"
                    "vrrp_instance front {\n"
                    "  state BACKUP\n"
                    "  interface eth0\n"
                    "  virtual_router_id 51\n"
                    "  priority " + std::to_string(priority) + "\n"
                    "  advert_int " + (version == 2 ? "1" : "0.1") + "\n"
                    "  virtual_ipaddress {\n"
                    "    " + kVip + "/24 dev eth0\n"
                    "  }\n"
                    "}\n";
    tree_.write(lab_.ns(n) + "/keepalived.conf", c);
  }

  // Fresh pid files per start: a SIGKILLed keepalived leaves its own behind,
  // and an unreaped (zombie) pid in them would make the new one refuse to run.
  void start_keepalived(const std::string& n) {
    int k = ++ka_starts_;
    std::string d = dir(n);
    ka_vrrp_pidfile_[n] = d + "/ka-vrrp-" + std::to_string(k) + ".pid";
    keepalived_[n] = std::make_unique<NsProcess>(
        lab_.ns(n),
        std::vector<std::string>{kKeepalived, "-n", "-l", "-D", "-f", d + "/keepalived.conf", "-p",
                                 d + "/ka-" + std::to_string(k) + ".pid", "-r", ka_vrrp_pidfile_[n]},
        d + "/keepalived.log");
  }
  NsProcess* keepalived(const std::string& n) { return keepalived_.count(n) ? keepalived_[n].get() : nullptr; }

  // keepalived's VRRP child (from its pid file), 0 until it has written it.
  pid_t keepalived_vrrp_pid(const std::string& n) {
    std::ifstream in(ka_vrrp_pidfile_[n]);
    pid_t p = 0;
    in >> p;
    return p;
  }

  // A crash: SIGKILL to keepalived's VRRP child and its parent; nothing is sent.
  void crash_keepalived(const std::string& n) {
    pid_t child = keepalived_vrrp_pid(n);
    if (child > 0) kill(child, SIGKILL);
    if (auto* k = keepalived(n)) {
      k->signal(SIGKILL);
      k->wait_exit(2s);
    }
  }

  VrrpView vrrp(const std::string& n) const {
    VrrpView v;
    std::string out;
    if (netns::run({pillarctl_path(), "-s", sock(n), "-j", "vrrp"}, &out, 2s) != 0) return v;
    auto j = nlohmann::json::parse(out, nullptr, false);
    if (j.is_discarded() || !j.contains("result")) return v;
    for (const auto& e : j["result"]) {
      if (e.value("name", "") != "front") continue;
      v.state = e.value("state", "");
      v.master = e.value("master", "");
      v.transitions = e.value("transitions", -1LL);
    }
    return v;
  }
  std::string state(const std::string& n) const { return vrrp(n).state; }

  std::vector<pid_t> worker_pids(const std::string& n) const {
    std::vector<pid_t> v;
    std::string out;
    if (netns::run({pillarctl_path(), "-s", sock(n), "-j", "workers"}, &out, 2s) != 0) return v;
    auto j = nlohmann::json::parse(out, nullptr, false);
    if (j.is_discarded() || !j.contains("result")) return v;
    for (const auto& e : j["result"]) v.push_back(e.value("pid", 0));
    return v;
  }

  bool holds_vip(const std::string& n) const { return lab_.has_address(n, kVip); }
  // "n1", "n2", "" (nobody) or "n1+n2" (both).
  std::string vip_holders() const {
    bool a = holds_vip("n1"), b = holds_vip("n2");
    return a && b ? "n1+n2" : a ? "n1" : b ? "n2" : "";
  }
  netns::Answer get() const { return netns::http_get(lab_, kClient, kVip, 80, 1s); }
  bool client_reaches(const std::string& n) const {
    auto a = get();
    return a.status == 200 && a.body == n;
  }

  // Everything worth seeing when a check fails.
  std::string report() const {
    std::string r = "\n--- VIP holders: [" + vip_holders() + "]";
    for (const char* n : {"n1", "n2"}) {
      auto v = vrrp(n);
      r += std::string("\n--- ") + n + ": state " + (v.state.empty() ? "?" : v.state) + ", master " + v.master +
           ", transitions " + std::to_string(v.transitions);
    }
    r += "\n--- client neighbour " + kVip + ": " + lab_.neigh_lladdr(kClient, kVip) + " (n1 " + lab_.mac("n1") +
         ", n2 " + lab_.mac("n2") + ")";
    for (const char* n : {"n1", "n2"}) {
      for (const char* f : {"pillar.log", "keepalived.log"}) {
        std::string rel = lab_.ns(n) + "/" + f;
        std::string text = tree_.read(rel);
        if (text.size() > 3000) text = "..." + text.substr(text.size() - 3000);
        if (!text.empty()) r += std::string("\n--- ") + n + " " + f + ":\n" + text;
      }
    }
    return r;
  }

 private:
  TempTree& tree_;
  Lab lab_;
  std::map<std::string, std::unique_ptr<NsProcess>> pillar_, keepalived_;
  std::map<std::string, std::string> ka_vrrp_pidfile_;
  int ka_starts_ = 0;
};

class Vrrp : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!netns::usable(&why)) GTEST_SKIP() << "VRRP namespace tests need network namespaces: " << why;
    if (access(pillarctl_path().c_str(), X_OK) != 0)
      GTEST_SKIP() << pillarctl_path() << " is missing: build the pillarctl target";
  }

  // A cluster of two pillar nodes: n1 (priority p1) master, n2 (p2) backup,
  // the client answered by n1.
  void start_pair(Cluster& c, NodeOpts o1, NodeOpts o2) {
    ASSERT_TRUE(c.lab().ok()) << c.lab().error();
    c.configure_pillar("n1", o1);
    c.configure_pillar("n2", o2);
    c.start_pillar("n1");
    ASSERT_TRUE(poll_until([&] { return c.state("n1") == "MASTER"; }, 5s)) << "n1 never became MASTER" << c.report();
    c.start_pillar("n2");
    ASSERT_TRUE(poll_until([&] { return c.state("n2") == "BACKUP"; }, 5s)) << "n2 never became BACKUP" << c.report();
    EXPECT_EQ(c.state("n1"), "MASTER") << c.report();
    EXPECT_EQ(c.vip_holders(), "n1") << c.report();
    ASSERT_TRUE(poll_until([&] { return c.client_reaches("n1"); }, 2s)) << "client not answered by n1" << c.report();
  }

  TempTree tree;
};

// ---- 1. kill -9 of the master's pillar; the old master restarted ----------------------

void kill_and_restart(Cluster& c, bool preempt) {
  // Crash of the whole server as the kernel sees it: the master process dies;
  // its VRRP process follows (PR_SET_PDEATHSIG) and sends priority 0 on the way out.
  auto t0 = Clock::now();
  c.pillar("n1")->signal(SIGKILL);
  long long ms = netns::ms_until_answer(c.lab(), kClient, kVip, "n2", t0, 3s);
  std::cout << "[ vrrp     ] kill -9 of n1's master: the client is answered by n2 after " << ms << " ms\n";
  EXPECT_GE(ms, 0) << "n2 never answered on the VIP" << c.report();
  EXPECT_LT(ms, 1000) << c.report();
  EXPECT_TRUE(poll_until([&] { return c.vip_holders() == "n2"; }, 1s)) << c.report();
  EXPECT_TRUE(poll_until([&] { return c.state("n2") == "MASTER"; }, 1s)) << c.report();

  // Restart n1 once its orphaned workers and VRRP process are gone.
  ASSERT_TRUE(c.pillar("n1")->wait_exit(2s));
  ASSERT_TRUE(c.lab().wait_no_processes("n1", 3s)) << "processes left in n1 after kill -9 of its master";
  c.start_pillar("n1");
  auto t1 = Clock::now();
  if (preempt) {
    bool back = poll_until(
        [&] { return c.state("n1") == "MASTER" && c.state("n2") == "BACKUP" && c.vip_holders() == "n1"; }, 3s);
    std::cout << "[ vrrp     ] restarted n1 (Preempt On) is MASTER again after " << ms_since(t1) << " ms\n";
    EXPECT_TRUE(back) << "n1 did not preempt back" << c.report();
    EXPECT_TRUE(poll_until([&] { return c.client_reaches("n1"); }, 1s)) << c.report();
  } else {
    ASSERT_TRUE(poll_until([&] { return c.state("n1") == "BACKUP"; }, 3s)) << c.report();
    // n1 must stay BACKUP: watch for well over one Master_Down_Interval (~0.34 s).
    auto watch_end = Clock::now() + 1200ms;
    while (Clock::now() < watch_end) {
      ASSERT_EQ(c.state("n1"), "BACKUP") << "n1 took over with Preempt Off" << c.report();
      ASSERT_EQ(c.vip_holders(), "n2") << c.report();
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(c.state("n2"), "MASTER") << c.report();
    EXPECT_TRUE(c.client_reaches("n2")) << c.report();
  }
}

TEST_F(Vrrp, KilledMasterFailsOverAndPreemptsBack) {
  Cluster c(tree);
  NodeOpts o1, o2;
  o1.priority = 150;
  ASSERT_NO_FATAL_FAILURE(start_pair(c, o1, o2));
  kill_and_restart(c, true);
}

TEST_F(Vrrp, KilledMasterRestartedStaysBackupWithPreemptOff) {
  Cluster c(tree);
  NodeOpts o1, o2;
  o1.priority = 150;
  o1.preempt = o2.preempt = false;
  ASSERT_NO_FATAL_FAILURE(start_pair(c, o1, o2));
  kill_and_restart(c, false);
}

// ---- 2. clean stop -----------------------------------------------------------------------

TEST_F(Vrrp, CleanStopHandsOverWithinOneAdvertInterval) {
  Cluster c(tree);
  NodeOpts o1, o2;
  o1.priority = 150;
  ASSERT_NO_FATAL_FAILURE(start_pair(c, o1, o2));
  auto t0 = Clock::now();
  c.pillar("n1")->signal(SIGTERM);
  long long ms = netns::ms_until_answer(c.lab(), kClient, kVip, "n2", t0, 3s);
  std::cout << "[ vrrp     ] SIGTERM to n1: the client is answered by n2 after " << ms << " ms\n";
  EXPECT_GE(ms, 0) << c.report();
  // Priority 0 advert, then n2 waits Skew_Time (~60 ms at priority 100, 100 ms adverts).
  EXPECT_LT(ms, 400) << c.report();
  EXPECT_TRUE(c.pillar("n1")->wait_exit(5s)) << "n1 did not stop";
  EXPECT_EQ(c.pillar("n1")->stop(), 0) << c.report();
  EXPECT_EQ(c.vip_holders(), "n2") << c.report();
  EXPECT_EQ(c.state("n2"), "MASTER") << c.report();
}

// ---- 3. takeover time: pillar vs keepalived ------------------------------------------------

TEST_F(Vrrp, TakeoverTimeComparedWithKeepalived) {
  if (access(kKeepalived, X_OK) != 0) GTEST_SKIP() << kKeepalived << " is not installed";
  constexpr int kRuns = 5;
  std::vector<long long> pillar_kill, pillar_linkdown, ka_kill;
  {
    Cluster c(tree);
    NodeOpts o1, o2;
    o1.priority = 150;
    ASSERT_NO_FATAL_FAILURE(start_pair(c, o1, o2));
    // The initial state before each run: n1 MASTER, n2 BACKUP, the client's
    // neighbour entry for the VIP fresh and pointing at n1.
    auto settle = [&](const char* after) {
      ASSERT_TRUE(poll_until(
          [&] { return c.state("n1") == "MASTER" && c.state("n2") == "BACKUP" && c.vip_holders() == "n1"; }, 3s))
          << "n1 not MASTER again " << after << c.report();
      c.lab().ip({"-n", c.lab().ns(kClient), "neigh", "flush", "dev", "eth0"});
      ASSERT_TRUE(poll_until([&] { return c.client_reaches("n1"); }, 2s)) << c.report();
    };
    // (a) kill -9 of pillar's master process; its VRRP process still sends priority 0.
    for (int i = 0; i < kRuns; ++i) {
      auto t0 = Clock::now();
      c.pillar("n1")->signal(SIGKILL);
      long long ms = netns::ms_until_answer(c.lab(), kClient, kVip, "n2", t0, 3s);
      ASSERT_GE(ms, 0) << "run " << i << ": n2 never answered" << c.report();
      pillar_kill.push_back(ms);
      ASSERT_TRUE(c.pillar("n1")->wait_exit(2s));
      ASSERT_TRUE(c.lab().wait_no_processes("n1", 3s));
      c.start_pillar("n1");
      ASSERT_NO_FATAL_FAILURE(settle("after restart"));
    }
    // (b) a true crash as the peer sees it: n1's link goes down, nothing more
    // is heard from it (as with keepalived killed by SIGKILL below).
    for (int i = 0; i < kRuns; ++i) {
      auto t0 = Clock::now();
      ASSERT_TRUE(c.lab().set_link("n1", false));
      long long ms = netns::ms_until_answer(c.lab(), kClient, kVip, "n2", t0, 3s);
      ASSERT_GE(ms, 0) << "link-down run " << i << ": n2 never answered" << c.report();
      pillar_linkdown.push_back(ms);
      ASSERT_TRUE(c.lab().set_link("n1", true));
      ASSERT_NO_FATAL_FAILURE(settle("after its link came back"));
    }
  }
  {
    // keepalived on both nodes (VRRPv3, advert_int 0.1), pillar only serving HTTP.
    Cluster c(tree);
    ASSERT_TRUE(c.lab().ok()) << c.lab().error();
    NodeOpts plain;
    plain.vrrp = false;
    for (const char* n : {"n1", "n2"}) {
      c.configure_pillar(n, plain);
      c.start_pillar(n);
    }
    c.configure_keepalived("n1", 150, 3);
    c.configure_keepalived("n2", 100, 3);
    c.start_keepalived("n1");
    ASSERT_TRUE(poll_until([&] { return c.vip_holders() == "n1"; }, 5s)) << c.report();
    c.start_keepalived("n2");
    ASSERT_TRUE(poll_until([&] { return c.keepalived_vrrp_pid("n2") > 0; }, 5s)) << c.report();
    auto settle = [&] {
      ASSERT_TRUE(poll_until([&] { return c.vip_holders() == "n1"; }, 3s)) << c.report();
      c.lab().ip({"-n", c.lab().ns(kClient), "neigh", "flush", "dev", "eth0"});
      ASSERT_TRUE(poll_until([&] { return c.client_reaches("n1"); }, 2s)) << c.report();
    };
    ASSERT_NO_FATAL_FAILURE(settle());
    for (int i = 0; i < kRuns; ++i) {
      // keepalived killed with -9 sends nothing: n2 waits out Master_Down_Interval.
      auto t0 = Clock::now();
      c.crash_keepalived("n1");
      long long ms = netns::ms_until_answer(c.lab(), kClient, kVip, "n2", t0, 3s);
      ASSERT_GE(ms, 0) << "keepalived run " << i << ": n2 never answered" << c.report();
      ka_kill.push_back(ms);
      // The restarted keepalived removes the VIP the killed one left and preempts back.
      c.start_keepalived("n1");
      ASSERT_NO_FATAL_FAILURE(settle());
    }
  }
  long long pk = median(pillar_kill), pl = median(pillar_linkdown), kk = median(ka_kill);
  std::cout << "[ vrrp     ] takeover, median of " << kRuns << " (ms): pillar kill -9 " << pk << " [" << join(pillar_kill)
            << "], pillar link down " << pl << " [" << join(pillar_linkdown) << "], keepalived kill -9 " << kk << " ["
            << join(ka_kill) << "]\n";
  // Like with like: keepalived killed with -9 sends nothing, while pillar's
  // VRRP process outlives its master long enough to send priority 0; the
  // link-down numbers are pillar's true-crash case, reported for comparison.
  EXPECT_LE(pk, kk * 12 / 10 + 50);
}

// ---- 4. split brain and heal --------------------------------------------------------------

// Pids whose parent is `parent` (from /proc/*/stat).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(e.path() / "stat");
    std::string line;
    std::getline(in, line);
    size_t rp = line.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream rest(line.substr(rp + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') out.push_back(std::stoi(name));
  }
  return out;
}

// The node's VRRP process: the master's child that is not a worker.
pid_t vrrp_pid(Cluster& c, const std::string& n) {
  auto workers = c.worker_pids(n);
  for (pid_t p : children_of(c.pillar(n)->pid()))
    if (std::find(workers.begin(), workers.end(), p) == workers.end()) return p;
  return 0;
}

long long adverts_sent(Cluster& c, const std::string& n) {
  std::string out;
  if (netns::run({pillarctl_path(), "-s", c.sock(n), "-j", "vrrp"}, &out, 2s) != 0) return -1;
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.contains("result") || j["result"].empty()) return -1;
  return j["result"][0].value("adverts_sent", -1LL);
}

// n1 (150) is cut off the bridge, n2 (100) takes over, both are MASTER; then
// the link heals. Which advert crosses first after the heal is a race, so each
// order is forced: the node that must not be heard first has its VRRP process
// stopped (SIGSTOP) over the heal until the other has sent two adverts, which
// then wait in its socket.
//  loser_hears_winner_first: n2 reads n1's higher-priority advert before it sends
//    anything, and steps down without n1 ever hearing a second master.
//  otherwise: n1 reads n2's lower-priority advert first and answers it.
// Either way exactly one MASTER (n1) must remain, and the client, whose
// neighbour entry n2's takeover pointed at n2's MAC, must be answered by n1.
void split_and_heal(Cluster& c, bool loser_hears_winner_first) {
  ASSERT_TRUE(c.lab().set_bridge_port("n1", false));
  ASSERT_TRUE(poll_until([&] { return c.state("n1") == "MASTER" && c.state("n2") == "MASTER"; }, 2s))
      << "both should be MASTER while split" << c.report();
  EXPECT_EQ(c.vip_holders(), "n1+n2") << c.report();
  ASSERT_TRUE(poll_until([&] { return c.client_reaches("n2"); }, 2s)) << "n2 should serve while split" << c.report();
  EXPECT_EQ(c.lab().neigh_lladdr(kClient, kVip), c.lab().mac("n2")) << c.report();

  const std::string held = loser_hears_winner_first ? "n2" : "n1", sender = loser_hears_winner_first ? "n1" : "n2";
  pid_t frozen = vrrp_pid(c, held);
  ASSERT_GT(frozen, 0) << "no VRRP process found for " << held;
  ASSERT_EQ(kill(frozen, SIGSTOP), 0);
  struct Thaw {
    pid_t p;
    ~Thaw() { kill(p, SIGCONT); }
  } thaw{frozen};
  ASSERT_TRUE(c.lab().set_bridge_port("n1", true));
  long long sent0 = adverts_sent(c, sender);
  ASSERT_TRUE(poll_until([&] { return adverts_sent(c, sender) >= sent0 + 2; }, 1s)) << c.report();
  kill(frozen, SIGCONT);
  auto t0 = Clock::now();
  bool one = poll_until(
      [&] {
        auto s1 = c.state("n1"), s2 = c.state("n2");
        return (s1 == "MASTER") + (s2 == "MASTER") == 1;
      },
      1s);
  long long heal_ms = ms_since(t0);
  EXPECT_TRUE(one) << "not exactly one MASTER within 1 s of the heal" << c.report();
  // The higher priority wins.
  EXPECT_EQ(c.state("n1"), "MASTER") << c.report();
  EXPECT_EQ(c.state("n2"), "BACKUP") << c.report();
  EXPECT_TRUE(poll_until([&] { return c.vip_holders() == "n1"; }, 1s)) << c.report();
  // The winner's gratuitous ARP points the client back at n1 (no neighbour flush here).
  long long served = netns::ms_until_answer(c.lab(), kClient, kVip, "n1", t0, 2s);
  std::cout << "[ vrrp     ] split healed (" << held << " heard " << sender << " first): one MASTER after " << heal_ms
            << " ms, the client answered by n1 after " << served << " ms\n";
  EXPECT_GE(served, 0) << "the client is not answered by the winner n1 within 2 s of the heal" << c.report();
  EXPECT_LT(served, 1000) << c.report();
  EXPECT_EQ(c.lab().neigh_lladdr(kClient, kVip), c.lab().mac("n1"))
      << "the client's neighbour entry for the VIP still points at the loser" << c.report();
}

TEST_F(Vrrp, SplitBrainHealsWhenWinnerHearsLoserFirst) {
  Cluster c(tree);
  NodeOpts o1, o2;
  o1.priority = 150;
  ASSERT_NO_FATAL_FAILURE(start_pair(c, o1, o2));
  split_and_heal(c, false);
}

TEST_F(Vrrp, SplitBrainHealsWhenLoserHearsWinnerFirst) {
  Cluster c(tree);
  NodeOpts o1, o2;
  o1.priority = 150;
  ASSERT_NO_FATAL_FAILURE(start_pair(c, o1, o2));
  split_and_heal(c, true);
}

// ---- 5. notify commands --------------------------------------------------------------------

TEST_F(Vrrp, NotifyCommandsRunInOrder) {
  Cluster c(tree);
  ASSERT_TRUE(c.lab().ok()) << c.lab().error();
  std::string log = tree.path("notify.log");
  std::string script = tree.write("notify.sh", "#!/bin/sh\necho \"$@\" >> " + log + "\n");
  chmod(script.c_str(), 0755);
  NodeOpts o1, o2;
  o1.priority = 100;
  o1.vrrp_extra = "  NotifyMaster \"" + script + "\"\n  NotifyBackup \"" + script + "\"\n  NotifyFault \"" + script + "\"\n";
  o2.priority = 150;
  c.configure_pillar("n1", o1);
  c.configure_pillar("n2", o2);
  auto lines = [&] {
    std::vector<std::string> v;
    std::istringstream in(tree.read("notify.log"));
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  };
  auto text = [&] {
    std::string s;
    for (auto& l : lines()) s += "  [" + l + "]\n";
    return s;
  };
  // Alone: BACKUP, then MASTER when nobody is heard.
  c.start_pillar("n1");
  ASSERT_TRUE(poll_until([&] { return lines().size() >= 2; }, 3s)) << text() << c.report();
  // A higher priority joins: n1 steps down to BACKUP.
  c.start_pillar("n2");
  ASSERT_TRUE(poll_until([&] { return lines().size() >= 3; }, 3s)) << text() << c.report();
  // It stops cleanly: n1 is MASTER again.
  c.pillar("n2")->stop();
  ASSERT_TRUE(poll_until([&] { return lines().size() >= 4; }, 3s)) << text() << c.report();
  EXPECT_EQ(lines(), (std::vector<std::string>{"front BACKUP", "front MASTER", "front BACKUP", "front MASTER"}))
      << text();
  EXPECT_EQ(c.state("n1"), "MASTER") << c.report();
}

// ---- 6. TrackHealth --------------------------------------------------------------------------

TEST_F(Vrrp, TrackHealthFaultsWhenWorkersStopAndRecovers) {
  Cluster c(tree);
  NodeOpts o1, o2;
  o1.priority = 150;
  o1.server_extra = o2.server_extra = "StartServers 1\nServerLimit 1\n";
  o1.vrrp_extra = o2.vrrp_extra = "  TrackHealth On 200ms\n";
  ASSERT_NO_FATAL_FAILURE(start_pair(c, o1, o2));
  std::vector<pid_t> workers = c.worker_pids("n1");
  ASSERT_FALSE(workers.empty()) << c.report();
  // Resume the workers whatever happens below.
  struct Resume {
    std::vector<pid_t>& w;
    ~Resume() {
      for (pid_t p : w) kill(p, SIGCONT);
    }
  } resume{workers};
  auto t0 = Clock::now();
  for (pid_t p : workers) ASSERT_EQ(kill(p, SIGSTOP), 0);
  bool fault = poll_until([&] { return c.state("n1") == "FAULT"; }, 5s);
  long long fault_ms = ms_since(t0);
  std::cout << "[ vrrp     ] workers stopped: n1 FAULT after " << fault_ms << " ms\n";
  ASSERT_TRUE(fault) << "n1 never went FAULT with its workers stopped" << c.report();
  // Two failed probes make a fault; a probe fails by timing out after 1 s
  // (kHealthTimeoutMs), so ~2.2-2.4 s whatever the 200 ms interval.
  EXPECT_LT(fault_ms, 3500) << c.report();
  EXPECT_TRUE(poll_until([&] { return c.state("n2") == "MASTER" && c.vip_holders() == "n2"; }, 1s)) << c.report();
  EXPECT_TRUE(poll_until([&] { return c.client_reaches("n2"); }, 1s)) << c.report();

  for (pid_t p : workers) kill(p, SIGCONT);
  auto t1 = Clock::now();
  bool back = poll_until(
      [&] { return c.state("n1") == "MASTER" && c.state("n2") == "BACKUP" && c.vip_holders() == "n1"; }, 4s);
  std::cout << "[ vrrp     ] workers resumed: n1 MASTER again after " << ms_since(t1) << " ms\n";
  EXPECT_TRUE(back) << "n1 did not recover and preempt back" << c.report();
  EXPECT_TRUE(poll_until([&] { return c.client_reaches("n1"); }, 1s)) << c.report();
}

// ---- 7. interop with keepalived ---------------------------------------------------------------

// n1 runs pillar's VRRP, n2 keepalived (pillar on it only serves HTTP).
void interop(Vrrp* self, TempTree& tree, int version, bool pillar_higher) {
  (void)self;
  if (access(kKeepalived, X_OK) != 0) GTEST_SKIP() << kKeepalived << " is not installed";
  Cluster c(tree);
  ASSERT_TRUE(c.lab().ok()) << c.lab().error();
  const int hi = 150, lo = 100;
  NodeOpts o1, plain;
  o1.priority = pillar_higher ? hi : lo;
  o1.version = version;
  plain.vrrp = false;
  c.configure_pillar("n1", o1);
  c.configure_pillar("n2", plain);
  c.configure_keepalived("n2", pillar_higher ? lo : hi, version);
  const std::string winner = pillar_higher ? "n1" : "n2", loser = pillar_higher ? "n2" : "n1";
  const Millis interval = version == 2 ? 1000ms : 100ms;
  const Millis master_down = 3 * interval + interval;  // 3 intervals + Skew_Time, rounded up

  c.start_pillar("n2");
  c.start_pillar("n1");
  c.start_keepalived("n2");
  // Both start as backups; the higher priority's Master_Down_Interval ends first.
  bool agreed = poll_until([&] { return c.vip_holders() == winner; }, master_down + 3s);
  ASSERT_TRUE(agreed) << "VRRPv" << version << ": " << winner << " should hold the VIP" << c.report();
  ASSERT_TRUE(poll_until([&] { return c.state("n1") == (pillar_higher ? "MASTER" : "BACKUP"); }, master_down))
      << c.report();
  // They stay agreed for well over one Master_Down_Interval of the backup.
  auto watch_end = Clock::now() + master_down + interval;
  while (Clock::now() < watch_end) {
    ASSERT_EQ(c.vip_holders(), winner) << "VRRPv" << version << ": the two disagree" << c.report();
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(c.state("n1"), pillar_higher ? "MASTER" : "BACKUP") << c.report();
  EXPECT_TRUE(poll_until([&] { return c.client_reaches(winner); }, 2s)) << c.report();

  // The master is killed (-9): pillar's VRRP process still sends priority 0,
  // keepalived sends nothing and its peer waits out Master_Down_Interval.
  auto t0 = Clock::now();
  if (pillar_higher) {
    c.pillar("n1")->signal(SIGKILL);
  } else {
    c.crash_keepalived("n2");
  }
  long long ms = netns::ms_until_answer(c.lab(), kClient, kVip, loser, t0, master_down + 2s);
  std::cout << "[ vrrp     ] interop VRRPv" << version << ", " << (pillar_higher ? "pillar" : "keepalived")
            << " master killed: the client is answered by " << (pillar_higher ? "keepalived's" : "pillar's")
            << " node after " << ms << " ms\n";
  EXPECT_GE(ms, 0) << "the backup did not take over" << c.report();
  // keepalived keeps a VIP its SIGKILLed instance had added; only the new master counts.
  EXPECT_TRUE(poll_until([&] { return c.holds_vip(loser); }, 1s)) << c.report();
  if (pillar_higher) {
    EXPECT_EQ(c.vip_holders(), "n2") << c.report();
  } else {
    // The address is added (and answers) a moment before the state is
    // published: poll, bounded.
    EXPECT_TRUE(poll_until([&] { return c.state("n1") == "MASTER"; }, 1s)) << c.report();
  }
}

TEST_F(Vrrp, InteropV3PillarMaster) { interop(this, tree, 3, true); }
TEST_F(Vrrp, InteropV3KeepalivedMaster) { interop(this, tree, 3, false); }
TEST_F(Vrrp, InteropV2PillarMaster) { interop(this, tree, 2, true); }
TEST_F(Vrrp, InteropV2KeepalivedMaster) { interop(this, tree, 2, false); }

}  // namespace
}  // namespace itest

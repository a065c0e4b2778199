// Network-namespace lab for the VRRP integration tests: a bridge namespace
// and one namespace per node, each node's eth0 a veth whose other end is a
// port of the bridge. Everything is removed (and every process left in the
// namespaces killed) when the Lab goes away. Needs root.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace itest::netns {

using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Runs argv (PATH lookup), stdin /dev/null, stdout+stderr into *output,
// bounded by `timeout` (killed then). Returns the exit code, -1 when killed.
int run(const std::vector<std::string>& argv, std::string* output = nullptr, Millis timeout = Millis(5000));

// Whether network namespaces can be made here; *why says why not.
bool usable(std::string* why);

// A process started as `ip netns exec NS ARGV...` (ip execs, so pid() is the
// program itself), stdout and stderr appended to `log_path`. The destructor
// stops it: SIGTERM, SIGKILL after a grace period, reaped.
class NsProcess {
 public:
  NsProcess(const std::string& ns, const std::vector<std::string>& argv, const std::string& log_path);
  ~NsProcess();
  NsProcess(const NsProcess&) = delete;
  NsProcess& operator=(const NsProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool alive();                          // not exited yet (reaps when it has)
  void signal(int sig);                  // no-op once reaped
  bool wait_exit(Millis timeout);        // true when it exited within timeout
  int stop(Millis grace = Millis(3000));  // SIGTERM, then SIGKILL; exit status or -1
  std::string log() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string log_path_;
};

class Lab {
 public:
  // Node i (0-based) gets eth0 10.99.0.(i+1)/24. Node names are short ("n1", "c").
  explicit Lab(const std::vector<std::string>& nodes);
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

  std::string ns(const std::string& node) const;  // the namespace's name
  std::string sw() const { return sw_; }          // the bridge namespace
  std::string addr(const std::string& node) const;  // "10.99.0.N"
  std::string port(const std::string& node) const;  // the bridge-side veth name (in sw())

  // `ip ARGS`; returns the exit code, output into *out.
  int ip(const std::vector<std::string>& args, std::string* out = nullptr) const;
  bool has_address(const std::string& node, const std::string& ip) const;  // on eth0
  std::string mac(const std::string& node) const;                          // eth0's, lower case
  std::string neigh_lladdr(const std::string& node, const std::string& ip) const;  // "" when none
  bool set_bridge_port(const std::string& node, bool up) const;  // `ip -n SW link set pX up|down`
  bool set_link(const std::string& node, bool up) const;         // `ip -n NODE link set eth0 up|down`
  std::vector<pid_t> pids(const std::string& node) const;        // `ip netns pids`
  void kill_all(const std::string& node) const;                  // SIGKILL all of them
  bool wait_no_processes(const std::string& node, Millis timeout) const;

  // A socket created inside the node's namespace (-1 on failure).
  int socket_in(const std::string& node, int type) const;

 private:
  std::string prefix_;
  std::string sw_;
  std::vector<std::string> nodes_;
  std::vector<std::string> made_;  // namespaces to delete
  bool ok_ = false;
  std::string error_;
};

// ---- HTTP from inside a namespace ----------------------------------------------

struct Answer {
  int status = 0;  // 0: no answer
  std::string body;
  std::string error;
};

// One GET http://IP:PORT/ (HTTP/1.0) from `node`, bounded by `timeout`.
Answer http_get(const Lab& lab, const std::string& node, const std::string& ip, uint16_t port = 80,
                Millis timeout = Millis(1000));

// Starts a fresh GET from `node` to IP every 10 ms (each with its own short
// deadline, overlapping) until one is answered 200 with body `want`.
// Returns ms from `t0` to that answer's arrival, or -1 when none by t0+limit.
long long ms_until_answer(const Lab& lab, const std::string& node, const std::string& ip, const std::string& want,
                          Clock::time_point t0, Millis limit, uint16_t port = 80);

}  // namespace itest::netns

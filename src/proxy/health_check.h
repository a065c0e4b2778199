// Active health checks of balancer members, done once per node by the
// master (not once per worker) with the result written into the shared
// member states: hcfails failures in a row set the member's Error flag,
// hcpasses successes clear it. Non-blocking: the master polls fds() and
// calls step() when they are ready or deadline() passes. An https member is
// checked over TLS (HealthTarget::tls), with the same certificate checks as
// requests to it.
#pragma once
#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/fd.h"
#include "core/transport.h"
#include "proxy/balancer.h"

namespace pillar::proxy {

struct HealthTarget {
  MemberState* member = nullptr;
  std::string name;                 // for the log: the member URL
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string method = "GET";       // GET, HEAD, OPTIONS or TCP (connect only)
  std::string host;                 // Host header
  std::string uri = "/";
  uint64_t interval_ms = 2000, timeout_ms = 2000;
  uint32_t passes = 2, fails = 3;
  int expect = 0;                   // 0: any 2xx/3xx
  std::string body;                 // required substring, empty: none
  // An https:// member: the connected socket's TLS client transport (the
  // balancer's SSLProxy* context); null: plain TCP.
  std::function<std::unique_ptr<core::Transport>(core::Fd)> tls;
};

// Rise/fall hysteresis (HAProxy's rise/fall), apart from the probing so it
// can be tested without sockets: a member in service is taken out after
// `fall` failed checks in a row, one out of service is put back after `rise`
// passing checks in a row; a result of the other kind restarts the run, and
// so does a change (the Error flag is also set and cleared by hand).
struct HealthRuns {
  uint32_t passes = 0, fails = 0;  // the current runs of passing and failing checks
};
enum class HealthChange { None, Down, Up };
// One check's result for a member now in error (`in_error`) or not.
HealthChange health_result(HealthRuns& runs, bool in_error, bool ok, uint32_t rise, uint32_t fall);

class HealthChecker {
 public:
  HealthChecker() = default;
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void set_targets(std::vector<HealthTarget> targets, uint64_t now_ms);
  // Appends the fds to wait on (with their events).
  void fds(std::vector<pollfd>& out) const;
  uint64_t deadline() const;  // UINT64_MAX when nothing to do
  // Advances every probe whose fd is ready or whose time came.
  void step(uint64_t now_ms, const std::vector<pollfd>& ready);
  size_t size() const { return probes_.size(); }

  // Test hook: the verdict of one response (status line + headers + body so far).
  static bool response_ok(const std::string& response, int expect, const std::string& body);

 private:
  struct Probe {
    HealthTarget t;
    core::Fd fd;                          // while the connect is in progress
    std::unique_ptr<core::Transport> io;  // once connected (TLS for an https member)
    bool in_flight() const { return fd.valid() || io != nullptr; }
    std::string out;  // the request, sent from out_pos
    size_t out_pos = 0;
    short wait = POLLOUT;  // what the transport waits for
    uint64_t started = 0, next = 0;
    std::string in;
    HealthRuns runs;
  };
  void start(Probe& p, uint64_t now);
  void connected(Probe& p, uint64_t now);
  void exchange(Probe& p, uint64_t now);
  void verdict(Probe& p, uint64_t now, bool ok, const char* why);
  std::vector<Probe> probes_;
};

}  // namespace pillar::proxy

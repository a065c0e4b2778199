#include "server/process/vrrp_child.h"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/fd.h"
#include "core/log.h"
#include "ha/vrrp_node.h"

namespace pillar::server {

std::string vrrp_signature(const config::ServerConfig& c) {
  std::string s;
  for (const auto& v : c.vrrp) {
    s += v.name + "|" + v.interface + "|" + std::to_string(v.vrid) + "|" + std::to_string(v.priority) + "|" +
         std::to_string(v.advert_interval_cs) + "|" + std::to_string(v.preempt) + "|" +
         std::to_string(v.preempt_delay.count()) + "|" + v.notify_master + "|" + v.notify_backup + "|" +
         v.notify_fault + "|" + std::to_string(v.track_health) + "|" + std::to_string(v.track_interval.count()) + "|" +
         std::to_string(v.version) + "|" + std::to_string(v.accept_mode);
    for (const auto& a : v.addresses) s += "|" + std::to_string(a.addr.s_addr) + "/" + std::to_string(a.prefix);
    for (const auto& p : v.unicast_peers) s += "|u" + std::to_string(p.s_addr);
    s += "\n";
  }
  return s;
}

void VrrpChild::start(const config::ServerConfig& c, const std::vector<ListenerSocket>& listeners,
                      core::shm::VrrpStatusTable* status, const std::vector<int>& master_fds) {
  using Clock = std::chrono::steady_clock;
  if (c.vrrp.empty() || pid_ > 0) return;
  if (Clock::now() - started_ < std::chrono::seconds(1)) return;  // a failing setup must not spin
  started_ = Clock::now();
  ha::NodeSetup setup;
  setup.instances = c.vrrp;
  setup.status = status;
  for (const auto& l : listeners) {
    sockaddr_storage t = l.bound;
    if (l.addr.any_address && t.ss_family == AF_INET)
      reinterpret_cast<sockaddr_in&>(t).sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setup.health_targets.push_back(t);
  }
  core::ErrorLog::flush();
  pid_t pid = fork();
  if (pid < 0) {
    core::log(core::LogLevel::Error, "vrrp", "fork failed: {}", strerror(errno));
    return;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // the master gone: release the VIP so the peer takes over
    for (int fd : master_fds) core::Fd{fd}.reset();  // the master's, inherited: closed in this process only
    _exit(ha::run_vrrp_node(setup));
  }
  pid_ = pid;
  signature_ = vrrp_signature(c);
}

void VrrpChild::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {  // its clean stop is a few packets and netlink calls
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = 0;
      return;
    }
    usleep(10000);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

void VrrpChild::reconfigure(const config::ServerConfig& c, const std::vector<ListenerSocket>& listeners,
                            core::shm::VrrpStatusTable* status, const std::vector<int>& master_fds) {
  if (vrrp_signature(c) == signature_) return;
  stop();  // new <Vrrp> settings: the process restarts with them (a master hands over first)
  started_ = {};
  start(c, listeners, status, master_fds);
}

bool VrrpChild::reaped(pid_t pid, int status, bool stopping) {
  if (pid_ <= 0 || pid != pid_) return false;
  pid_ = 0;
  if (!stopping) {
    core::log(core::LogLevel::Error, "vrrp", "VRRP process {} exited ({}); restarting it", pid,
              WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "status " + std::to_string(WEXITSTATUS(status)));
  }
  return true;
}

}  // namespace pillar::server

#include "ha/vrrp_node.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/fd.h"
#include "core/log.h"
#include "ha/vrrp_net.h"
#include "ha/vrrp_packet.h"
#include "ha/vrrp_state.h"

namespace pillar::ha {
namespace {

constexpr int kHealthFailuresForFault = 2;
constexpr uint64_t kHealthTimeoutMs = 1000;

using core::mono_ms;
using core::wall_ms;

std::string ip_text(in_addr a) {
  char b[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, b, sizeof b);
  return b;
}

// TrackHealth: an HTTP request to one of our own listeners, non-blocking.
class HealthProbe {
 public:
  explicit HealthProbe(const sockaddr_storage& target, uint64_t interval_ms) : target_(target), interval_(interval_ms) {}
  int fd() const { return fd_.get(); }  // -1 between probes
  short events() const { return sent_ ? POLLIN : POLLOUT; }
  uint64_t deadline() const { return fd_ ? started_ + kHealthTimeoutMs : next_; }

  // Returns +1 healthy, -1 unhealthy, 0 nothing decided yet.
  int step(uint64_t now, short revents) {
    if (!fd_) {
      if (now < next_) return 0;
      start(now);
      return 0;
    }
    if (now >= started_ + kHealthTimeoutMs) return finish(now, false);
    if (revents & (POLLERR | POLLHUP) && !(revents & POLLIN)) return finish(now, false);
    if (!sent_ && (revents & POLLOUT)) {
      static constexpr char kReq[] = "GET / HTTP/1.0\r\nUser-Agent: pillar-vrrp-health\r\n\r\n";
      if (::send(fd_.get(), kReq, sizeof kReq - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof kReq - 1))
        return finish(now, false);
      sent_ = true;
      return 0;
    }
    if (sent_ && (revents & POLLIN)) {
      char buf[16];
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      return finish(now, n >= 5 && std::memcmp(buf, "HTTP/", 5) == 0);
    }
    return 0;
  }

 private:
  void start(uint64_t now) {
    fd_.reset(::socket(target_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    started_ = now;
    sent_ = false;
    socklen_t len = target_.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (fd_) ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&target_), len);
  }
  int finish(uint64_t now, bool ok) {
    reset();
    next_ = now + interval_;
    return ok ? 1 : -1;
  }
  void reset() { fd_.reset(); }
  sockaddr_storage target_;
  uint64_t interval_;
  core::Fd fd_;
  bool sent_ = false;
  uint64_t started_ = 0, next_ = 0;
};

struct Instance {
  config::VrrpInstance cfg;
  InterfaceInfo ifc;
  VrrpSocket sock;
  std::unique_ptr<VrrpMachine> machine;
  core::shm::VrrpStatusEntry* status = nullptr;
  std::unique_ptr<HealthProbe> probe;
  int health_failures = 0;
  std::deque<std::string> notify_queue;  // run one at a time, in order
  pid_t notify_pid = 0;
  std::vector<uint8_t> out;
};

class Node {
 public:
  explicit Node(const NodeSetup& s) : setup_(s) {}
  int run();

 private:
  bool open_all();
  void apply(Instance& in, const std::vector<VrrpAction>& actions);
  void send_advert(Instance& in, uint8_t priority);
  void on_packet(Instance& in);
  void publish(Instance& in);
  void run_notify(Instance& in);

  const NodeSetup& setup_;
  std::vector<std::unique_ptr<Instance>> inst_;
};

bool Node::open_all() {
  int slot = 0;
  for (const auto& c : setup_.instances) {
    auto in = std::make_unique<Instance>();
    in->cfg = c;
    std::vector<in_addr> vips;
    for (const auto& a : c.addresses) vips.push_back(a.addr);
    std::string err;
    if (!interface_info(c.interface, vips, in->ifc, err) || !in->sock.open(in->ifc, c.interface, err)) {
      core::log(core::LogLevel::Emerg, "vrrp", "<Vrrp {}>: {}", c.name, err);
      return false;
    }
    // Addresses left on the interface by a crash are not ours until we are master.
    for (const auto& a : c.addresses) {
      if (!remove_address(in->ifc.index, a.addr, a.prefix, err, true))
        core::log(core::LogLevel::Warn, "vrrp", "<Vrrp {}>: {}", c.name, err);
    }
    VrrpParams p;
    p.vrid = c.vrid;
    p.priority = c.priority;
    p.advert_interval_cs = c.advert_interval_cs;
    p.preempt = c.preempt;
    p.preempt_delay_ms = static_cast<uint32_t>(c.preempt_delay.count());
    p.accept_mode = c.accept_mode;
    p.primary = in->ifc.primary;
    in->machine = std::make_unique<VrrpMachine>(p);
    if (setup_.status && slot < core::shm::VrrpStatusTable::kMax) {
      in->status = &setup_.status->entries[slot++];
      std::snprintf(in->status->name, sizeof in->status->name, "%s", c.name.c_str());
      std::snprintf(in->status->interface, sizeof in->status->interface, "%s", c.interface.c_str());
      in->status->vrid.store(c.vrid);
      in->status->priority.store(c.priority);
      in->status->used.store(1);
    }
    if (c.track_health && !setup_.health_targets.empty())
      in->probe = std::make_unique<HealthProbe>(setup_.health_targets[0], static_cast<uint64_t>(c.track_interval.count()));
    core::log(core::LogLevel::Notice, "vrrp", "<Vrrp {}>: VRID {} on {} ({}), priority {}, advert every {} ms, VRRPv{}",
              c.name, c.vrid, c.interface, ip_text(in->ifc.primary), c.priority, c.advert_interval_cs * 10, c.version);
    inst_.push_back(std::move(in));
  }
  return true;
}

void Node::send_advert(Instance& in, uint8_t priority) {
  VrrpAdvert a;
  a.version = in.cfg.version;
  a.vrid = in.cfg.vrid;
  a.priority = priority;
  a.interval_cs = in.cfg.advert_interval_cs;
  for (const auto& v : in.cfg.addresses) a.addresses.push_back(v.addr);
  auto send_to = [&](in_addr dst) {
    encode(a, in.ifc.primary, dst, in.out);
    if (in.sock.send(in.out, dst) && in.status) in.status->adverts_sent.fetch_add(1);
  };
  if (in.cfg.unicast_peers.empty()) {
    in_addr group{htonl(kVrrpGroup)};
    send_to(group);
  } else {
    for (in_addr peer : in.cfg.unicast_peers) send_to(peer);
  }
}

void Node::apply(Instance& in, const std::vector<VrrpAction>& actions) {
  publish(in);  // the new state is visible before its addresses come or go
  std::string err;
  for (const auto& a : actions) {
    switch (a.kind) {
      case VrrpAction::Kind::SendAdvert: send_advert(in, a.priority); break;
      case VrrpAction::Kind::AddAddresses:
        for (const auto& v : in.cfg.addresses) {
          if (!add_address(in.ifc.index, v.addr, v.prefix, err))
            core::log(core::LogLevel::Error, "vrrp", "<Vrrp {}>: {}", in.cfg.name, err);
        }
        break;
      case VrrpAction::Kind::RemoveAddresses:
        for (const auto& v : in.cfg.addresses) {
          if (!remove_address(in.ifc.index, v.addr, v.prefix, err, true))
            core::log(core::LogLevel::Error, "vrrp", "<Vrrp {}>: {}", in.cfg.name, err);
        }
        break;
      case VrrpAction::Kind::GratuitousArp:
        for (const auto& v : in.cfg.addresses) {
          if (!send_gratuitous_arp(in.ifc.index, in.ifc.mac, v.addr, err))
            core::log(core::LogLevel::Warn, "vrrp", "<Vrrp {}>: {}", in.cfg.name, err);
        }
        break;
      case VrrpAction::Kind::Notify: {
        core::log(core::LogLevel::Notice, "vrrp", "<Vrrp {}>: entering {} state", in.cfg.name, to_string(a.state));
        if (in.status) in.status->last_transition_ms.store(wall_ms());
        const std::string& cmd = a.state == VrrpState::Master   ? in.cfg.notify_master
                                 : a.state == VrrpState::Backup ? in.cfg.notify_backup
                                 : a.state == VrrpState::Fault  ? in.cfg.notify_fault
                                                                : std::string();
        if (!cmd.empty()) in.notify_queue.push_back(cmd + " " + in.cfg.name + " " + to_string(a.state));
        break;
      }
    }
  }
  run_notify(in);
  publish(in);
}

void Node::run_notify(Instance& in) {
  if (in.notify_pid > 0 || in.notify_queue.empty()) return;
  std::string cmd = in.notify_queue.front();
  in.notify_queue.pop_front();
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid > 0) in.notify_pid = pid;
}

void Node::publish(Instance& in) {
  if (!in.status) return;
  in.status->state.store(static_cast<uint8_t>(in.machine->state()));
  in.status->master_addr.store(in.machine->master_address().s_addr);
  in.status->transitions.store(in.machine->transitions());
}

void Node::on_packet(Instance& in) {
  uint8_t buf[2048];
  for (;;) {
    ssize_t n = in.sock.receive(buf, sizeof buf);
    if (n <= 0) return;
    VrrpAdvert a;
    in_addr src{};
    DecodeError e = decode_ip(buf, static_cast<size_t>(n), a, &src);
    if (e == DecodeError::None && a.version != in.cfg.version) e = DecodeError::BadVersion;
    if (e != DecodeError::None) {
      if (in.status) in.status->dropped[static_cast<size_t>(e) < 11 ? static_cast<size_t>(e) : 11].fetch_add(1);
      core::log(core::LogLevel::Debug, "vrrp", "<Vrrp {}>: dropped a packet from {}: {}", in.cfg.name, ip_text(src),
                to_string(e));
      continue;
    }
    if (a.vrid != in.cfg.vrid || src.s_addr == in.ifc.primary.s_addr) {
      if (in.status) in.status->dropped[11].fetch_add(1);
      continue;
    }
    if (in.status) in.status->adverts_received.fetch_add(1);
    apply(in, in.machine->on_advert(mono_ms(), src, a.priority, a.interval_cs));
  }
}

int Node::run() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGUSR1, SIGWINCH}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  core::Fd signals(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  int sfd = signals.get();
  if (!open_all()) {
    core::ErrorLog::flush();
    return 1;
  }
  for (auto& in : inst_) apply(*in, in->machine->startup(mono_ms()));
  std::vector<pollfd> fds;
  for (bool running = true; running;) {
    uint64_t now = mono_ms();
    uint64_t deadline = now + 1000;
    fds.assign(1, pollfd{sfd, POLLIN, 0});
    for (auto& in : inst_) {
      deadline = std::min(deadline, in->machine->next_deadline());
      fds.push_back({in->sock.fd(), POLLIN, 0});
      if (in->probe) {
        deadline = std::min(deadline, in->probe->deadline());
        fds.push_back({in->probe->fd(), in->probe->events(), 0});  // fd -1 is ignored by poll
      }
    }
    int timeout = deadline > now ? static_cast<int>(deadline - now) : 0;
    poll(fds.data(), fds.size(), timeout);
    now = mono_ms();
    size_t k = 1;
    for (auto& in : inst_) {
      if (fds[k++].revents & POLLIN) on_packet(*in);
      short probe_events = 0;
      if (in->probe) probe_events = fds[k++].revents;
      if (in->machine->next_deadline() <= now) apply(*in, in->machine->on_timer(now));
      if (in->probe) {
        int verdict = in->probe->step(now, probe_events);
        if (verdict < 0 && ++in->health_failures == kHealthFailuresForFault) {
          core::log(core::LogLevel::Error, "vrrp", "<Vrrp {}>: TrackHealth: our listener does not answer", in->cfg.name);
          apply(*in, in->machine->set_fault(now, true));
        } else if (verdict > 0) {
          if (in->health_failures >= kHealthFailuresForFault) apply(*in, in->machine->set_fault(now, false));
          in->health_failures = 0;
        }
      }
    }
    signalfd_siginfo si{};
    while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      if (si.ssi_signo == SIGCHLD) {
        pid_t pid;
        while ((pid = waitpid(-1, nullptr, WNOHANG)) > 0) {
          for (auto& in : inst_) {
            if (in->notify_pid == pid) {
              in->notify_pid = 0;
              run_notify(*in);
            }
          }
        }
      } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
        running = false;
      }
    }
  }
  for (auto& in : inst_) {
    apply(*in, in->machine->shutdown(mono_ms()));
    if (in->status) in->status->state.store(static_cast<uint8_t>(VrrpState::Init));
  }
  core::log(core::LogLevel::Notice, "vrrp", "stopped");
  core::ErrorLog::flush();
  return 0;
}

}  // namespace

int run_vrrp_node(const NodeSetup& setup) {
  Node n(setup);
  return n.run();
}

}  // namespace pillar::ha

// The master's start, poll loop and stop. One thread: signals arrive on a
// signalfd, and the control socket, the health checks and the maintenance
// tick share one poll(); nothing here blocks for long (a stalled pillarctl
// client or a hung member cannot keep the master from reaping workers).
#include "server/process/master.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "core/fd.h"
#include "core/load_average.h"
#include "core/log.h"
#include "core/socket_address.h"
#include "rewrite/prg_map.h"
#include "server/control/balancer_commands.h"
#include "server/control/cache_commands.h"
#include "server/control/status_commands.h"
#include "server/control/vrrp_commands.h"
#include "server/process/balancer_state_file.h"
#include "core/clock.h"
#include "server/process/master_state.h"
#include "tls/ticket_keys.h"

#include <openssl/crypto.h>

namespace pillar::server {

namespace {
constexpr int kMaintenanceMs = 1000;
using Clock = std::chrono::steady_clock;
}  // namespace

bool Master::create_shared_memory(const config::ServerConfig& cfg, std::string& error) {
  const auto& p = cfg.process;
  uint32_t rows = p.server_limit * 2;  // spare rows: a draining generation beside the new one
  const uint32_t vhost_capacity = core::shm::VhostStats::capacity_for(cfg.vhosts.size());
  size_t vhost_bytes = sizeof(core::shm::VrrpStatusTable) + sizeof(proxy::MemberTable) +
                       sizeof(core::shm::TicketKeyTable) + 192 +
                       core::shm::VhostStats::bytes_needed(rows, vhost_capacity) + 256;
  const size_t rate_bytes = core::shm::RateTable::bytes_needed(core::shm::RateTable::kDefaultBuckets) + 64 +
                            core::shm::ClientConnTable::bytes_needed(core::shm::ClientConnTable::kDefaultBuckets) + 64;
  if (!shm_.create(core::shm::Scoreboard::bytes_needed(rows, p.thread_limit) + vhost_bytes + rate_bytes + 4096, error) ||
      !board_.create(shm_, rows, p.thread_limit) || !vhost_stats_.create(shm_, rows, vhost_capacity) ||
      !rate_table_.create(shm_, core::shm::RateTable::kDefaultBuckets, static_cast<uint64_t>(core::wall_ms())) ||
      !client_conns_.create(shm_, core::shm::ClientConnTable::kDefaultBuckets))
    return false;
  if (void* v = shm_.allocate(sizeof(core::shm::VrrpStatusTable))) vrrp_status_ = new (v) core::shm::VrrpStatusTable();
  if (void* v = shm_.allocate(sizeof(proxy::MemberTable))) {
    members_ = new (v) proxy::MemberTable();
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    rnd.read(reinterpret_cast<char*>(&members_->nonce), sizeof members_->nonce);
  }
  // Session-ticket keys: made here, before any fork, and kept for the
  // master's life (graceful and full restarts alike); tick() rotates them.
  if (void* v = shm_.allocate(sizeof(core::shm::TicketKeyTable))) {
    tls::TicketKeys::instance().attach(new (v) core::shm::TicketKeyTable(), cfg.ticket_key_rotation);
  } else {
    error = "no room for the TLS ticket keys";
    return false;
  }
  board_.header().start_ms.store(core::wall_ms());
  board_.header().restart_ms.store(core::wall_ms());
  workers_ = std::make_unique<Supervisor>(board_, Supervisor::Holdings{&vhost_stats_, &cache_, members_, &client_conns_},
                                          [this] { return worker_spec(); });
  return true;
}

std::vector<int> Master::master_fds() const {
  std::vector<int> fds;
  control_.append_fds(fds);
  return fds;
}

WorkerSpec Master::worker_spec() const {
  WorkerSpec spec;
  spec.runtime = rt_.get();
  spec.listeners = &listeners_.sockets();
  spec.drop_privileges = identity_.drop;
  spec.uid = identity_.uid;
  spec.gid = identity_.gid;
  spec.close_fds = master_fds();  // a command may fork (reload): its client is among them
  return spec;
}

void Master::register_commands() {
  add_cache_commands(commands_, {&cache_, [this]() -> const config::ServerConfig& { return rt_->config(); }});
  add_balancer_commands(
      commands_, {[this]() -> const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& { return rt_->balancers(); },
                  [this](const std::vector<std::string>& args) { return change_members(args); }});
  StatusSource status;
  status.workers = workers_.get();
  status.process = [this]() -> const config::ProcessConfig& { return rt_->config().process; };
  status.config_name = opts_.config_file.empty() ? "(embedded default)" : opts_.config_file;
  status.started_ms = started_ms_;
  status.reload = [this] {
    std::string error;
    if (!graceful_reload(false, error))
      throw std::runtime_error("reload refused, old configuration still serving: " + error);
  };
  add_status_commands(commands_, std::move(status));
  add_vrrp_commands(commands_, vrrp_status_);
  commands_.add("tls", "TLS session-ticket keys: generation and age; 'tls rotate-ticket-keys' makes a new key now",
                [this](const std::vector<std::string>& args) {
                  auto& keys = tls::TicketKeys::instance();
                  if (!args.empty() && args[0] == "rotate-ticket-keys") {
                    uint64_t g = keys.rotate(rt_->config().ticket_key_rotation);
                    core::log(core::LogLevel::Notice, "tls", "session-ticket key rotated by pillarctl (generation {})", g);
                  } else if (!args.empty()) {
                    throw std::runtime_error("usage: tls [rotate-ticket-keys]");
                  }
                  core::shm::TicketKeySet set = keys.current();
                  nlohmann::json j = {{"ticket_key_generation", set.generation},
                                      {"ticket_keys", set.count},
                                      {"rotation_seconds", rt_->config().ticket_key_rotation.count() / 1000},
                                      {"current_key_age_ms", core::mono_ms() - set.keys[0].created_ms}};
                  OPENSSL_cleanse(&set, sizeof set);
                  return j;
                });
}

void Master::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (!vrrp_.reaped(pid, status, stopping_) && !cgid_.reaped(pid, status, stopping_) &&
        !rewrite::ProgramMap::reaped(pid, status))
      workers_->reaped(pid, status);
  }
}

// Run-time changes (pillarctl, balancer-manager in any worker) reach the
// ProxyStateFile within a maintenance tick.
void Master::save_balancer_state() {
  const std::string& path = rt_->config().proxy_state_file;
  if (path.empty()) return;
  std::string text = render_balancer_state(rt_->balancers()) + added_.render();  // added members persist
  if (text == balancer_state_written_) return;
  std::string error;
  if (!write_balancer_state(path, text, error)) {
    core::log(core::LogLevel::Error, "proxy", "ProxyStateFile: {}", error);
    return;
  }
  balancer_state_written_ = text;
}

void Master::tick() {
  board_.header().load_milli.store(core::read_load_milli(), std::memory_order_relaxed);  // PillarShedLoad's
  if (tls::TicketKeys::instance().maintain(rt_->config().ticket_key_rotation, core::mono_ms()))
    core::log(core::LogLevel::Notice, "tls", "session-ticket key rotated (generation {})",
              tls::TicketKeys::instance().generation());
  save_balancer_state();
  cache_.retry_reaped();
  workers_->maintain(rt_->config().process);
  if (!stopping_) vrrp_.start(rt_->config(), listeners_.sockets(), vrrp_status_, master_fds());  // when it is not running
  if (!stopping_) start_cgi_launcher();
  if (!stopping_) rewrite::ProgramMap::maintain();  // RewriteMap prg: helpers that died
  // Old runtimes can go once no child forked from them remains.
  if (!workers_->old_generation_alive()) old_runtimes_.clear();
}

void Master::shutdown(bool graceful) {
  stopping_ = true;
  save_balancer_state();
  vrrp_.stop();  // the virtual address moves to the peer before we stop serving
  workers_->stop_all(graceful, rt_->config().process.graceful_shutdown_timeout, [this] { reap(); });
  cgid_.stop();  // after the workers: their scripts could finish
}

void Master::start_cgi_launcher() {
  std::vector<int> fds = master_fds();
  for (const auto& l : listeners_.sockets()) fds.push_back(l.fd);
  cgid_.start(rt_->config(), fds);
}

bool Master::write_pid_file() {
  pid_file_ = rt_->config().process.pid_file;
  FILE* f = std::fopen(pid_file_.c_str(), "w");
  if (!f) {
    core::log(core::LogLevel::Warn, "core", "cannot write PidFile {}: {}", pid_file_, strerror(errno));
    pid_file_.clear();
    return false;
  }
  std::fprintf(f, "%d\n", getpid());
  std::fclose(f);
  return true;
}

// Until a stop signal: the maintenance tick, control requests, health
// checks and signals (reap, reload, stop).
void Master::serve(const sigset_t& signals) {
  core::Fd sfd(signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  auto next_tick = Clock::now();
  for (;;) {
    auto now = Clock::now();
    if (now >= next_tick) {
      tick();
      next_tick = now + std::chrono::milliseconds(kMaintenanceMs);
    }
    int64_t wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now()).count();
    wait_ms = control_.timeout_ms(health_.wait_ms(wait_ms));
    std::vector<pollfd> fds = {{sfd.get(), POLLIN, 0}};
    control_.poll_fds(fds);
    health_.poll_fds(fds);
    int n = poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait_ms, 0)));
    health_.step(fds);
    control_.step(fds, commands_);  // also when nothing is ready: it drops clients past their deadline
    if (n <= 0) continue;
    signalfd_siginfo si{};
    while (read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGCHLD) {
        reap();
        tick();  // a crashed worker is replaced at once
        continue;
      }
      if (sig == SIGUSR1 || sig == SIGHUP) {
        core::log(core::LogLevel::Notice, "core", "caught {}, {}", sig == SIGHUP ? "SIGHUP" : "SIGUSR1",
                  sig == SIGHUP ? "restarting" : "doing graceful restart");
        std::string error;
        graceful_reload(sig == SIGHUP, error);
        continue;
      }
      bool graceful = sig == SIGWINCH;
      core::log(core::LogLevel::Notice, "core", "caught {}, {}", sig == SIGWINCH ? "SIGWINCH" : strsignal(sig),
                graceful ? "shutting down gracefully" : "shutting down");
      shutdown(graceful);
      return;
    }
  }
}

// -k start, once what start can fail on has been reported: stdin and
// stdout become /dev/null and stderr the error log (Apache's daemon does the
// same), so the starter's terminal or pipes are released. An ErrorLog on
// stderr has nowhere to go then: it is said on stderr first.
void Master::detach_stdio() {
  const auto& sink = rt_->error_sink();
  int log_fd = sink ? sink->fd() : 2;
  if (log_fd == 2)
    std::fprintf(stderr, "pillar: ErrorLog is stderr, which -k start detaches: errors are discarded; set ErrorLog FILE\n");
  core::ErrorLog::flush();
  std::fflush(stdout);
  std::fflush(stderr);
  core::Fd null(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return;
  dup2(null.get(), 0);
  dup2(null.get(), 1);
  dup2(log_fd == 2 || log_fd < 0 ? null.get() : log_fd, 2);
}

int Master::run(std::unique_ptr<config::ServerConfig> cfg) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGWINCH, SIGCHLD}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // A log file reaching RLIMIT_FSIZE fails the write (counted, reported)
  // instead of killing the process; workers inherit this.
  signal(SIGXFSZ, SIG_IGN);
  core::raise_fd_limit();

  std::string error;
  if (!create_shared_memory(*cfg, error)) {
    std::fprintf(stderr, "pillar: cannot create the scoreboard: %s\n", error.c_str());
    return 1;
  }
  if (!cfg->proxy_state_file.empty()) added_.load(cfg->proxy_state_file);  // members added before the restart
  if (!install(std::move(cfg), error)) {
    std::fprintf(stderr, "pillar: %s\n", error.c_str());
    core::log(core::LogLevel::Emerg, "core", "{}", error);
    core::ErrorLog::flush();
    return 1;
  }
  for (const auto& l : listeners_.sockets()) {
    std::string ep = core::endpoint_text(l.bound);
    // Always on stderr too: tests and users learn ephemeral ports from it.
    std::fprintf(stderr, "pillar: listening on %s://%s/\n", l.addr.https ? "https" : "http", ep.c_str());
    core::log(core::LogLevel::Notice, "core", "listening on {}", ep);
  }
  std::fflush(stderr);
  write_pid_file();
  started_ms_ = core::wall_ms();
  if (!rt_->config().proxy_state_file.empty()) {
    size_t n = restore_balancer_state(rt_->config().proxy_state_file, rt_->balancers());
    if (n) core::log(core::LogLevel::Notice, "proxy", "ProxyStateFile: restored {} member state(s)", n);
  }
  register_commands();
  if (!rt_->config().process.control_socket.empty() &&
      !control_.open(rt_->config().process.control_socket, error)) {
    core::log(core::LogLevel::Error, "core", "{}; pillarctl will not reach this server", error);
  }
  const auto& pc = rt_->config().process;
  core::log(core::LogLevel::Notice, "core",
            "Pillar {} started (pid {}): {} workers, {} connection slots each, MaxRequestWorkers {}",
            PILLAR_VERSION_STRING, getpid(), pc.start_servers, pc.threads_per_child, pc.max_request_workers);
  if (!cgid_.open(error)) core::log(core::LogLevel::Error, "cgid", "{}; CGI scripts will answer 503", error);
  if (opts_.detach_stdio) detach_stdio();  // before any child, which would inherit the terminal's descriptors
  start_cgi_launcher();  // before the workers, which inherit its address
  for (uint32_t i = 0; i < pc.start_servers; ++i) workers_->spawn();
  vrrp_.start(rt_->config(), listeners_.sockets(), vrrp_status_, master_fds());
  if (opts_.ready_fd >= 0) {
    core::Fd ready(opts_.ready_fd);  // -k start waits for this byte, then for the close
    (void)!write(ready.get(), "1", 1);
  }

  serve(set);
  listeners_.close_all();
  if (!pid_file_.empty()) unlink(pid_file_.c_str());
  core::log(core::LogLevel::Notice, "core", "master exiting");
  core::ErrorLog::flush();
  return 0;
}

int run_master(std::unique_ptr<config::ServerConfig> cfg, const MasterOptions& opts) {
  Master m(opts);
  return m.run(std::move(cfg));
}

}  // namespace pillar::server

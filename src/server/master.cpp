#include "server/master.h"

#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "config/directives.h"
#include "config/process_limits.h"
#include "core/log.h"
#include "core/shm/scoreboard.h"
#include "cache/policy.h"
#include "core/shm/shared_memory.h"
#include "core/shm/vhost_stats.h"
#include "core/shm/vrrp_status.h"
#include "ha/vrrp_node.h"
#include "proxy/health_check.h"
#include "proxy/member_table.h"
#include "server/balancer_runtime.h"
#include "server/balancer_state_file.h"
#include "ha/vrrp_state.h"
#include "core/socket_address.h"
#include "server/control_socket.h"
#include "server/default_config.h"
#include "server/listeners.h"
#include "server/site.h"
#include "server/worker_process.h"

namespace pillar::server {
namespace {

using core::shm::ProcessState;
using Clock = std::chrono::steady_clock;

constexpr int kMaintenanceMs = 1000;
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr auto kReplacementWait = std::chrono::seconds(5);
constexpr uint32_t kMaxSpawnPerTick = 8;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Child {
  pid_t pid = 0;
  uint32_t row = 0;
  uint32_t generation = 0;
  bool retiring = false;      // told to stop (WINCH or TERM)
  bool hurried = false;       // told to close its idle connections now (make_room)
  pid_t replacement = 0;      // Recycling: the worker started in its place
  Clock::time_point replacement_started{};
};

class Master {
 public:
  Master(const MasterOptions& opts) : opts_(opts) {}

  int run(std::unique_ptr<config::ServerConfig> cfg);

 private:
  bool install(std::unique_ptr<config::ServerConfig> cfg, std::string& error);
  std::unique_ptr<config::ServerConfig> reread(std::string& error);
  void spawn();
  void reap();
  void maintain();
  bool graceful_reload(bool hard, std::string& error);
  void new_generation(bool hard);
  struct AddedMember {
    std::string balancer, url;
    std::vector<std::string> params;
  };
  std::vector<AddedMember> added_;  // pillarctl balancer NAME add ...
  bool apply_added_members(config::ServerConfig& cfg, std::string& error);
  nlohmann::json change_members(const std::vector<std::string>& args);
  void register_commands();
  void start_vrrp();
  void stop_vrrp();
  nlohmann::json vrrp_json() const;
  nlohmann::json balancer_json(const std::vector<std::string>& args);
  nlohmann::json cache_json(const std::vector<std::string>& args);
  bool install_cache(const config::ServerConfig& c, std::string& error);
  nlohmann::json status_json() const;
  nlohmann::json workers_json() const;
  void signal_children(int sig, bool only_old);
  void make_room(uint32_t want);
  void shutdown(bool graceful);
  Child* find(pid_t pid);
  bool write_pid_file();
  bool resolve_user(const config::ProcessConfig& p, std::string& error);

  MasterOptions opts_;
  core::shm::SharedMemory shm_;
  core::shm::Scoreboard board_;
  core::shm::VhostStats vhost_stats_;
  std::unique_ptr<Runtime> rt_;
  std::vector<std::unique_ptr<Runtime>> old_runtimes_;  // kept until no child was forked from them
  std::vector<ListenerSocket> listeners_;
  std::vector<Child> children_;
  uint32_t generation_ = 0;
  uint32_t owed_ = 0;  // crashed workers still to be replaced
  uint32_t spawn_rate_ = 1;
  bool drop_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::string pid_file_;
  ControlSocket control_;
  ControlCommands commands_;
  int64_t started_ms_ = 0;
  core::shm::VrrpStatusTable* vrrp_status_ = nullptr;
  proxy::MemberTable* members_ = nullptr;
  uint64_t cache_size_ = 0;
  cache::Store cache_;  // created at the first configuration that enables a cache; kept across reloads
  proxy::HealthChecker health_;
  std::string balancer_state_written_;  // what the ProxyStateFile holds now
  void save_balancer_state();
  void refresh_health_checks();
  pid_t vrrp_pid_ = 0;
  bool stopping_ = false;
  Clock::time_point vrrp_started_{};
  std::string vrrp_signature_;  // the <Vrrp> configuration the running VRRP process has
};

// Everything of the <Vrrp> sections that the VRRP process depends on: a
// reload restarts that process only when this changes.
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

bool Master::resolve_user(const config::ProcessConfig& p, std::string& error) {
  drop_ = false;
  if (geteuid() != 0 || (p.user.empty() && p.group.empty())) return true;
  auto id_of = [](const std::string& s, bool& numeric) -> long {
    numeric = !s.empty() && s[0] == '#';
    return numeric ? std::strtol(s.c_str() + 1, nullptr, 10) : -1;
  };
  bool numeric;
  if (!p.user.empty()) {
    long id = id_of(p.user, numeric);
    if (numeric) {
      uid_ = static_cast<uid_t>(id);
    } else {
      passwd* pw = getpwnam(p.user.c_str());
      if (!pw) return error = "User " + p.user + " does not exist", false;
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
    }
  }
  if (!p.group.empty()) {
    long id = id_of(p.group, numeric);
    if (numeric) {
      gid_ = static_cast<gid_t>(id);
    } else {
      group* gr = getgrnam(p.group.c_str());
      if (!gr) return error = "Group " + p.group + " does not exist", false;
      gid_ = gr->gr_gid;
    }
  }
  drop_ = true;
  return true;
}

bool Master::install(std::unique_ptr<config::ServerConfig> cfg, std::string& error) {
  if (!resolve_user(cfg->process, error)) return false;
  if (!apply_added_members(*cfg, error)) return false;
  if (!reconcile_listeners(*cfg, listeners_, error)) return false;
  handlers::BuiltinContext ctx{&board_, &vhost_stats_, vrrp_status_};
  if (!install_cache(*cfg, error)) return false;
  bool caching = cache_.ready() && !cfg->cache_unused();
  if (caching) {
    ctx.cache = [this] {
      auto st = cache_.stats();
      return handlers::CacheGauges{st.objects, st.bytes_used, st.bytes_total, st.evictions, st.lock_timeouts};
    };
    ctx.cache_evictions = [this](uint32_t vhost) { return cache_.evictions(vhost); };
  }
  auto rt = Runtime::build(std::move(cfg), error, ctx, members_);
  if (!rt) return false;
  if (caching) rt->set_cache(&cache_);
  if (rt_) old_runtimes_.push_back(std::move(rt_));
  rt_ = std::move(rt);
  refresh_health_checks();
  const auto& c = rt_->config();
  core::ErrorLog::configure(rt_->error_sink(), static_cast<core::LogLevel>(c.log_level));
  for (const auto& n : c.notices) core::log(core::LogLevel::Notice, "core", "{}", n);
  auto& hdr = board_.header();
  hdr.max_conns.store(c.process.max_request_workers);
  hdr.threads_per_child.store(c.process.threads_per_child);
  return true;
}

std::unique_ptr<config::ServerConfig> Master::reread(std::string& error) {
  config::LoadResult res =
      opts_.config_file.empty()
          ? config::load_config_text(default_config_text(), "(embedded default)", opts_.load)
          : config::load_config_file(opts_.config_file, opts_.load);
  if (!res.ok()) {
    for (const auto& e : res.errors) error += (error.empty() ? "" : "; ") + e.to_string();
    return nullptr;
  }
  const auto& now = rt_->config().process;
  const auto& next = res.config->process;
  if (next.server_limit != now.server_limit || next.thread_limit != now.thread_limit) {
    // As Apache: these size the shared scoreboard and change only with a full stop and start.
    core::log(core::LogLevel::Warn, "mpm", "ServerLimit/ThreadLimit changes need a full restart; keeping {}/{}",
              now.server_limit, now.thread_limit);
    res.config->process.server_limit = now.server_limit;
    res.config->process.thread_limit = now.thread_limit;
    std::vector<std::string> ignored;
    config::settle_process_config(res.config->process, ignored);
  }
  return std::move(res.config);
}

Child* Master::find(pid_t pid) {
  for (auto& c : children_) {
    if (c.pid == pid) return &c;
  }
  return nullptr;
}

void Master::spawn() {
  int row = board_.claim_row(-1, generation_);
  if (row < 0) {
    // Expected for a moment after make_room(): the hurried workers' rows
    // come back when they are reaped, and maintain() spawns then.
    bool rows_coming = std::any_of(children_.begin(), children_.end(), [](const Child& c) { return c.hurried; });
    core::log(rows_coming ? core::LogLevel::Info : core::LogLevel::Error, "mpm",
              "no free scoreboard row for a new worker (ServerLimit {}){}", rt_->config().process.server_limit,
              rows_coming ? ": waiting for draining workers to exit" : "");
    return;
  }
  WorkerSpec spec;
  spec.runtime = rt_.get();
  spec.listeners = &listeners_;
  spec.board = board_;
  spec.row = static_cast<uint32_t>(row);
  spec.master_pid = getpid();
  spec.drop_privileges = drop_;
  spec.uid = uid_;
  spec.gid = gid_;
  control_.append_fds(spec.close_fds);
  core::ErrorLog::flush();
  pid_t pid = fork();
  if (pid < 0) {
    core::log(core::LogLevel::Error, "mpm", "fork failed: {}", strerror(errno));
    board_.release_row(static_cast<uint32_t>(row));
    return;
  }
  if (pid == 0) run_worker(spec);
  board_.row(static_cast<uint32_t>(row)).pid.store(pid);
  children_.push_back(Child{pid, static_cast<uint32_t>(row), generation_});
}

uint64_t mono_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count());
}

// Active checks run here, once per node; the verdicts land in the shared
// member states every worker picks from.
void Master::refresh_health_checks() {
  std::vector<proxy::HealthTarget> targets;
  for (const auto& b : rt_->balancers()) {
    auto span = b->span();
    for (size_t i = 0; i < span.size(); ++i) {
      if (b->cfg_index[i] < 0) continue;
      const auto& mc = b->member_cfg(static_cast<int>(i));
      if (mc.hc_method.empty()) continue;
      proxy::HealthTarget t;
      t.member = &span[i];
      t.name = mc.url;
      t.addr = mc.addr;
      t.addr_len = mc.addr_len;
      t.method = mc.hc_method;
      t.host = mc.host;
      t.uri = mc.hc_uri;
      t.interval_ms = static_cast<uint64_t>(mc.hc_interval.count());
      t.timeout_ms = static_cast<uint64_t>(mc.hc_timeout.count());
      t.passes = mc.hc_passes;
      t.fails = mc.hc_fails;
      t.expect = mc.hc_expect;
      t.body = mc.hc_body;
      targets.push_back(std::move(t));
    }
  }
  health_.set_targets(std::move(targets), mono_ms());
}

void Master::start_vrrp() {
  const auto& c = rt_->config();
  if (c.vrrp.empty() || vrrp_pid_ > 0 || stopping_) return;
  if (Clock::now() - vrrp_started_ < std::chrono::seconds(1)) return;  // a failing setup must not spin
  vrrp_started_ = Clock::now();
  ha::NodeSetup setup;
  setup.instances = c.vrrp;
  setup.status = vrrp_status_;
  for (const auto& l : listeners_) {
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
    std::vector<int> ctl_fds;
    control_.append_fds(ctl_fds);
    for (int fd : ctl_fds) close(fd);
    _exit(ha::run_vrrp_node(setup));
  }
  vrrp_pid_ = pid;
  vrrp_signature_ = vrrp_signature(c);
}

void Master::stop_vrrp() {
  if (vrrp_pid_ <= 0) return;
  kill(vrrp_pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {  // its clean stop is a few packets and netlink calls
    if (waitpid(vrrp_pid_, nullptr, WNOHANG) == vrrp_pid_) {
      vrrp_pid_ = 0;
      return;
    }
    usleep(10000);
  }
  kill(vrrp_pid_, SIGKILL);
  waitpid(vrrp_pid_, nullptr, 0);
  vrrp_pid_ = 0;
}

nlohmann::json Master::vrrp_json() const {
  nlohmann::json list = nlohmann::json::array();
  if (!vrrp_status_) return list;
  for (const auto& e : vrrp_status_->entries) {
    if (!e.used.load()) continue;
    in_addr m{e.master_addr.load()};
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &m, ip, sizeof ip);
    uint64_t dropped = 0;
    for (const auto& d : e.dropped) dropped += d.load();
    list.push_back({{"name", e.name},
                    {"interface", e.interface},
                    {"vrid", e.vrid.load()},
                    {"state", ha::to_string(static_cast<ha::VrrpState>(e.state.load()))},
                    {"priority", e.priority.load()},
                    {"master", ip},
                    {"transitions", e.transitions.load()},
                    {"adverts_sent", e.adverts_sent.load()},
                    {"adverts_received", e.adverts_received.load()},
                    {"packets_dropped", dropped},
                    {"last_transition_ms", e.last_transition_ms.load()}});
  }
  return list;
}

void Master::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (pid == vrrp_pid_) {
      vrrp_pid_ = 0;
      if (!stopping_) {
        core::log(core::LogLevel::Error, "vrrp", "VRRP process {} exited ({}); restarting it", pid,
                  WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "status " + std::to_string(WEXITSTATUS(status)));
      }
      continue;
    }
    Child* c = find(pid);
    if (!c) continue;
    if (WIFSIGNALED(status) && !c->retiring) {
      int sig = WTERMSIG(status);
      core::log(core::LogLevel::Error, "mpm", "child pid {} exit signal {} ({}){}", pid, strsignal(sig), sig,
                WCOREDUMP(status) ? ", possible coredump" : "");
      board_.header().crashes.fetch_add(1);
      if (c->generation == generation_) ++owed_;
    } else if (!c->retiring && c->generation == generation_) {
      core::log(core::LogLevel::Error, "mpm", "child pid {} exited unexpectedly with status {}", pid,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
      ++owed_;
    }
    if (cache_.ready()) {  // what the worker held in the cache: its fetches fail, its pins are returned
      std::vector<uint64_t> pins;  // (later, without waiting, if a stalled process holds the store's lock)
      for (uint32_t i = 0; i < board_.thread_limit(); ++i)
        for (auto& pin : board_.slot(c->row, i).cache_pins)
          if (uint64_t v = pin.exchange(0)) pins.push_back(v);
      cache_.reaped(pid, std::move(pins));
    }
    if (members_) {  // the busy counts its proxied requests held (recorded per slot)
      for (uint32_t i = 0; i < board_.thread_limit(); ++i)
        for (auto& held : board_.slot(c->row, i).held_members) members_->release_ref(held.exchange(0));
    }
    board_.release_row(c->row);
    vhost_stats_.retire_row(c->row);
    children_.erase(children_.begin() + (c - children_.data()));
  }
}

// Run-time changes (pillarctl, balancer-manager in any worker) reach the
// ProxyStateFile within a maintenance tick.
void Master::save_balancer_state() {
  const std::string& path = rt_->config().proxy_state_file;
  if (path.empty()) return;
  std::string text = render_balancer_state(rt_->balancers());
  for (const auto& a : added_) {  // members added at run time persist until removed
    text += "add " + a.balancer + " " + a.url;
    for (const auto& p : a.params) text += " " + p;
    text += "\n";
  }
  if (text == balancer_state_written_) return;
  std::string error;
  if (!write_balancer_state(path, text, error)) {
    core::log(core::LogLevel::Error, "proxy", "ProxyStateFile: {}", error);
    return;
  }
  balancer_state_written_ = text;
}

void Master::maintain() {
  save_balancer_state();
  cache_.retry_reaped();
  const auto& p = rt_->config().process;
  auto& hdr = board_.header();
  // Recycling: the replacement first, then the old one drains.
  for (auto& c : children_) {
    if (c.retiring || c.generation != generation_) continue;
    auto& row = board_.row(c.row);
    if (row.state.load() != static_cast<uint8_t>(ProcessState::Recycling)) continue;
    if (!c.replacement) {
      size_t before = children_.size();
      pid_t self = c.pid;
      spawn();  // may reallocate children_
      Child* me = find(self);
      if (children_.size() > before) {
        me->replacement = children_.back().pid;
      } else {
        me->replacement = -1;  // no room: drain anyway, capacity dips for a moment
      }
      me->replacement_started = Clock::now();
      return maintain();
    }
    Child* repl = c.replacement > 0 ? find(c.replacement) : nullptr;
    bool ready = !repl || board_.row(repl->row).state.load() == static_cast<uint8_t>(ProcessState::Running);
    if (ready || Clock::now() - c.replacement_started > kReplacementWait) {
      c.retiring = true;
      kill(c.pid, SIGWINCH);
    }
  }
  // Spare slots, counted over this generation's serving workers.
  uint32_t live = 0;
  uint64_t idle = 0;
  Child* least_busy = nullptr;
  for (auto& c : children_) {
    if (c.retiring || c.generation != generation_) continue;
    ++live;
    auto& row = board_.row(c.row);
    uint32_t active = row.active.load();
    idle += p.threads_per_child > active ? p.threads_per_child - active : 0;
    if (row.state.load() == static_cast<uint8_t>(ProcessState::Running) &&
        (!least_busy || active < board_.row(least_busy->row).active.load()))
      least_busy = &c;
  }
  uint32_t in_use = hdr.conns_in_use.load();
  uint64_t room = p.max_request_workers > in_use ? p.max_request_workers - in_use : 0;
  idle = std::min(idle, room);
  uint32_t cap = config::max_workers(p);
  uint32_t want = 0;
  if (live < p.start_servers) want = p.start_servers - live;
  if (owed_ > want) want = owed_;
  // Short of spare slots: start workers, doubling the rate while the
  // shortage lasts (1, 2, 4, ... per second, as Apache does).
  bool short_of_spares = idle < p.min_spare_threads && live < cap && room > idle;
  if (want == 0 && short_of_spares) want = spawn_rate_;
  spawn_rate_ = short_of_spares ? std::min(spawn_rate_ * 2, kMaxSpawnPerTick) : 1;
  if (live + want > cap && live < cap) want = cap - live;
  else if (live >= cap && owed_ == 0) want = 0;
  want = std::min(want, kMaxSpawnPerTick);
  for (uint32_t i = 0; i < want; ++i) spawn();
  owed_ = owed_ > want ? owed_ - want : 0;
  if (want == 0 && idle > p.max_spare_threads && live > p.start_servers && least_busy) {
    core::log(core::LogLevel::Info, "mpm", "retiring worker {}: {} idle slots above MaxSpareThreads {}",
              least_busy->pid, idle, p.max_spare_threads);
    least_busy->retiring = true;
    kill(least_busy->pid, SIGWINCH);
  }
  start_vrrp();  // (re)starts it when configured and not running
  // Old runtimes can go once no child forked from them remains.
  bool old_children = std::any_of(children_.begin(), children_.end(),
                                  [&](const Child& c) { return c.generation != generation_; });
  if (!old_children) old_runtimes_.clear();
}

void Master::signal_children(int sig, bool only_old) {
  for (auto& c : children_) {
    if (only_old && c.generation == generation_) continue;
    // A second WINCH means "close your idle connections now" (make_room).
    if (sig == SIGWINCH && c.retiring) continue;
    c.retiring = true;
    kill(c.pid, sig);
  }
}

// A new generation needs `want` rows. Draining generations hold theirs
// until their last connection ends; when too few rows are free, the oldest
// ones are told (a second SIGWINCH) to close the connections that wait for
// a request, so they exit and their rows come back: a reload never leaves
// the serving generation without workers.
void Master::make_room(uint32_t want) {
  uint32_t used = static_cast<uint32_t>(children_.size());
  uint32_t free_rows = board_.rows() > used ? board_.rows() - used : 0;
  while (free_rows < want) {
    uint32_t oldest = UINT32_MAX;
    for (const auto& c : children_) {
      if (c.retiring && !c.hurried && c.generation != generation_) oldest = std::min(oldest, c.generation);
    }
    if (oldest == UINT32_MAX) return;  // nothing left to hurry: maintain() spawns as rows come back
    for (auto& c : children_) {
      if (c.generation != oldest || !c.retiring || c.hurried) continue;
      c.hurried = true;
      kill(c.pid, SIGWINCH);
      ++free_rows;
    }
    core::log(core::LogLevel::Notice, "mpm",
              "scoreboard rows short for generation {}: generation {} closes its idle connections now",
              generation_, oldest);
  }
}

bool Master::graceful_reload(bool hard, std::string& error) {
  auto cfg = reread(error);
  if (!cfg || !install(std::move(cfg), error)) {
    core::log(core::LogLevel::Error, "core", "configuration reload refused, old configuration still serving: {}", error);
    return false;
  }
  new_generation(hard);
  core::log(core::LogLevel::Notice, "core", "{} restart: generation {} serving, configuration reread",
            hard ? "SIGHUP" : "graceful", generation_);
  return true;
}

// Balancer members added at run time join the configuration's (by balancer
// name) every time a runtime is built, so they survive reloads until removed.
bool Master::apply_added_members(config::ServerConfig& cfg, std::string& error) {
  for (const auto& a : added_) {
    config::BalancerConfig* b = nullptr;
    for (auto& bc : cfg.balancers) {
      if (bc.name == a.balancer) b = &bc;
    }
    if (!b) continue;  // the balancer left the configuration: the member goes with it
    bool present = false;
    for (const auto& m : b->members) present = present || m.url == a.url;
    if (present) continue;
    config::BalancerMemberConfig m;
    std::string path;
    if (!config::parse_member_url(a.url, m, path, error)) return false;
    m.url = a.url;
    for (const auto& p : a.params) {
      if (!config::apply_member_param(p, m, error)) return false;
    }
    b->members.push_back(std::move(m));
  }
  return true;
}

// pillarctl balancer NAME add URL [k=v...] / remove URL: a new generation from
// the running configuration plus the change (the file is not reread).
nlohmann::json Master::change_members(const std::vector<std::string>& args) {
  const std::string& name = args[0];
  const std::string& op = args[1];
  const std::string url = args.size() > 2 ? args[2] : "";
  if (url.empty()) throw std::runtime_error(op + " needs a member URL, e.g. http://10.0.0.7:8080");
  const config::BalancerConfig* bc = nullptr;
  for (const auto& b : rt_->config().balancers) {
    if (b.name == name) bc = &b;
  }
  if (!bc) throw std::runtime_error("no balancer://" + name + " (members are added to balancers, not to direct ProxyPass targets)");
  auto saved = added_;
  if (op == "add") {
    for (const auto& m : bc->members) {
      if (m.url == url) throw std::runtime_error(url + " is already a member of balancer://" + name);
    }
    added_.push_back({name, url, std::vector<std::string>(args.begin() + 3, args.end())});
  } else {
    auto it = std::find_if(added_.begin(), added_.end(), [&](const AddedMember& a) { return a.balancer == name && a.url == url; });
    if (it == added_.end()) {
      bool in_config = std::any_of(bc->members.begin(), bc->members.end(), [&](const auto& m) { return m.url == url; });
      throw std::runtime_error(in_config ? url + " is defined in the configuration: remove it there and reload (or disable it)"
                                         : "balancer://" + name + " has no member " + url);
    }
    added_.erase(it);
  }
  auto cfg = std::make_unique<config::ServerConfig>(rt_->config());
  // Members added earlier are in the running config already; rebuild from the file's view plus added_.
  for (auto& b : cfg->balancers) {
    b.members.erase(std::remove_if(b.members.begin(), b.members.end(),
                                   [&](const config::BalancerMemberConfig& m) {
                                     return std::any_of(saved.begin(), saved.end(), [&](const AddedMember& a) {
                                       return a.balancer == b.name && a.url == m.url;
                                     });
                                   }),
                    b.members.end());
  }
  std::string error;
  if (!install(std::move(cfg), error)) {
    added_ = saved;
    throw std::runtime_error(op + " refused: " + error);
  }
  new_generation(false);
  save_balancer_state();
  core::log(core::LogLevel::Notice, "proxy", "pillarctl: balancer {} {} {} (generation {})", name, op, url, generation_);
  return {{"balancer", name}, {"member", url}, {"action", op}, {"generation", generation_}};
}

void Master::new_generation(bool hard) {
  ++generation_;
  if (vrrp_signature(rt_->config()) != vrrp_signature_) {
    stop_vrrp();  // new <Vrrp> settings: the process restarts with them (a master hands over first)
    vrrp_started_ = {};
    start_vrrp();
  }
  auto& hdr = board_.header();
  hdr.generation.store(generation_);
  hdr.restart_ms.store(wall_ms());
  owed_ = 0;
  // New workers first (they share the listening sockets), then the old
  // generation stops accepting and drains.
  make_room(rt_->config().process.start_servers);
  for (uint32_t i = 0; i < rt_->config().process.start_servers; ++i) spawn();
  signal_children(hard ? SIGTERM : SIGWINCH, true);
}

nlohmann::json Master::status_json() const {
  const auto& hdr = board_.header();
  const auto& p = rt_->config().process;
  uint64_t requests = hdr.retired_requests.load(), bytes = hdr.retired_bytes.load();
  uint32_t workers = 0, draining = 0;
  for (const auto& c : children_) {
    const auto& row = board_.row(c.row);
    requests += row.requests.load();
    bytes += row.bytes.load();
    (c.generation == generation_ && !c.retiring ? workers : draining) += 1;
  }
  return {{"version", PILLAR_VERSION_STRING},
          {"pid", getpid()},
          {"config", opts_.config_file.empty() ? "(embedded default)" : opts_.config_file},
          {"generation", generation_},
          {"uptime_seconds", (wall_ms() - started_ms_) / 1000},
          {"workers", workers},
          {"workers_draining", draining},
          {"connections", hdr.conns_in_use.load()},
          {"max_request_workers", p.max_request_workers},
          {"threads_per_child", p.threads_per_child},
          {"requests", requests},
          {"bytes_sent", bytes},
          {"crashes", hdr.crashes.load()},
          {"recycles", hdr.recycles.load()}};
}

nlohmann::json Master::workers_json() const {
  static constexpr const char* kStates[] = {"free", "starting", "running", "recycling", "draining"};
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : children_) {
    const auto& row = board_.row(c.row);
    uint8_t st = row.state.load();
    list.push_back({{"pid", c.pid},
                    {"row", c.row},
                    {"generation", c.generation},
                    {"state", st < 5 ? kStates[st] : "?"},
                    {"retiring", c.retiring},
                    {"connections_open", row.active.load()},
                    {"slots", row.slots.load()},
                    {"connections", row.connections.load()},
                    {"requests", row.requests.load()},
                    {"bytes_sent", row.bytes.load()},
                    {"rss_anon_kb", row.rss_anon_kb.load()},
                    {"started_ms", row.started_ms.load()}});
  }
  return list;
}

// pillarctl balancer [NAME [MEMBER drain|undrain|enable|disable|weight N]]
// MEMBER is the member's URL or route. Changes apply to every worker at once
// (the state is in shared memory) and survive graceful reloads.
nlohmann::json Master::balancer_json(const std::vector<std::string>& args) {
  if (args.size() >= 2 && (args[1] == "add" || args[1] == "remove")) return change_members(args);
  nlohmann::json out = nlohmann::json::array();
  const auto& rt = *rt_;
  auto flags_text = [](uint32_t f) {
    std::string s;
    if (f & proxy::kStatusDisabled) s += "D";
    if (f & proxy::kStatusStopped) s += "S";
    if (f & proxy::kStatusHotStandby) s += "H";
    if (f & proxy::kStatusError) s += "E";
    if (f & proxy::kStatusDrain) s += "N";
    if (f & proxy::kStatusIgnoreErrors) s += "I";
    return s.empty() ? std::string("Ok") : s;
  };
  uint64_t now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count());
  BalancerRuntime* target = nullptr;
  for (const auto& b : rt.balancers()) {
    std::string key = balancer_key(*b->cfg);
    if (args.size() >= 1 && key != args[0]) continue;
    target = b.get();
    nlohmann::json members = nlohmann::json::array();
    auto span = b->span();
    for (size_t i = 0; i < span.size(); ++i) {
      if (b->cfg_index[i] < 0) continue;  // left the configuration
      const auto& m = span[i];
      const auto& mc = b->member_cfg(static_cast<int>(i));
      members.push_back({{"url", mc.url},
                         {"route", std::string(proxy::member_route(m))},
                         {"status", flags_text(m.status_flags.load())},
                         {"ejected", b->error_until(static_cast<int>(i)).load() > now},
                         {"loadfactor", m.lbfactor},
                         {"busy", m.busy.load()},
                         {"requests", m.elected.load()},
                         {"traffic_bytes", m.transferred.load()}});
    }
    out.push_back({{"balancer", key}, {"lbmethod", static_cast<int>(b->method)}, {"members", members}});
  }
  if (args.size() < 3) {
    if (args.size() == 1 && !target) throw std::runtime_error("no balancer named " + args[0]);
    if (args.size() == 2) throw std::runtime_error("say what to do: MEMBER drain|undrain|enable|disable|weight N");
    return out;
  }
  if (!target) throw std::runtime_error("no balancer named " + args[0]);
  auto span = target->span();
  int slot = -1;
  for (size_t i = 0; i < span.size(); ++i) {
    if (target->cfg_index[i] < 0) continue;
    if (target->member_cfg(static_cast<int>(i)).url == args[1] || proxy::member_route(span[i]) == args[1])
      slot = static_cast<int>(i);
  }
  if (slot < 0) throw std::runtime_error("balancer " + args[0] + " has no member " + args[1] + " (give its URL or route)");
  proxy::MemberState& m = span[static_cast<size_t>(slot)];
  const std::string& op = args[2];
  if (op == "drain") m.status_flags.fetch_or(proxy::kStatusDrain);
  else if (op == "undrain") m.status_flags.fetch_and(~uint32_t{proxy::kStatusDrain});
  else if (op == "disable") m.status_flags.fetch_or(proxy::kStatusDisabled);
  else if (op == "enable") {
    m.status_flags.fetch_and(~uint32_t{proxy::kStatusDisabled | proxy::kStatusDrain | proxy::kStatusError});
    target->error_until(slot).store(0);
  } else if (op == "weight") {
    if (args.size() != 4) throw std::runtime_error("weight needs a value 1-100");
    int w = std::atoi(args[3].c_str());
    if (w < 1 || w > 100) throw std::runtime_error("weight " + args[3] + ": use 1 to 100");
    m.lbfactor = static_cast<uint32_t>(w);
  } else {
    throw std::runtime_error("unknown action '" + op + "': use drain, undrain, enable, disable or weight N");
  }
  core::log(core::LogLevel::Notice, "proxy", "pillarctl: balancer {} member {} {}", args[0], args[1], op);
  return {{"balancer", args[0]}, {"member", args[1]}, {"status", flags_text(m.status_flags.load())},
          {"loadfactor", m.lbfactor}};
}

// The store is sized once (CacheSize) and outlives reloads, so a reload
// keeps every cached object; a new CacheSize needs a full restart.
bool Master::install_cache(const config::ServerConfig& c, std::string& error) {
  if (c.cache_unused()) return true;
  if (cache_.ready()) {
    if (c.cache_size != cache_size_)
      core::log(core::LogLevel::Notice, "cache", "CacheSize changed; the store keeps its size until a full restart");
    return true;
  }
  if (!cache_.create(c.cache_size, error)) return false;
  cache_size_ = c.cache_size;
  return true;
}

nlohmann::json Master::cache_json(const std::vector<std::string>& args) {
  if (!cache_.ready()) throw std::runtime_error("no cache: no CacheEnable in the configuration");
  if (args.empty()) {
    auto st = cache_.stats();
    return {{"objects", st.objects}, {"bytes_used", st.bytes_used}, {"bytes_total", st.bytes_total},
            {"evictions", st.evictions}, {"bans_pending", st.bans}, {"lock_timeouts", st.lock_timeouts}};
  }
  auto url_parts = [](const std::string& url, std::string& host, std::string& target) {
    std::string_view u = url;
    if (size_t scheme = u.find("://"); scheme != std::string_view::npos) u.remove_prefix(scheme + 3);
    size_t slash = u.find('/');
    std::string_view authority = u.substr(0, slash);
    target = slash == std::string_view::npos ? "/" : std::string(u.substr(slash));
    if (!authority.empty() && authority.front() != '[') authority = authority.substr(0, authority.rfind(':'));
    host.clear();
    for (char ch : authority) host.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    if (host.empty()) throw std::runtime_error("give a URL with a host, e.g. http://www.example.com/path");
  };
  const std::string& op = args[0];
  if (op == "purge" && args.size() == 2) {
    std::string host, target;
    url_parts(args[1], host, target);
    bool busy = false;  // the master never waits on the store's lock for long
    uint32_t n = cache_.purge(cache::primary_key(host, target), &busy);
    if (busy) throw std::runtime_error("cache purge: the cache store is busy (a process holds its lock); try again");
    return {{"purged", n}, {"host", host}, {"target", target}};
  }
  if (op == "ban" && args.size() >= 3 && args.size() <= 4) {
    const std::string& kind = args[1];
    std::string host = args.size() == 4 ? args[3] : "";
    for (auto& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    uint64_t seq = 0;
    std::string why;  // from the store: an invalid regex, too long, the store busy
    if (kind == "host" && args.size() == 3) {
      std::string h = args[2];
      for (auto& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      seq = cache_.ban(cache::BanKind::Host, h, "", &why);
    } else if (kind == "prefix") {
      if (args[2].empty() || args[2][0] != '/') throw std::runtime_error("cache ban prefix /PATH [HOST]: the path starts with '/'");
      seq = cache_.ban(cache::BanKind::Prefix, host, args[2], &why);
    } else if (kind == "regex") {
      seq = cache_.ban(cache::BanKind::Regex, host, args[2], &why);  // compiled (RE2) here, matched by the workers
      if (!seq) throw std::runtime_error("cache ban regex '" + args[2] + "': " + why);
    } else if (kind == "vhost" && args.size() == 3) {
      // A deploy: every name the virtual host answers to (wildcard aliases
      // cannot be named; the answer lists them).
      const config::VirtualHost* vh = nullptr;
      for (const auto& v : rt_->config().vhosts)
        if (v.server_name == args[2]) vh = &v;
      if (!vh) throw std::runtime_error("cache ban vhost: no <VirtualHost> has ServerName " + args[2]);
      nlohmann::json bans = nlohmann::json::array(), skipped = nlohmann::json::array();
      bans.push_back(cache_.ban(cache::BanKind::Host, vh->server_name, ""));
      for (const auto& a : vh->aliases) {
        if (a.find_first_of("*?") != std::string::npos) skipped.push_back(a);
        else bans.push_back(cache_.ban(cache::BanKind::Host, a, ""));
      }
      core::log(core::LogLevel::Notice, "cache", "ban vhost {}: {} host(s)", args[2], bans.size());
      return {{"bans", bans}, {"wildcard_aliases_not_banned", skipped}};
    } else if (kind == "url" && args.size() == 3) {
      std::string h, target;
      url_parts(args[2], h, target);
      seq = cache_.ban(cache::BanKind::Prefix, h, target, &why);
    } else {
      throw std::runtime_error("cache ban host HOST | vhost SERVERNAME | prefix /PATH [HOST] | regex REGEX [HOST] | url URL");
    }
    if (!seq) throw std::runtime_error("cache ban: " + why);
    core::log(core::LogLevel::Notice, "cache", "ban {}: {} {} {}", seq, kind, args[2], host);
    return {{"ban", seq}};
  }
  throw std::runtime_error(
      "cache [purge URL | ban host HOST | ban vhost SERVERNAME | ban prefix /PATH [HOST] | ban regex REGEX [HOST] | ban url URL]");
}

void Master::register_commands() {
  commands_.add("cache",
                "the cache store; cache purge URL; cache ban host HOST | vhost SERVERNAME | prefix /PATH [HOST] | regex REGEX [HOST] | url URL",
                [this](const std::vector<std::string>& args) { return cache_json(args); });
  commands_.add("balancer",
                "balancers and members; balancer NAME MEMBER drain|undrain|enable|disable|weight N; "
                "balancer NAME add URL [route=R loadfactor=N ...]; balancer NAME remove URL",
                [this](const std::vector<std::string>& args) { return balancer_json(args); });
  commands_.add("status", "the server: version, generation, workers, connections, totals",
                [this](const std::vector<std::string>&) { return status_json(); });
  commands_.add("workers", "one entry per worker process (its scoreboard row)",
                [this](const std::vector<std::string>&) { return workers_json(); });
  commands_.add("vrrp", "VRRP instances: state, priority, master, transitions, packets",
                [this](const std::vector<std::string>&) { return vrrp_json(); });
  commands_.add("reload", "graceful restart: reread and check the configuration, new generation, old one drains",
                [this](const std::vector<std::string>&) {
                  std::string error;
                  if (!graceful_reload(false, error))
                    throw std::runtime_error("reload refused, old configuration still serving: " + error);
                  return nlohmann::json{{"generation", generation_}};
                });
}

void Master::shutdown(bool graceful) {
  stopping_ = true;
  save_balancer_state();
  stop_vrrp();  // the virtual address moves to the peer before we stop serving
  signal_children(graceful ? SIGWINCH : SIGTERM, false);
  auto deadline = Clock::now() + kStopGrace;
  const auto& p = rt_->config().process;
  if (graceful) {
    deadline = p.graceful_shutdown_timeout.count() > 0 ? Clock::now() + p.graceful_shutdown_timeout
                                                       : Clock::time_point::max();
  }
  bool killed = false;
  while (!children_.empty()) {
    reap();
    if (children_.empty()) break;
    if (Clock::now() >= deadline) {
      if (graceful && !killed) {  // graceful time is up: a normal stop follows
        signal_children(SIGTERM, false);
        deadline = Clock::now() + kStopGrace;
        graceful = false;
        continue;
      }
      if (!killed) {
        for (auto& c : children_) kill(c.pid, SIGKILL);
        killed = true;
      }
    }
    usleep(10000);
  }
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

  const auto& p = cfg->process;
  uint32_t rows = p.server_limit * 2;  // spare rows: a draining generation beside the new one
  std::string error;
  const uint32_t vhost_capacity = core::shm::VhostStats::capacity_for(cfg->vhosts.size());
  size_t vhost_bytes = sizeof(core::shm::VrrpStatusTable) + sizeof(proxy::MemberTable) + 128 +
                       core::shm::VhostStats::bytes_needed(rows, vhost_capacity) + 256;
  if (!shm_.create(core::shm::Scoreboard::bytes_needed(rows, p.thread_limit) + vhost_bytes + 4096, error) ||
      !board_.create(shm_, rows, p.thread_limit) || !vhost_stats_.create(shm_, rows, vhost_capacity)) {
    std::fprintf(stderr, "pillar: cannot create the scoreboard: %s\n", error.c_str());
    return 1;
  }
  if (void* v = shm_.allocate(sizeof(core::shm::VrrpStatusTable))) vrrp_status_ = new (v) core::shm::VrrpStatusTable();
  if (void* v = shm_.allocate(sizeof(proxy::MemberTable))) {
    members_ = new (v) proxy::MemberTable();
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    rnd.read(reinterpret_cast<char*>(&members_->nonce), sizeof members_->nonce);
  }
  board_.header().start_ms.store(wall_ms());
  board_.header().restart_ms.store(wall_ms());
  if (!cfg->proxy_state_file.empty()) {  // members added at run time before the restart
    std::ifstream in(cfg->proxy_state_file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("add ", 0) != 0) continue;
      std::istringstream words(line.substr(4));
      AddedMember a;
      words >> a.balancer >> a.url;
      for (std::string p; words >> p;) a.params.push_back(p);
      if (!a.url.empty()) added_.push_back(std::move(a));
    }
  }
  if (!install(std::move(cfg), error)) {
    std::fprintf(stderr, "pillar: %s\n", error.c_str());
    core::log(core::LogLevel::Emerg, "core", "{}", error);
    core::ErrorLog::flush();
    return 1;
  }
  for (const auto& l : listeners_) {
    std::string ep = core::endpoint_text(l.bound);
    // Always on stderr too: tests and users learn ephemeral ports from it.
    std::fprintf(stderr, "pillar: listening on http://%s/\n", ep.c_str());
    core::log(core::LogLevel::Notice, "core", "listening on {}", ep);
  }
  std::fflush(stderr);
  write_pid_file();
  started_ms_ = wall_ms();
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
  for (uint32_t i = 0; i < pc.start_servers; ++i) spawn();
  start_vrrp();
  if (opts_.ready_fd >= 0) {
    (void)!write(opts_.ready_fd, "1", 1);
    close(opts_.ready_fd);
  }

  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  int exit_code = 0;
  auto next_tick = Clock::now();
  for (bool running = true; running;) {
    auto now = Clock::now();
    if (now >= next_tick) {
      maintain();
      next_tick = now + std::chrono::milliseconds(kMaintenanceMs);
    }
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now()).count();
    uint64_t hc_deadline = health_.deadline();
    if (hc_deadline != UINT64_MAX) {
      int64_t hc_wait = static_cast<int64_t>(hc_deadline) - static_cast<int64_t>(mono_ms());
      wait_ms = std::min<int64_t>(wait_ms, std::max<int64_t>(hc_wait, 0));
    }
    wait_ms = control_.timeout_ms(wait_ms);
    std::vector<pollfd> fds = {{sfd, POLLIN, 0}};
    control_.poll_fds(fds);
    health_.fds(fds);
    int n = poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait_ms, 0)));
    if (health_.size() > 0) health_.step(mono_ms(), fds);
    control_.step(fds, commands_);  // also when nothing is ready: it drops clients past their deadline
    if (n <= 0) continue;
    signalfd_siginfo si{};
    while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGCHLD) {
        reap();
        maintain();  // a crashed worker is replaced at once
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
      running = false;
      break;
    }
  }
  close(sfd);
  close_listeners(listeners_);
  if (!pid_file_.empty()) unlink(pid_file_.c_str());
  core::log(core::LogLevel::Notice, "core", "master exiting");
  core::ErrorLog::flush();
  return exit_code;
}

}  // namespace

int run_master(std::unique_ptr<config::ServerConfig> cfg, const MasterOptions& opts) {
  Master m(opts);
  return m.run(std::move(cfg));
}

}  // namespace pillar::server

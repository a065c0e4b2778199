// The master's state, shared by master.cpp (start, the poll loop, stop) and
// generations.cpp (configurations installed, reloads, member changes). The
// work is done by the parts it owns: Supervisor (workers), VrrpChild,
// HealthPolling, Listeners, the control table and socket; the master only
// sequences them. Runs single-threaded (fork safety: processes.md).
#pragma once
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "cache/store.h"
#include "config/model.h"
#include "core/shm/scoreboard.h"
#include "core/shm/shared_memory.h"
#include "core/shm/client_conn_table.h"
#include "core/shm/rate_table.h"
#include "core/shm/vhost_stats.h"
#include "core/shm/vrrp_status.h"
#include "proxy/member_table.h"
#include "server/control/control_commands.h"
#include "server/control/control_socket.h"
#include "server/process/added_members.h"
#include "server/process/cgi_launcher.h"
#include "server/process/health_polling.h"
#include "server/process/listeners.h"
#include "server/process/master.h"
#include "server/process/supervisor.h"
#include "server/process/vrrp_child.h"
#include "server/process/worker_identity.h"
#include "server/site.h"

namespace pillar::server {

class Master {
 public:
  explicit Master(const MasterOptions& opts) : opts_(opts) {}
  int run(std::unique_ptr<config::ServerConfig> cfg);

 private:
  // master.cpp
  bool create_shared_memory(const config::ServerConfig& cfg, std::string& error);
  WorkerSpec worker_spec() const;
  std::vector<int> master_fds() const;  // what a forked child must close
  void detach_stdio();                  // -k start: 0 and 1 to /dev/null, 2 to the error log
  void start_cgi_launcher();            // when the configuration runs CGI and it is not running
  void register_commands();
  void reap();
  void tick();
  void serve(const sigset_t& signals);
  void shutdown(bool graceful);
  bool write_pid_file();
  void save_balancer_state();
  // generations.cpp
  bool install(std::unique_ptr<config::ServerConfig> cfg, std::string& error);
  bool install_cache(const config::ServerConfig& c, std::string& error);
  std::unique_ptr<config::ServerConfig> reread(std::string& error);
  bool graceful_reload(bool hard, std::string& error);
  void new_generation(bool hard);
  nlohmann::json change_members(const std::vector<std::string>& args);

  MasterOptions opts_;
  core::shm::SharedMemory shm_;
  core::shm::Scoreboard board_;
  core::shm::VhostStats vhost_stats_;
  core::shm::RateTable rate_table_;  // PillarRateLimit, node-wide (kept across reloads)
  core::shm::ClientConnTable client_conns_;  // PillarMaxConnectionsPerClient, node-wide
  core::shm::VrrpStatusTable* vrrp_status_ = nullptr;  // in shm_
  proxy::MemberTable* members_ = nullptr;               // in shm_
  std::unique_ptr<Runtime> rt_;
  std::vector<std::unique_ptr<Runtime>> old_runtimes_;  // kept until no child was forked from them
  Listeners listeners_;
  WorkerIdentity identity_;
  std::unique_ptr<Supervisor> workers_;  // made once the scoreboard exists
  VrrpChild vrrp_;
  CgiLauncher cgid_;                     // the CGI launcher process (cgi_launcher.h)
  HealthPolling health_;
  AddedMembers added_;                   // pillarctl balancer NAME add ...
  std::string balancer_state_written_;   // what the ProxyStateFile holds now
  cache::Store cache_;  // created at the first configuration that enables a cache; kept across reloads
  uint64_t cache_size_ = 0;
  ControlSocket control_;
  ControlCommands commands_;
  std::string pid_file_;
  int64_t started_ms_ = 0;
  bool stopping_ = false;
};

}  // namespace pillar::server

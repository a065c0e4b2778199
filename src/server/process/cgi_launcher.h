// The CGI launcher: a small process forked by the master (as mod_cgid's
// daemon) that starts every CGI script, so that no worker ever forks (a
// worker is large, threaded and holds client sockets) and so that scripts
// can run as other users (suexec) while workers run unprivileged: the
// launcher keeps the master's identity (root in production).
//
// A worker connects to the launcher's SOCK_SEQPACKET socket (an abstract
// unix address the master chose before forking anything, so every worker
// and every launcher it restarts share it), sends a LaunchRequest with the
// script's pipes (server/cgi_launch.h), and keeps the connection open while
// the script runs. The launcher takes requests only from processes whose
// parent is the master (SO_PEERCRED); for SuexecUserGroup and UserDir it
// applies suexec's checks (suexec.h); then it forks, and the child sets its
// process group, the RLimit* limits (and RLIMIT_CORE 0: a script's core
// file must not land in a docroot), the identity and PR_SET_PDEATHSIG,
// changes to the script's directory and execs it.
//
// Faults: the master restarts a launcher that dies (at most once a second);
// the listening socket stays the master's, so requests queued meanwhile are
// served by the next one, and the scripts of the dead one die with it
// (PDEATHSIG). A worker that closes its connection (the request ended, the
// client left, the worker was killed) gets its script's process group
// SIGTERMed, then SIGKILLed a second later; the launcher is a child
// subreaper and reaps everything, so nothing is left as a zombie.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <vector>

#include "config/model.h"
#include "core/fd.h"

namespace pillar::server {

class CgiLauncher {
 public:
  // Whether the configuration runs CGI scripts (ScriptAlias, a cgi-script handler).
  static bool needed(const config::ServerConfig& c);

  // Binds the listening socket and publishes its address for the workers
  // (launcher_address()); once, before any worker is forked.
  bool open(std::string& error);
  // Forks the launcher unless it runs, `c` needs none, or it was started
  // less than a second ago. The child closes `close_fds` (the master's).
  void start(const config::ServerConfig& c, const std::vector<int>& close_fds);
  // SIGTERM (it kills its scripts), up to 2 s, then SIGKILL.
  void stop();
  // A reaped pid: true (and logged unless `stopping`) when it was the launcher.
  bool reaped(pid_t pid, int status, bool stopping);
  pid_t pid() const { return pid_; }
  int listen_fd() const { return listen_.get(); }

 private:
  core::Fd listen_;
  pid_t pid_ = 0;
  std::chrono::steady_clock::time_point started_{};
};

// The launcher's loop, in the child after fork(); never returns.
[[noreturn]] void run_cgi_launcher(int listen_fd, pid_t master);

}  // namespace pillar::server

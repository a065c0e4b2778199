#include "server/apachectl.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

namespace pillar::server {
namespace {

// The running master's pid from the PidFile, or 0.
pid_t running_pid(const std::string& pid_file) {
  std::ifstream f(pid_file);
  long pid = 0;
  if (!(f >> pid) || pid <= 1) return 0;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return 0;
  return static_cast<pid_t>(pid);
}

int start_daemon(std::unique_ptr<config::ServerConfig> cfg, MasterOptions opts) {
  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid > 0) {  // wait until the master serves (or fails), as apachectl start does
    close(ready[1]);
    char c = 0;
    ssize_t n = read(ready[0], &c, 1);
    close(ready[0]);
    return n == 1 ? 0 : 1;
  }
  close(ready[0]);
  setsid();
  if (fork() > 0) _exit(0);  // not a session leader: never reacquires a terminal
  opts.ready_fd = ready[1];
  opts.detach_stdio = true;
  int status = run_master(std::move(cfg), opts);
  _exit(status);
}

}  // namespace

int apachectl(const std::string& command, std::unique_ptr<config::ServerConfig> cfg, MasterOptions opts) {
  const std::string pid_file = cfg->process.pid_file;
  pid_t pid = running_pid(pid_file);
  int sig = 0;
  if (command == "start") {
    if (pid) {
      std::fprintf(stderr, "pillar (pid %d) already running\n", pid);
      return 0;
    }
    return start_daemon(std::move(cfg), std::move(opts));
  }
  if (command == "stop") sig = SIGTERM;
  else if (command == "restart") sig = SIGHUP;
  else if (command == "graceful") sig = SIGUSR1;
  else if (command == "graceful-stop") sig = SIGWINCH;
  else {
    std::fprintf(stderr, "pillar: -k %s: use start, stop, restart, graceful or graceful-stop\n", command.c_str());
    return 1;
  }
  if (!pid) {
    if (command == "restart" || command == "graceful") return start_daemon(std::move(cfg), std::move(opts));
    std::fprintf(stderr, "pillar (no pid file %s) not running\n", pid_file.c_str());
    return command == "stop" || command == "graceful-stop" ? 0 : 1;
  }
  if (kill(pid, sig) != 0) {
    std::fprintf(stderr, "pillar: cannot signal pid %d: %s\n", pid, strerror(errno));
    return 1;
  }
  if (sig == SIGTERM) {  // apachectl stop returns once the server is gone
    for (int i = 0; i < 100 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

}  // namespace pillar::server

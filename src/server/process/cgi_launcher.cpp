// The master's side of the CGI launcher: its socket, fork, restart and stop
// (the launcher's own loop is cgi_launcher_loop.cpp).
#include "server/process/cgi_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "core/log.h"
#include "server/cgi_launch.h"

namespace pillar::server {
namespace {

bool section_runs_cgi(const config::CgiSettings& s) {
  if (s.handler.value_or(false)) return true;
  for (const auto& [ext, h] : s.add_handlers) {
    if (h == "cgi-script") return true;
  }
  return false;
}

bool vhost_runs_cgi(const config::VirtualHost& vh) {
  for (const auto& a : vh.alias_rules) {
    if (a.script) return true;
  }
  for (const auto& [ext, h] : vh.add_handlers) {
    if (h == "cgi-script") return true;
  }
  for (const auto& d : vh.directories) {
    if (section_runs_cgi(d.cgi)) return true;
    for (const auto& f : d.files) {
      if (section_runs_cgi(f.cgi)) return true;
    }
  }
  for (const auto& f : vh.files) {
    if (section_runs_cgi(f.cgi)) return true;
  }
  for (const auto& l : vh.locations) {
    if (section_runs_cgi(l.cgi)) return true;
  }
  return false;
}

}  // namespace

bool CgiLauncher::needed(const config::ServerConfig& c) {
  if (vhost_runs_cgi(c.main_server)) return true;
  for (const auto& vh : c.vhosts) {
    if (vhost_runs_cgi(vh)) return true;
  }
  return false;
}

bool CgiLauncher::open(std::string& error) {
  if (listen_) return true;
  core::Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return error = std::string("CGI launcher socket: ") + strerror(errno), false;
  // An abstract address (no file to clean up, none to collide with another
  // server's): the master's pid and random bytes.
  uint64_t nonce = 0;
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  rnd.read(reinterpret_cast<char*>(&nonce), sizeof nonce);
  LauncherAddress a;
  a.addr.sun_family = AF_UNIX;
  std::string name = "pillar-cgid-" + std::to_string(getpid()) + "-" + std::to_string(nonce);
  std::memcpy(a.addr.sun_path + 1, name.data(), name.size());  // sun_path[0] == 0: abstract
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0 || ::listen(fd.get(), 511) != 0)
    return error = std::string("CGI launcher socket: ") + strerror(errno), false;
  listen_ = std::move(fd);
  set_launcher_address(a);
  return true;
}

void CgiLauncher::start(const config::ServerConfig& c, const std::vector<int>& close_fds) {
  using Clock = std::chrono::steady_clock;
  if (pid_ > 0 || !listen_ || !needed(c)) return;
  if (Clock::now() - started_ < std::chrono::seconds(1)) return;  // a failing setup must not spin
  started_ = Clock::now();
  core::ErrorLog::flush();
  pid_t master = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    core::log(core::LogLevel::Error, "cgid", "cannot fork the CGI launcher: {}", strerror(errno));
    return;
  }
  if (pid == 0) {
    for (int fd : close_fds) core::Fd{fd}.reset();  // the master's, inherited: closed in this process only
    run_cgi_launcher(listen_.get(), master);
  }
  pid_ = pid;
  core::log(core::LogLevel::Info, "cgid", "CGI launcher started (pid {})", pid);
}

void CgiLauncher::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {  // it kills its scripts and exits
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

bool CgiLauncher::reaped(pid_t pid, int status, bool stopping) {
  if (pid_ <= 0 || pid != pid_) return false;
  pid_ = 0;
  if (!stopping)
    core::log(core::LogLevel::Error, "cgid", "CGI launcher {} {}; restarting it (its running scripts were stopped)", pid,
              describe_wait_status(status));
  return true;
}

}  // namespace pillar::server

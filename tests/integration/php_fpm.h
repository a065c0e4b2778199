// PHP-FPM for the integration tests that run real PHP (fastcgi_test,
// deflate_test, auth_test): started in the foreground by the test with its
// own php-fpm.conf, a pool on a unix socket and one on 127.0.0.1 TCP, and
// stopped with it; START_FPM skips a test where php-fpm is not installed.
#pragma once
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "harness.h"

namespace itest {

inline std::string php_fpm_binary() {
  for (const char* p : {"/usr/sbin/php-fpm8.2", "/usr/sbin/php-fpm"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

inline bool can_connect_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) == 0;
  ::close(fd);
  return ok;
}

inline bool can_connect_tcp(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// A free loopback port for PHP-FPM's TCP pool (bound, then released for it).
inline uint16_t free_port() {
  uint16_t port = 0;
  int fd = listen_loopback(port, 1);
  if (fd >= 0) ::close(fd);
  return port;
}

// What a test may change in its PHP-FPM: each instance started from the
// same TempTree needs its own `dir` (socket, pid file, log, php-fpm.conf);
// `pool_lines` are appended to both pools' sections (env[NAME] = value,
// php_admin_value[post_max_size] = 64M, ...).
struct FpmOptions {
  int children = 3;
  std::string dir = "run";
  std::string pool_lines;
};
inline FpmOptions with_children(int children) {
  FpmOptions o;
  o.children = children;
  return o;
}

// PHP-FPM in the foreground (-F) with its own php-fpm.conf: pool "sock" on a
// unix socket, pool "tcp" on 127.0.0.1:PORT; no php.ini (-n); as root only
// with -R (CI). Stopped (TERM, then KILL) by stop() or the destructor.
class PhpFpm {
 public:
  explicit PhpFpm(const TempTree& t, int children = 3) : PhpFpm(t, with_children(children)) {}
  PhpFpm(const TempTree& t, const FpmOptions& o) : socket_(t.path(o.dir + "/fpm.sock")) {
    std::string bin = php_fpm_binary();
    if (bin.empty()) return;
    ::mkdir(t.path(o.dir).c_str(), 0755);
    tcp_port_ = free_port();
    std::string pools;
    for (const char* name : {"sock", "tcp"}) {
      pools += std::string("[") + name + "]\nlisten = " +
               (std::string(name) == "sock" ? socket_ : "127.0.0.1:" + std::to_string(tcp_port_)) +
               "\nlisten.mode = 0666\npm = static\npm.max_children = " + std::to_string(o.children) +
               "\ncatch_workers_output = no\nclear_env = yes\n" + o.pool_lines;
    }
    std::string conf = t.path(o.dir + "/php-fpm.conf");
    FILE* f = std::fopen(conf.c_str(), "w");
    std::fprintf(f, "[global]\nerror_log = %s\ndaemonize = no\npid = %s\n%s", t.path(o.dir + "/fpm.log").c_str(),
                 t.path(o.dir + "/fpm.pid").c_str(), pools.c_str());
    std::fclose(f);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      std::vector<const char*> argv = {bin.c_str(), "-F", "-n", "-y", conf.c_str(), "-d", "output_buffering=0"};
      if (::geteuid() == 0) argv.push_back("-R");
      argv.push_back(nullptr);
      ::execv(bin.c_str(), const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    ready_ = eventually([&] { return can_connect_unix(socket_) && can_connect_tcp(tcp_port_); }, 10s);
  }
  ~PhpFpm() { stop(); }
  bool ready() const { return ready_; }
  const std::string& socket() const { return socket_; }
  uint16_t tcp_port() const { return tcp_port_; }
  pid_t pid() const { return pid_; }  // the master's; -1 once stopped
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    bool gone = eventually([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 5s);
    if (!gone) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

 private:
  std::string socket_;
  uint16_t tcp_port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

#define START_FPM(var, tree)                                                            \
  if (php_fpm_binary().empty()) GTEST_SKIP() << "php-fpm is not installed (scripts/install-deps)"; \
  PhpFpm var(tree);                                                                      \
  ASSERT_TRUE(var.ready()) << "php-fpm did not come up: " << tree.read("run/fpm.log")

}  // namespace itest

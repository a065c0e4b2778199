// The CGI launcher's loop (see cgi_launcher.h): one thread, one poll() over
// a signalfd (SIGCHLD, SIGTERM), the listening socket and one connection
// per script. Starting a script blocks the loop only for the fork and the
// child's few system calls up to exec (the child reports a failure before
// exec on a close-on-exec pipe, which the loop reads to its end).
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/fd.h"
#include "core/log.h"
#include "server/cgi_launch.h"
#include "server/process/cgi_launcher.h"
#include "server/process/suexec.h"

namespace pillar::server {
namespace {

constexpr size_t kMaxScripts = 4096;        // more wait in the listen backlog
constexpr uint64_t kKillGraceMs = 1000;     // SIGTERM, then SIGKILL this much later
constexpr int kCheckMs = 100;               // while a group is being stopped

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

struct Script {
  core::Fd conn;
  ucred peer{};
  pid_t pid = 0;              // its process group too
  bool reaped = false;        // the leader was reaped
  bool conn_open = true;
  uint64_t kill_at = 0;       // SIGKILL the group then (0: not asked yet)
};

pid_t parent_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  size_t close = line.rfind(')');  // the command may hold spaces and parentheses
  if (close == std::string::npos) return -1;
  char state = 0;
  long ppid = -1;
  if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) != 2) return -1;
  return static_cast<pid_t>(ppid);
}

void send_reply(int fd, const LaunchReply& r) {
  std::string m = encode_launch_reply(r);
  (void)::send(fd, m.data(), m.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// The child's side, up to exec; a failure is written on `err` and ends it.
[[noreturn]] void child_fail(int err, const std::string& why) {
  (void)!::write(err, why.data(), why.size());
  _exit(127);
}

bool apply_limit(int resource, const config::RLimitValue& v, const char* name, std::string& why) {
  if (!v.set) return true;
  rlimit cur{};
  getrlimit(resource, &cur);
  rlimit want = cur;
  want.rlim_cur = v.soft == config::RLimitValue::kMax ? cur.rlim_max : static_cast<rlim_t>(v.soft);
  if (v.hard) want.rlim_max = *v.hard == config::RLimitValue::kMax ? cur.rlim_max : static_cast<rlim_t>(*v.hard);
  if (want.rlim_cur > want.rlim_max) want.rlim_max = want.rlim_cur;  // root may raise it; others fail below
  if (setrlimit(resource, &want) != 0) return why = std::string(name) + ": setrlimit failed: " + strerror(errno), false;
  return true;
}

struct Spawn {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool change_identity = false;
};

[[noreturn]] void exec_child(const LaunchRequest& r, const Spawn& sp, int fds[3], int err, pid_t launcher) {
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);  // the master ignores SIGPIPE and SIGXFSZ
  for (int i = 0; i < 3; ++i) {
    if (dup2(fds[i], i) < 0) child_fail(err, std::string("dup2: ") + strerror(errno));
  }
  // Nothing else of the launcher's reaches the script (err closes at exec).
  if (err > 3) close_range(3, static_cast<unsigned>(err - 1), 0);
  close_range(static_cast<unsigned>(err + 1), ~0U, 0);
  std::string dir = r.program.substr(0, r.program.rfind('/'));
  if (chdir(dir.empty() ? "/" : dir.c_str()) != 0)
    child_fail(err, "cannot change to the script's directory " + dir + ": " + strerror(errno));
  std::string why;
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (!apply_limit(RLIMIT_CPU, r.limits.cpu, "RLimitCPU", why) || !apply_limit(RLIMIT_AS, r.limits.mem, "RLimitMEM", why) ||
      !apply_limit(RLIMIT_NPROC, r.limits.nproc, "RLimitNPROC", why))
    child_fail(err, why);
  if (sp.change_identity) {
    if (setgroups(sp.groups.size(), sp.groups.data()) != 0 || setgid(sp.gid) != 0 || setuid(sp.uid) != 0)
      child_fail(err, "cannot switch to uid " + std::to_string(sp.uid) + " gid " + std::to_string(sp.gid) + ": " +
                          strerror(errno));
    if (getuid() != sp.uid || geteuid() != sp.uid) child_fail(err, "the identity did not change");
  }
  // Dies with the launcher (set after the identity change, which clears it).
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != launcher) _exit(127);
  std::string argv0 = r.program.substr(r.program.rfind('/') + 1);
  std::vector<char*> argv = {argv0.data(), nullptr};
  std::vector<char*> envp;
  std::vector<std::string> env = r.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  execve(r.program.c_str(), argv.data(), envp.data());
  // EAGAIN here is RLimitNPROC: the user already runs that many processes.
  child_fail(err, "exec of " + r.program + " failed: " + strerror(errno) +
                      (errno == EAGAIN ? " (the user's processes reached RLimitNPROC)" : ""));
}

class Launcher {
 public:
  Launcher(int listen_fd, pid_t master) : listen_(listen_fd), master_(master) {}
  [[noreturn]] void run();

 private:
  void accept_all();
  void on_request(Script& s);
  void on_closed(Script& s);
  void reap();
  void stop_groups(uint64_t now);
  bool start(Script& s, LaunchRequest& r, int fds[3], LaunchReply& reply);

  int listen_;
  pid_t master_;
  core::Fd sigfd_;
  std::vector<std::unique_ptr<Script>> scripts_;
};

void Launcher::accept_all() {
  while (scripts_.size() < kMaxScripts) {
    int fd = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    auto s = std::make_unique<Script>();
    s->conn.reset(fd);
    socklen_t len = sizeof s->peer;
    // Only the master's children (its workers) may ask: anyone on the host
    // can reach an abstract socket.
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &s->peer, &len) != 0 || parent_of(s->peer.pid) != master_) {
      core::log(core::LogLevel::Error, "cgid", "CGI launcher: refused a request from pid {} (not a worker of this server)",
                s->peer.pid);
      continue;
    }
    scripts_.push_back(std::move(s));
  }
}

bool Launcher::start(Script& s, LaunchRequest& r, int fds[3], LaunchReply& reply) {
  reply.kind = LaunchReply::Kind::Refused;
  reply.value = 500;
  Spawn sp;
  const bool root = geteuid() == 0;
  if (r.identity == LaunchRequest::Identity::Server) {
    // The worker's own identity (User/Group), whatever the launcher's.
    sp.uid = s.peer.uid;
    sp.gid = s.peer.gid;
    sp.groups = {sp.gid};
    sp.change_identity = root && (sp.uid != 0 || sp.gid != 0);
    if (!root && sp.uid != geteuid()) return reply.message = "the CGI launcher cannot take the worker's identity", false;
  } else {
    if (!root)
      return reply.message = "suexec: Pillar must be started as root to run scripts as their owner (SuexecUserGroup, UserDir)",
             false;
    SuexecTarget t;
    std::string why;
    if (!suexec_check(r, t, why)) return reply.message = "suexec refused " + r.program + ": " + why, false;
    sp.uid = t.uid;
    sp.gid = t.gid;
    sp.groups = t.groups;
    sp.change_identity = true;
  }
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0) return reply.message = std::string("pipe: ") + strerror(errno), false;
  core::Fd err_r(ep[0]), err_w(ep[1]);
  pid_t pid = fork();
  if (pid < 0) return reply.message = std::string("fork: ") + strerror(errno), false;
  if (pid == 0) {
    err_r.reset();
    exec_child(r, sp, fds, err_w.get(), getppid());
  }
  setpgid(pid, pid);  // as the child does: whichever runs first
  err_w.reset();
  std::string failure;
  char buf[1024];
  for (;;) {
    ssize_t n = read(err_r.get(), buf, sizeof buf);
    if (n > 0) {
      failure.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  if (!failure.empty()) {
    waitpid(pid, nullptr, 0);  // it exits right after writing
    reply.message = failure;
    return false;
  }
  s.pid = pid;
  reply.kind = LaunchReply::Kind::Started;
  reply.pid = pid;
  reply.value = 0;
  return true;
}

void Launcher::on_request(Script& s) {
  std::string buf(kLaunchMessageMax, '\0');
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(3 * sizeof(int))];
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  ssize_t n = recvmsg(s.conn.get(), &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // The pipes: owned here until the child has its copies.
  core::Fd pipes[3];
  int got = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (got < 3) pipes[got++].reset(fd);
      else core::Fd{fd}.reset();
    }
  }
  if (n <= 0) {
    on_closed(s);
    return;
  }
  LaunchRequest r;
  LaunchReply reply;
  if (got != 3 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
      !decode_launch_request(std::string_view(buf.data(), static_cast<size_t>(n)), r)) {
    reply.kind = LaunchReply::Kind::Refused;
    reply.value = 500;
    reply.message = "malformed request to the CGI launcher";
  } else {
    int fds[3] = {pipes[0].get(), pipes[1].get(), pipes[2].get()};
    start(s, r, fds, reply);
  }
  send_reply(s.conn.get(), reply);
  if (reply.kind == LaunchReply::Kind::Refused) {  // nothing runs: the connection is done
    s.conn.reset();
    s.conn_open = false;
    s.reaped = true;
  }
}

void Launcher::on_closed(Script& s) {
  s.conn.reset();
  s.conn_open = false;
  if (s.pid <= 0) {
    s.reaped = true;  // it never started
    return;
  }
  // The worker is done with the script (or gone): what is left of its
  // process group stops, gently first.
  if (kill(-s.pid, SIGTERM) == 0) s.kill_at = now_ms() + kKillGraceMs;
}

void Launcher::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& s : scripts_) {
      if (s->pid != pid) continue;
      s->reaped = true;
      LaunchReply r;
      r.kind = LaunchReply::Kind::Exited;
      r.pid = pid;
      r.value = status;
      if (s->conn_open) send_reply(s->conn.get(), r);
      else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
        core::log(core::LogLevel::Error, "cgid", "CGI script {} {}", pid, describe_wait_status(status));
    }
    // Anything else is an orphan of a script (this process is a subreaper).
  }
}

void Launcher::stop_groups(uint64_t now) {
  for (auto it = scripts_.begin(); it != scripts_.end();) {
    Script& s = **it;
    if (s.conn_open) {
      ++it;
      continue;
    }
    bool group_alive = s.pid > 0 && kill(-s.pid, 0) == 0;
    if (group_alive && s.kill_at && now >= s.kill_at) kill(-s.pid, SIGKILL);
    if (group_alive && !s.kill_at) {
      kill(-s.pid, SIGTERM);
      s.kill_at = now + kKillGraceMs;
    }
    if (s.reaped && !group_alive) {
      it = scripts_.erase(it);
      continue;
    }
    ++it;
  }
}

void Launcher::run() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT}) sigaddset(&set, sig);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  sigfd_.reset(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({sigfd_.get(), POLLIN, 0});
    fds.push_back({listen_, static_cast<short>(scripts_.size() < kMaxScripts ? POLLIN : 0), 0});
    bool stopping_groups = false;
    for (const auto& s : scripts_) {
      fds.push_back({s->conn_open ? s->conn.get() : -1, POLLIN, 0});
      stopping_groups = stopping_groups || !s->conn_open;
    }
    int n = poll(fds.data(), fds.size(), stopping_groups ? kCheckMs : -1);
    if (n < 0 && errno != EINTR) _exit(1);
    bool stop = false;
    signalfd_siginfo si{};
    while (read(sigfd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) stop = true;
    }
    reap();  // first: a script that ended is not signalled for its worker's close below
    if (stop || getppid() != master_) break;
    size_t known = scripts_.size();
    for (size_t i = 0; i < known; ++i) {
      if (fds[i + 2].revents && scripts_[i]->conn_open) {
        if (scripts_[i]->pid == 0) on_request(*scripts_[i]);
        else on_closed(*scripts_[i]);  // the worker sends one message: anything more is its close
      }
    }
    if (fds[1].revents & POLLIN) accept_all();
    stop_groups(now_ms());
  }
  // Stopping: every script goes with the launcher.
  for (auto& s : scripts_) {
    if (s->pid > 0) kill(-s->pid, SIGKILL);
  }
  core::ErrorLog::flush();
  _exit(0);
}

}  // namespace

void run_cgi_launcher(int listen_fd, pid_t master) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != master) _exit(0);
  prctl(PR_SET_NAME, "pillar-cgid");
  // Orphans of scripts (a script's own children) are reparented here and reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  Launcher l(listen_fd, master);
  l.run();
}

}  // namespace pillar::server

// RewriteMap prg: helpers (see prg_map.h). The master owns the helper
// processes and restarts them; any process with the inherited pipes looks
// up under the shared robust lock. The lookup's pipe ends are non-blocking
// and every wait is a poll bounded by the map's deadline.
#include "rewrite/prg_map.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

#include "core/log.h"
#include "core/shm/robust_lock.h"

namespace pillar::rewrite {

struct ProgramMap::Shared {
  core::shm::RobustLock lock;      // one lookup at a time (the helper answers in order)
  std::atomic<int32_t> pid{0};     // the running helper; 0: none (lookups answer the default)
  std::atomic<uint32_t> timeout_ms{1000};
  std::atomic<uint64_t> lookups{0}, failures{0}, starts{0};
};

namespace {

using Clock = std::chrono::steady_clock;

std::vector<ProgramMap*>& registry() {
  static std::vector<ProgramMap*> maps;  // the master's started maps (single-threaded)
  return maps;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(left, 0));
}

void set_nonblocking(int fd, bool on) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

void discard(int fd) {
  char junk[4096];
  while (::read(fd, junk, sizeof junk) > 0) {
  }
}

}  // namespace

std::shared_ptr<ProgramMap> ProgramMap::create(std::string_view name, std::string_view spec, std::string_view user_group,
                                               std::string& why) {
  std::shared_ptr<ProgramMap> m(new ProgramMap());
  m->name_ = std::string(name);
  for (size_t p = 0; p < spec.size();) {
    size_t e = spec.find_first_of(" \t", p);
    if (e == std::string_view::npos) e = spec.size();
    if (e > p) m->argv_.emplace_back(spec.substr(p, e - p));
    p = e + 1;
  }
  if (m->argv_.empty() || m->argv_[0][0] != '/')
    return why = "RewriteMap " + m->name_ + ": prg: needs the program's absolute path, e.g. prg:/usr/local/bin/map.pl", nullptr;
  struct stat st {};
  if (::stat(m->argv_[0].c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(m->argv_[0].c_str(), X_OK) != 0)
    return why = "RewriteMap " + m->name_ + ": " + m->argv_[0] + " is not an executable file", nullptr;
  if (!user_group.empty()) {
    size_t colon = user_group.find(':');
    m->user_ = std::string(user_group.substr(0, colon));
    m->group_ = colon == std::string_view::npos ? std::string() : std::string(user_group.substr(colon + 1));
    if (m->user_.empty() || !getpwnam(m->user_.c_str()))
      return why = "RewriteMap " + m->name_ + ": user '" + m->user_ + "' does not exist (write user:group)", nullptr;
    if (!m->group_.empty() && !getgrnam(m->group_.c_str()))
      return why = "RewriteMap " + m->name_ + ": group '" + m->group_ + "' does not exist (write user:group)", nullptr;
  }
  return m;
}

ProgramMap::~ProgramMap() {
  if (owner_ && owner_ == getpid()) {
    auto& r = registry();
    r.erase(std::remove(r.begin(), r.end(), this), r.end());
    if (child_ > 0) ::kill(child_, SIGKILL);  // reaped by the master's next waitpid(-1)
  }
  for (int fd : {to_helper_[0], to_helper_[1], from_helper_[0], from_helper_[1]}) {
    if (fd >= 0) ::close(fd);
  }
  if (shared_) munmap(shared_, sizeof(Shared));
}

bool ProgramMap::start(std::chrono::milliseconds timeout, std::string_view run_as_user, std::string_view run_as_group,
                       std::string& error) {
  if (shared_) return true;
  void* mem = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return error = "RewriteMap " + name_ + ": cannot map shared memory: " + strerror(errno), false;
  shared_ = new (mem) Shared();
  shared_->lock.init();
  shared_->timeout_ms = static_cast<uint32_t>(std::max<int64_t>(timeout.count(), 1));
  if (pipe2(to_helper_, O_CLOEXEC) != 0 || pipe2(from_helper_, O_CLOEXEC) != 0)
    return error = "RewriteMap " + name_ + ": pipe: " + strerror(errno), false;
  // The lookups' ends only (their descriptions are shared by every worker).
  set_nonblocking(to_helper_[1], true);
  set_nonblocking(from_helper_[0], true);
  if (user_.empty() && getuid() == 0) {
    user_ = std::string(run_as_user);
    group_ = std::string(run_as_group);
  }
  owner_ = getpid();
  registry().push_back(this);
  return spawn(error);
}

bool ProgramMap::spawn(std::string& error) {
  core::ErrorLog::flush();
  std::vector<char*> argv;
  for (auto& a : argv_) argv.push_back(a.data());
  argv.push_back(nullptr);
  uid_t uid = 0;
  gid_t gid = 0;
  bool drop = getuid() == 0 && !user_.empty();
  if (drop) {
    const passwd* pw = getpwnam(user_.c_str());
    if (!pw) return error = "RewriteMap " + name_ + ": user " + user_ + " does not exist", false;
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    if (!group_.empty()) {
      const group* gr = getgrnam(group_.c_str());
      if (!gr) return error = "RewriteMap " + name_ + ": group " + group_ + " does not exist", false;
      gid = gr->gr_gid;
    }
  }
  pid_t pid = fork();
  if (pid < 0) return error = "RewriteMap " + name_ + ": fork: " + strerror(errno), false;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // the master gone: the helper too
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the master blocks signals for its signalfd
    if (dup2(to_helper_[0], 0) < 0 || dup2(from_helper_[1], 1) < 0) _exit(126);
    close_range(3, ~0U, 0);
    if (drop && (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  child_ = pid;
  last_start_ = Clock::now();
  shared_->pid = pid;
  ++shared_->starts;
  core::log(core::LogLevel::Info, "rewrite", "RewriteMap {}: helper {} started (pid {})", name_, argv_[0], pid);
  return true;
}

pid_t ProgramMap::helper_pid() const { return shared_ ? shared_->pid.load() : 0; }

void ProgramMap::worker_fds(std::vector<int>& out) const {
  if (!shared_) return;
  out.push_back(to_helper_[1]);
  out.push_back(from_helper_[0]);
}

bool ProgramMap::lookup(std::string_view key, std::string& value) const {
  if (!shared_ || key.find_first_of("\r\n") != std::string_view::npos) return false;
  Shared& s = *shared_;
  if (s.pid.load() <= 0) return false;
  ++s.lookups;
  const uint32_t timeout_ms = s.timeout_ms.load();
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  core::shm::RobustGuard guard(s.lock, timeout_ms * 1000u);
  if (!guard.locked()) return ++s.failures, false;
  const pid_t pid = s.pid.load();
  if (pid <= 0) return false;
  // The helper went wrong (killed mid-answer, too slow): it is killed so
  // the master starts a clean one, and this lookup answers the default.
  auto fail = [&](const char* why) {
    ++s.failures;
    int32_t expected = pid;
    if (s.pid.compare_exchange_strong(expected, 0)) {
      ::kill(pid, SIGKILL);
      core::log(core::LogLevel::Error, "rewrite", "RewriteMap {}: the helper (pid {}) {}; it is restarted, the lookup "
                                                  "answers the default", name_, pid, why);
    }
    return false;
  };
  discard(from_helper_[0]);  // what an abandoned lookup left (none, normally)
  std::string msg(key);
  msg.push_back('\n');
  for (size_t off = 0; off < msg.size();) {
    ssize_t n = ::write(to_helper_[1], msg.data() + off, msg.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return fail("cannot be written to");
    pollfd p{to_helper_[1], POLLOUT, 0};
    if (remaining_ms(deadline) == 0) return fail("did not read its input in time");
    ::poll(&p, 1, std::min(remaining_ms(deadline), 10));
  }
  std::string line;
  for (;;) {
    char buf[512];
    ssize_t n = ::read(from_helper_[0], buf, sizeof buf);
    if (n > 0) {
      line.append(buf, static_cast<size_t>(n));
      size_t nl = line.find('\n');
      if (nl != std::string::npos) {
        line.resize(nl);
        break;
      }
      if (line.size() > 64 * 1024) return fail("answered a line longer than 64 KiB");
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return fail("cannot be read from");
    if (s.pid.load() != pid) return false;  // reaped meanwhile: the master restarts it
    if (remaining_ms(deadline) == 0) return fail("did not answer in time");
    pollfd p{from_helper_[0], POLLIN, 0};
    ::poll(&p, 1, std::min(remaining_ms(deadline), 10));  // short slices: a death is seen soon
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line == "NULL") return false;
  value = std::move(line);
  return true;
}

void ProgramMap::drain_for_restart() {
  // Keys the dead helper did not read would be answered by the next one.
  set_nonblocking(to_helper_[0], true);
  discard(to_helper_[0]);
  set_nonblocking(to_helper_[0], false);
  discard(from_helper_[0]);
}

bool ProgramMap::reaped(pid_t pid, int status) {
  for (ProgramMap* m : registry()) {
    if (m->child_ != pid || pid <= 0) continue;
    m->child_ = 0;
    int32_t expected = pid;
    m->shared_->pid.compare_exchange_strong(expected, 0);
    core::log(core::LogLevel::Error, "rewrite", "RewriteMap {}: helper {} (pid {}) exited ({}); restarting it", m->name_,
              m->argv_[0], pid,
              WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "status " + std::to_string(WEXITSTATUS(status)));
    return true;
  }
  return false;
}

void ProgramMap::maintain() {
  for (ProgramMap* m : registry()) {
    if (m->child_ > 0 || !m->shared_) continue;
    // One that keeps dying is tried again at most once a second (the master's tick).
    if (Clock::now() - m->last_start_ < std::chrono::seconds(1)) continue;
    core::shm::RobustGuard guard(m->shared_->lock, 50'000);
    if (!guard.locked()) continue;  // a lookup is finishing: the next tick
    m->drain_for_restart();
    std::string error;
    if (!m->spawn(error)) core::log(core::LogLevel::Error, "rewrite", "{}", error);
  }
}

}  // namespace pillar::rewrite

// RewriteMap NAME prg:/path/to/program [user:group]: mod_rewrite's external
// map. One long-running helper per map, started by the master when the
// configuration is installed: it reads a key per line on stdin and answers
// one line on stdout (the value, or NULL for none), as Apache's protocol.
//
// Processes: the master creates the two pipes and a small shared mapping
// (a robust lock, the helper's pid) before it forks the workers, so every
// worker holds the pipes' ends. A lookup, in a worker, takes the lock (the
// helper answers one key at a time, Apache's rewrite-map mutex), writes the
// key and reads the line. The pipes outlive the helper: when it dies the
// master reaps it and starts another on the same pipes, after draining
// what the dead one left in them, so the workers never need new fds.
//
// Bounds: a lookup waits at most PillarRewriteMapTimeout (default 1 s) for
// the lock and the answer together, then answers the map's default; a
// helper that overran is killed (the master restarts it), because its late
// answer would otherwise be read as the next key's. While no helper runs
// lookups answer the default at once. A lookup blocks its loop thread for
// that long at worst, as it blocks an Apache thread.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pillar::rewrite {

class ProgramMap {
 public:
  // Checks `spec` ("/path/prog [args]") names an executable and `user_group`
  // ("user:group", "" for the workers' identity); nothing is started.
  static std::shared_ptr<ProgramMap> create(std::string_view name, std::string_view spec, std::string_view user_group,
                                            std::string& why);
  ~ProgramMap();
  ProgramMap(const ProgramMap&) = delete;
  ProgramMap& operator=(const ProgramMap&) = delete;

  // Master, before the workers fork: the pipes, the shared state, the first
  // helper. `run_as`: the workers' User/Group when started as root ("" none).
  bool start(std::chrono::milliseconds timeout, std::string_view run_as_user, std::string_view run_as_group,
             std::string& error);
  bool started() const { return shared_ != nullptr; }
  // Any process: the helper's answer for `key`; false (use the default)
  // for NULL, a timeout, no helper running, or a key with a line break.
  bool lookup(std::string_view key, std::string& value) const;
  pid_t helper_pid() const;  // the running helper (0: none), for tests and status
  // The descriptors a worker keeps open to look up (the lookups' pipe ends).
  void worker_fds(std::vector<int>& out) const;

  // Master: a child exited; true when it was one of the helpers (then
  // restarted by maintain()).
  static bool reaped(pid_t pid, int status);
  // Master: starts again the helpers that are not running.
  static void maintain();

 private:
  struct Shared;
  ProgramMap() = default;
  bool spawn(std::string& error);  // master: a new helper on the pipes
  void drain_for_restart();

  std::string name_;
  std::vector<std::string> argv_;
  std::string user_, group_;
  Shared* shared_ = nullptr;  // MAP_SHARED, made in the master
  int to_helper_[2] = {-1, -1};    // [1]: the lookups write keys; [0]: the helper's stdin
  int from_helper_[2] = {-1, -1};  // [0]: the lookups read answers; [1]: the helper's stdout
  pid_t owner_ = 0;                // the process that started it (the master): only it stops the helper
  pid_t child_ = 0;                // master: the helper it spawned and has not reaped
  std::chrono::steady_clock::time_point last_start_{};
};

}  // namespace pillar::rewrite

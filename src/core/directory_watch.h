// DirectoryWatch: tells whether a directory changed since it was looked at,
// without a system call per question. One inotify instance per owner (an
// event loop's thread): watch(dir) returns a token naming the directory's
// current generation; poll() reads what the kernel queued (one read, no
// wait); changed(token) is a lookup. The kernel queues an event during the
// syscall that changes the directory (a file created, written, renamed,
// removed, its mode changed), so a poll() after it always sees it.
//
// What it cannot see, and says so (watch returns no token): directories on
// network or FUSE filesystems (another host's writes raise no local
// event), a directory that does not exist, and any directory beyond
// max_watches or the kernel's fs.inotify limits. The caller then checks
// the directory itself, as if there were no watch.
//
// A queue overflow (IN_Q_OVERFLOW: events were lost) counts as a change of
// every directory.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>

#include "core/fd.h"

namespace pillar::core {

class DirectoryWatch {
 public:
  struct Token {
    int wd = -1;
    uint64_t generation = 0;
  };
  static constexpr size_t kDefaultMaxWatches = 4096;

  explicit DirectoryWatch(size_t max_watches = kDefaultMaxWatches);

  // False when there is no inotify instance (fs.inotify.max_user_instances
  // reached): nothing is watched. The instance is made at the first call.
  bool available();
  enum class Result : uint8_t {
    Watched,      // `out` is the directory's token
    Missing,      // no such directory (ENOENT, ENOTDIR): its parent's watch sees it appear
    Unwatchable,  // a network filesystem, no permission, or a limit reached
  };
  // Starts (or keeps) watching `dir`. Watch before looking: a change
  // between the look and the watch would be lost.
  Result watch(const std::string& dir, Token& out);
  // Reads the queued events (never blocks).
  void poll();
  // True when the directory changed after `t` was taken (or is no longer watched).
  bool changed(const Token& t) const;

  size_t watches() const { return gen_.size(); }
  uint64_t events() const { return events_; }

 private:
  Fd fd_;
  bool opened_ = false;
  size_t max_watches_;
  std::unordered_map<int, uint64_t> gen_;  // wd -> generation: a value never given before, on each change
  uint64_t next_ = 0;
  uint64_t events_ = 0;
};

// Whether `dir` is on a filesystem whose changes another host can make
// (NFS, SMB/CIFS, FUSE, Ceph, AFS...): no local event would tell of them.
bool on_network_filesystem(const std::string& dir);

}  // namespace pillar::core

#include "core/directory_watch.h"

#include <sys/inotify.h>
#include <sys/vfs.h>

#include <cerrno>

#include "core/assert.h"

namespace pillar::core {

namespace {

// What changes the answer of a stat or open below the directory: entries
// created, removed, renamed, written or re-moded, and the directory itself
// removed, moved or re-moded.
constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE |
                           IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

}  // namespace

bool on_network_filesystem(const std::string& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return true;  // cannot tell: do not trust a watch
  switch (static_cast<uint32_t>(fs.f_type)) {
    case 0x6969:      // NFS
    case 0x517B:      // SMB
    case 0xFF534D42:  // CIFS
    case 0xFE534D42:  // SMB2
    case 0x65735546:  // FUSE (sshfs, GlusterFS, s3fs...)
    case 0x00C36400:  // Ceph
    case 0x5346414F:  // AFS
    case 0x6B414653:  // kAFS
    case 0x73757245:  // Coda
    case 0x01021997:  // 9p
    case 0x0BD00BD0:  // Lustre
    case 0x01161970:  // GFS2
    case 0x7461636F:  // OCFS2
      return true;
    default:
      return false;
  }
}

DirectoryWatch::DirectoryWatch(size_t max_watches) : max_watches_(max_watches) {}

bool DirectoryWatch::available() {
  if (!opened_) {
    opened_ = true;
    fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  }
  return fd_.valid();
}

DirectoryWatch::Result DirectoryWatch::watch(const std::string& dir, Token& out) {
  if (!available()) return Result::Unwatchable;
  const int wd = ::inotify_add_watch(fd_.get(), dir.c_str(), kMask);
  if (wd < 0) return errno == ENOENT || errno == ENOTDIR ? Result::Missing : Result::Unwatchable;  // EACCES, ENOSPC
  auto it = gen_.find(wd);
  if (it == gen_.end()) {
    // A new watch: refused beyond max_watches, and on a filesystem another
    // host writes to (the kernel would report nothing of those writes).
    if (gen_.size() >= max_watches_ || on_network_filesystem(dir)) {
      ::inotify_rm_watch(fd_.get(), wd);
      return Result::Unwatchable;
    }
    it = gen_.emplace(wd, ++next_).first;  // a wd the kernel reuses never matches an old token
  }
  out = {wd, it->second};
  return Result::Watched;
}

void DirectoryWatch::poll() {
  if (!fd_.valid()) return;
  alignas(inotify_event) char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: nothing queued
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      ++events_;
      if (ev->mask & IN_Q_OVERFLOW) {
        ++next_;  // events were lost: every directory may have changed
        for (auto& [wd, g] : gen_) g = next_;
        continue;
      }
      auto it = gen_.find(ev->wd);
      if (it == gen_.end()) continue;
      if (ev->mask & IN_IGNORED) {  // the directory is gone (or unmounted): its tokens are stale for good
        gen_.erase(it);
        continue;
      }
      it->second = ++next_;
    }
  }
}

bool DirectoryWatch::changed(const Token& t) const {
  auto it = gen_.find(t.wd);
  return it == gen_.end() || it->second != t.generation;
}

}  // namespace pillar::core

// .htaccess files: Apache's per-directory configuration files, read during
// the request (the rewrite phase calls resolve() once it knows the
// filename), so a customer changes a site's rules without a reload.
//
// The walk, as Apache's directory walk: for each directory from "/" down to
// the file's own, when the <Directory> sections enclosing that directory
// allow overrides (AllowOverride other than None, or an AllowOverrideList),
// the first AccessFileName that exists there is read. Each file found is
// merged after the <Directory> sections of its own path and before deeper
// ones, in order, as a per-directory section of a copy of the vhost's
// configuration: the result is a Site for that chain of files (the vhost's
// handlers, logs and routes, the merged configuration, its own compiled
// rewrite rules). The request is served by that Site.
//
// Cost and freshness. By default (PillarHtaccessCheck watch) a filename's
// walk (which files, with which identities) is remembered until the kernel
// reports a change in one of the directories it looked into or their
// parent (the first such directory's, and every level below it; inotify, one
// instance per thread: core::DirectoryWatch); before a remembered walk is
// used, one non-blocking read collects what the kernel queued, so an
// edit, a new file or a removed one is seen by the next request, as
// Apache's stat of every level on every request sees it, at the cost of
// one system call instead of one per level. A walk with a directory that
// cannot be watched (a network filesystem, a missing directory with no
// watched parent, the watch limits) is not remembered: it is made again,
// as with 0. With PillarHtaccessCheck 0 every level is stat'ed on every
// request; with N, a walk is remembered for N seconds, with no stat in
// between (changes seen within N seconds).
// A file is parsed once per identity (kept per thread, a bounded LRU) and a
// chain's Site is built once per set of identities (a smaller LRU): the
// steady state is a few stat calls and two hash lookups.
//
// Failures answer for that tree only: a file that cannot be read (EACCES:
// 403, as Apache), is larger than kMaxFileBytes, fails to parse, or holds a
// directive its AllowOverride does not allow is a 500, logged with the
// file:line. The result is cached like a good one (until the file changes).
//
// One cache per thread (thread_htaccess_cache): the event loops share
// nothing and take no lock. Entries are keyed by the vhost Site's serial,
// so a cache outliving a Runtime never serves its Sites again.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/directives.h"
#include "config/section_tree.h"
#include "core/directory_watch.h"

namespace pillar::server {

struct Site;
class Runtime;

struct HtaccessOutcome {
  const Site* site = nullptr;         // the Site that serves the request (the vhost's own when no file applies)
  std::shared_ptr<const Site> hold;   // keeps a per-directory Site alive for the request
  int status = 0;                     // non-zero: answer it (500, 403) and log `error`
  std::string error;                  // "FILE:LINE: message"
};

// A bounded map with least-recently-used eviction.
template <typename V>
class LruMap {
 public:
  explicit LruMap(size_t capacity) : cap_(capacity) {}
  V* find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);  // most recent first
    return &it->second->second;
  }
  V& put(const std::string& key, V value) {
    if (V* v = find(key)) return *v = std::move(value);
    order_.emplace_front(key, std::move(value));
    index_[key] = order_.begin();
    while (order_.size() > cap_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return order_.front().second;
  }
  void erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    order_.erase(it->second);
    index_.erase(it);
  }
  size_t size() const { return order_.size(); }
  size_t capacity() const { return cap_; }

 private:
  size_t cap_;
  std::list<std::pair<std::string, V>> order_;
  std::unordered_map<std::string, typename std::list<std::pair<std::string, V>>::iterator> index_;
};

class HtaccessCache {
 public:
  static constexpr size_t kMaxFileBytes = 256 * 1024;  // a larger .htaccess is refused (500)
  static constexpr size_t kMaxFiles = 1024;            // parsed files kept per thread
  static constexpr size_t kMaxSites = 256;             // per-directory Sites kept per thread

  explicit HtaccessCache(size_t max_files = kMaxFiles, size_t max_sites = kMaxSites,
                         size_t max_watches = core::DirectoryWatch::kDefaultMaxWatches);

  // The Site that serves `filename` (absolute; the DocumentRoot + path, or
  // what Alias / a rule mapped), `base` being the vhost's own Site.
  // `now_ms`: a monotonic clock, for PillarHtaccessCheck.
  HtaccessOutcome resolve(const Runtime& rt, const Site& base, std::string_view filename, uint64_t now_ms);

  struct Counters {
    uint64_t stats = 0;    // stat calls made for access files
    uint64_t parses = 0;   // files read and parsed
    uint64_t builds = 0;   // per-directory Sites built
    uint64_t walks = 0;    // walks made (the others were remembered: PillarHtaccessCheck)
    uint64_t unwatched = 0;  // walks not remembered under `watch`: a directory could not be watched
  };
  const Counters& counters() const { return counters_; }
  size_t files_cached() const { return files_.size(); }
  size_t sites_cached() const { return sites_.size(); }

  // What a file's identity is made of: a change to any re-reads it.
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileId&) const = default;
  };

 private:
  struct Parsed {
    FileId id;
    std::vector<config::ConfigNode> nodes;
    std::vector<config::ConfigError> errors;  // read or syntax errors
    int status = 0;                            // 403 (unreadable) or 500 with errors; 0: good
  };
  struct Found {
    std::string dir, path;
    FileId id;
    config::HtaccessPermissions perm;
  };
  struct Built {
    std::shared_ptr<const Site> site;
    int status = 0;
    std::string error;
  };
  struct Walk {  // PillarHtaccessCheck: a filename's walk, until `until` (ms) or a change
    std::vector<Found> chain;
    std::string key;
    uint64_t until = 0;
    // Under `watch`: a token for each directory looked into (and the one
    // holding the first that does not exist); `watched` false: one could not be.
    std::vector<core::DirectoryWatch::Token> tokens;
    bool watched = false;
  };

  std::shared_ptr<const Parsed> parse(const Runtime& rt, const Found& f);
  // Stats the levels of `filename` into w.chain and w.key; false (out set) for an unreadable one.
  // With `watch`, each directory is watched before it is looked into.
  bool walk(const Site& base, std::string_view filename, Walk& w, HtaccessOutcome& out, bool watch);
  bool still_fresh(const Walk& w, uint64_t now_ms, bool watch);
  Built build(const Runtime& rt, const Site& base, const std::vector<Found>& chain);

  LruMap<std::shared_ptr<const Parsed>> files_;
  LruMap<Built> sites_;
  LruMap<Walk> walks_;  // serial + filename -> its walk (watch, or PillarHtaccessCheck N)
  core::DirectoryWatch watch_;
  Counters counters_;
};

// The calling thread's cache.
HtaccessCache& thread_htaccess_cache();

}  // namespace pillar::server

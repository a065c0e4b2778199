// The .htaccess walk and its two caches (see htaccess.h). The walk stats
// only where a <Directory> allows overrides; a chain of found files is the
// key of the per-directory Site, so unchanged files cost a stat each and a
// lookup, and a changed one (new identity) is parsed and merged again.
#include "server/htaccess.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "config/loader.h"
#include "core/fd.h"
#include "core/log.h"
#include "handlers/static_file_handler.h"
#include "rewrite/site_rules.h"
#include "proxy/balancer_runtime.h"
#include "server/site.h"

namespace pillar::server {
namespace {

HtaccessCache::FileId id_of(const struct stat& st) {
  return {st.st_dev, st.st_ino, st.st_size, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

void append_id(std::string& key, const HtaccessCache::FileId& id) {
  key.append(reinterpret_cast<const char*>(&id.dev), sizeof id.dev);
  key.append(reinterpret_cast<const char*>(&id.ino), sizeof id.ino);
  key.append(reinterpret_cast<const char*>(&id.size), sizeof id.size);
  key.append(reinterpret_cast<const char*>(&id.mtime_ns), sizeof id.mtime_ns);
}

// AllowOverride / AllowOverrideList for directory `dir`: the deepest
// <Directory> sections enclosing it that set them (shortest first, so later
// wins). Pointers into the configuration: copied only for a file found.
struct PermissionRefs {
  const config::AllowOverride* allow = nullptr;
  const config::DirectorySection* list = nullptr;  // the section whose AllowOverrideList applies
  bool enabled() const { return (allow && allow->categories) || (list && !list->allow_override_list->empty()); }
  config::HtaccessPermissions copy() const {
    config::HtaccessPermissions p;
    if (allow) p.allow = *allow;
    if (list) {
      p.list = *list->allow_override_list;
      p.list_where = list->where;
    }
    return p;
  }
};

PermissionRefs permissions(const config::VirtualHost& vh, std::string_view dir) {
  PermissionRefs p;
  for (const auto& d : vh.directories) {
    if (d.htaccess || !rewrite::path_under(dir, d.path)) continue;
    if (d.allow_override) p.allow = &*d.allow_override;
    if (d.allow_override_list) p.list = &d;
  }
  return p;
}

}  // namespace

HtaccessCache::HtaccessCache(size_t max_files, size_t max_sites, size_t max_watches)
    : files_(max_files), sites_(max_sites), walks_(max_files), watch_(max_watches) {}

HtaccessCache& thread_htaccess_cache() {
  thread_local HtaccessCache cache;
  return cache;
}

HtaccessOutcome HtaccessCache::resolve(const Runtime& rt, const Site& base, std::string_view filename, uint64_t now_ms) {
  HtaccessOutcome out;
  out.site = &base;
  if (!base.htaccess || filename.empty() || filename[0] != '/') return out;
  const uint64_t check_ms = static_cast<uint64_t>(rt.config().htaccess_check.count());
  const bool watch = rt.config().htaccess_watch && watch_.available();

  std::string walk_key;
  Walk* remembered = nullptr;
  if (watch || check_ms) {
    if (watch) watch_.poll();  // what changed since the last request: one read, never waits
    walk_key = std::to_string(base.serial);
    walk_key.push_back('\0');
    walk_key.append(filename);
    remembered = walks_.find(walk_key);
    if (remembered && !still_fresh(*remembered, now_ms, watch)) remembered = nullptr;
  }
  Walk fresh;
  if (!remembered) {
    ++counters_.walks;
    if (!walk(base, filename, fresh, out, watch)) return out;  // 403: an access file that cannot be checked
    fresh.until = now_ms + check_ms;
    if (watch && !fresh.watched) ++counters_.unwatched;
    if ((watch && fresh.watched) || (!watch && check_ms)) remembered = &walks_.put(walk_key, std::move(fresh));
  }
  const Walk& w = remembered ? *remembered : fresh;
  if (w.chain.empty()) return out;

  Built* b = sites_.find(w.key);
  if (!b) b = &sites_.put(w.key, build(rt, base, w.chain));
  if (b->status) {
    out.status = b->status;
    out.error = b->error;
    return out;
  }
  out.hold = b->site;
  out.site = b->site.get();
  return out;
}

bool HtaccessCache::still_fresh(const Walk& w, uint64_t now_ms, bool watch) {
  if (!watch) return w.until > now_ms;
  if (!w.watched) return false;
  return std::none_of(w.tokens.begin(), w.tokens.end(), [&](const core::DirectoryWatch::Token& t) { return watch_.changed(t); });
}

bool HtaccessCache::walk(const Site& base, std::string_view filename, Walk& w, HtaccessOutcome& out, bool watch) {
  const config::VirtualHost& vh = *base.cfg;
  w.key = std::to_string(base.serial);
  // Under `watch` each level is watched before it is looked into, down to
  // the first that does not exist (its parent's watch sees it appear).
  w.watched = watch;
  bool watching = watch, below_first = false;
  auto watch_level = [&](const std::string& d) {
    if (!watching) return;
    core::DirectoryWatch::Token t;
    switch (watch_.watch(d, t)) {
      case core::DirectoryWatch::Result::Watched: w.tokens.push_back(t); break;
      case core::DirectoryWatch::Result::Missing:
        // Its parent's watch sees it appear, if the parent is watched: the
        // levels are watched top-down without a gap, so one is iff any is.
        if (w.tokens.empty()) w.watched = false;
        watching = false;
        break;
      case core::DirectoryWatch::Result::Unwatchable: watching = w.watched = false; break;
    }
  };
  std::string dir, parent, path;
  // Levels: "/", then each prefix of `filename` ending before a '/', then the whole name.
  size_t end = 0;
  for (;;) {
    parent.swap(dir);
    dir.assign(filename.substr(0, end == 0 ? 1 : end));
    const PermissionRefs perm = permissions(vh, dir);
    if (perm.enabled() && !below_first) {
      // From the first directory looked into down, every level is watched,
      // and that directory's parent too (a rename of it shows there); the
      // ancestors above are not: /tmp or / change for reasons of their own.
      below_first = true;
      if (!parent.empty()) watch_level(parent);
    }
    if (below_first) watch_level(dir);
    if (perm.enabled()) {
      bool stop = false;
      for (const auto& name : vh.access_file_names) {
        path = dir == "/" ? "/" + name : dir + "/" + name;
        struct stat st {};
        ++counters_.stats;
        if (::stat(path.c_str(), &st) != 0) {
          if (errno == ENOTDIR) {
            stop = true;  // a component is a file: no directory below
            break;
          }
          if (errno == EACCES) {
            // As Apache: "unable to check htaccess file, ensure it is readable" is a 403.
            out.status = 403;
            out.error = path + ":0: cannot check this file (" + std::strerror(errno) +
                        "): make it readable and its directory searchable by Pillar's user";
            return false;
          }
          continue;
        }
        if (!S_ISREG(st.st_mode)) continue;
        Found f{dir, path, id_of(st), perm.copy()};
        w.key.push_back('\0');
        w.key += path;
        append_id(w.key, f.id);
        w.chain.push_back(std::move(f));
        break;
      }
      if (stop) break;
    }
    if (end >= filename.size()) break;
    size_t next = filename.find('/', end + 1);
    end = next == std::string_view::npos ? filename.size() : next;
    if (end == filename.size() && filename.back() == '/') break;
  }
  return true;
}

std::shared_ptr<const HtaccessCache::Parsed> HtaccessCache::parse(const Runtime& rt, const Found& f) {
  if (auto* p = files_.find(f.path); p && (*p)->id == f.id) return *p;
  ++counters_.parses;
  auto parsed = std::make_shared<Parsed>();
  parsed->id = f.id;
  auto fail = [&](int status, std::string msg) {
    parsed->status = status;
    parsed->errors.push_back({f.path, 0, std::move(msg)});
  };
  // O_NONBLOCK: a FIFO named .htaccess cannot block the loop.
  core::Fd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  struct stat st {};
  if (!fd.valid()) {
    fail(errno == EACCES ? 403 : 500, std::string("cannot read this file: ") + std::strerror(errno));
  } else if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    fail(500, "not a regular file");
  } else if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
    fail(500, "is " + std::to_string(st.st_size) + " bytes, larger than the " + std::to_string(kMaxFileBytes / 1024) +
                  " KiB an .htaccess file may be; move its rules into the server configuration");
  } else {
    parsed->id = id_of(st);
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < text.size()) {
      ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    text.resize(got);
    if (text.find('\0') != std::string::npos) {
      fail(500, "holds NUL bytes: not a configuration file");
    } else {
      const config::ServerConfig& sc = rt.config();
      config::TreeInput in;
      in.defines = sc.defines;
      in.server_root = sc.server_root;
      in.htaccess = true;
      in.loaded_modules = sc.loaded_modules;
      config::TreeResult tree;
      config::build_tree_from_text(text, f.path, in, tree);
      parsed->nodes = std::move(tree.top);
      parsed->errors = std::move(tree.errors);
      if (!parsed->errors.empty()) parsed->status = 500;
    }
  }
  std::shared_ptr<const Parsed> result = std::move(parsed);
  files_.put(f.path, result);
  return result;
}

HtaccessCache::Built HtaccessCache::build(const Runtime& rt, const Site& base, const std::vector<Found>& chain) {
  ++counters_.builds;
  Built b;
  auto vh = std::make_shared<config::VirtualHost>(*base.cfg);
  std::vector<config::ConfigError> errors;
  std::vector<std::string> notices;
  for (const auto& f : chain) {
    auto parsed = parse(rt, f);
    if (parsed->status) {
      b.status = parsed->status;
      b.error = parsed->errors.empty() ? f.path + ":0: cannot be read" : parsed->errors[0].to_string();
      return b;
    }
    config::DirectorySection sec;
    sec.path = f.dir;
    sec.htaccess = true;
    sec.where = {f.path, 0};
    config::apply_htaccess(parsed->nodes, rt.config().server_root, *vh, sec, f.perm, errors, notices);
    if (!errors.empty()) break;
    vh->directories.push_back(std::move(sec));
  }
  for (const auto& n : notices) core::log(core::LogLevel::Warn, "core", "{}", n);
  // After the <Directory> sections of the same path, before deeper ones (Apache's order).
  std::stable_sort(vh->directories.begin(), vh->directories.end(),
                   [](const config::DirectorySection& x, const config::DirectorySection& y) { return x.path.size() < y.path.size(); });
  std::shared_ptr<Site> site;
  if (errors.empty()) site = derive_site(rt, base, vh, errors);
  if (!errors.empty()) {
    b.status = 500;
    b.error = errors[0].to_string();
    return b;
  }
  site->htaccess = true;
  b.site = std::move(site);
  return b;
}

}  // namespace pillar::server

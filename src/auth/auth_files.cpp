// The file formats as Apache reads them: lines with trailing white space
// removed, empty lines and lines starting with '#' skipped; a user line is
// "user:hash[:anything]" (the hash ends at the next ':', as
// mod_authn_file's ap_getword); a group line is "group: member member...",
// and a group on several lines has all their members.
#include "auth/auth_files.h"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/password_hash.h"
#include "core/log.h"

namespace pillar::auth {

namespace {

std::atomic<uint64_t> g_generation{0};

template <typename F>
void each_line(std::string_view text, F f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    size_t lead = 0;
    while (lead < line.size() && (line[lead] == ' ' || line[lead] == '\t')) ++lead;
    line.remove_prefix(lead);
    if (line.empty() || line[0] == '#') continue;
    f(line);
  }
}

struct Watched {
  struct timespec mtime {};
  off_t size = -1;
  ino_t ino = 0;
  uint64_t checked_ms = 0;
  bool loaded = false;
};

// Whether the file must be (re)read: not yet, or it changed. False with
// `error` when it cannot be looked at.
bool stale(Watched& w, const std::string& path, uint64_t now_ms, std::string& error, bool& failed) {
  failed = false;
  if (w.loaded && now_ms < w.checked_ms + 1000) return false;
  w.checked_ms = now_ms;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = std::string("cannot read ") + path + ": " + std::strerror(errno);
    failed = true;
    w.loaded = false;
    return false;
  }
  bool changed = !w.loaded || st.st_mtim.tv_sec != w.mtime.tv_sec || st.st_mtim.tv_nsec != w.mtime.tv_nsec ||
                 st.st_size != w.size || st.st_ino != w.ino;
  w.mtime = st.st_mtim;
  w.size = st.st_size;
  w.ino = st.st_ino;
  return changed;
}

bool slurp(const std::string& path, std::string& out, std::string& error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = std::string("cannot read ") + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

template <typename File, File (*Parse)(std::string_view)>
const File* cached(const std::string& path, uint64_t now_ms, std::string& error, const char* what) {
  struct Entry {
    Watched w;
    File file;
  };
  thread_local std::unordered_map<std::string, Entry> files;
  Entry& e = files[path];
  bool failed = false;
  if (stale(e.w, path, now_ms, error, failed)) {
    std::string text;
    if (!slurp(path, text, error)) {
      e.w.loaded = false;
      return nullptr;
    }
    e.file = Parse(text);
    e.file.generation = ++g_generation;
    e.w.loaded = true;
    core::log(core::LogLevel::Info, "auth", "{} {} read", what, path);
  }
  if (failed || !e.w.loaded) return nullptr;
  return &e.file;
}

}  // namespace

UserFile parse_user_file(std::string_view text) {
  UserFile f;
  each_line(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return;
    std::string_view hash = line.substr(colon + 1);
    hash = hash.substr(0, hash.find(':'));
    auto [it, fresh] = f.hashes.emplace(std::string(line.substr(0, colon)), std::string(hash));
    if (fresh && hash_format(hash) == HashFormat::Plain) f.plain_users.push_back(it->first);
  });
  return f;
}

GroupFile parse_group_file(std::string_view text) {
  GroupFile f;
  each_line(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return;
    std::string group(line.substr(0, colon));
    std::string_view members = line.substr(colon + 1);
    while (!members.empty()) {
      size_t start = members.find_first_not_of(" \t");
      if (start == std::string_view::npos) break;
      members.remove_prefix(start);
      size_t end = members.find_first_of(" \t");
      std::string user(members.substr(0, end));
      members = end == std::string_view::npos ? std::string_view() : members.substr(end);
      auto& gs = f.groups_of[user];
      bool seen = false;
      for (const auto& g : gs) seen = seen || g == group;
      if (!seen) gs.push_back(group);
    }
  });
  return f;
}

const UserFile* user_file(const std::string& path, uint64_t now_ms, std::string& error) {
  const UserFile* f = cached<UserFile, parse_user_file>(path, now_ms, error, "AuthUserFile");
  return f;
}

const GroupFile* group_file(const std::string& path, uint64_t now_ms, std::string& error) {
  return cached<GroupFile, parse_group_file>(path, now_ms, error, "AuthGroupFile");
}

}  // namespace pillar::auth

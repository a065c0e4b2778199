#include "server/cgi_route.h"

#include <sys/stat.h>
#include <unistd.h>

#include "core/text.h"
#include "server/fastcgi_route.h"
#include "server/site.h"

namespace pillar::server {
namespace {

// `dir` is at or under the section's path.
bool under(std::string_view dir, std::string_view section) {
  if (section == "/") return true;
  return dir.substr(0, section.size()) == section && (dir.size() == section.size() || dir[section.size()] == '/');
}

bool files_match(const config::FilesSection& f, std::string_view name) {
  if (f.fast) return f.fast->match(name) == core::Regex::Result::Match;
  return f.matches(name);
}

bool cgi_extension(const std::map<std::string, std::string>& m, std::string_view ext) {
  auto it = m.find(core::lowercase(ext));
  return it != m.end() && it->second == "cgi-script";
}

// Every extension of a file name after its first dot (mod_mime's rule):
// "a.cgi.txt" -> ".cgi", ".txt".
template <typename Fn>
void for_each_extension(std::string_view name, Fn fn) {
  size_t dot = name.find('.', name[0] == '.' ? 1 : 0);  // a leading dot names a hidden file, not an extension
  while (dot != std::string_view::npos && dot + 1 < name.size()) {
    size_t next = name.find('.', dot + 1);
    fn(name.substr(dot, next == std::string_view::npos ? std::string_view::npos : next - dot));
    dot = next;
  }
}

// Whether a path can be a script of this vhost at all, before any stat.
bool may_be_script(const config::VirtualHost& vh, const std::string& filename) {
  for (const auto& d : vh.directories) {
    if (d.cgi.handler.value_or(false) && under(filename, d.path)) return true;
  }
  bool found = false;
  for (size_t pos = 1; !found && pos < filename.size();) {
    size_t end = filename.find('/', pos);
    if (end == std::string::npos) end = filename.size();
    std::string_view seg = std::string_view(filename).substr(pos, end - pos);
    if (!seg.empty()) {
      for_each_extension(seg, [&](std::string_view ext) {
        if (cgi_extension(vh.add_handlers, ext)) found = true;
        for (const auto& d : vh.directories) {
          if (cgi_extension(d.cgi.add_handlers, ext)) found = true;
        }
      });
      auto check_files = [&](const std::vector<config::FilesSection>& files) {
        for (const auto& f : files) {
          if (f.cgi.handler.value_or(false) && files_match(f, seg)) found = true;
        }
      };
      check_files(vh.files);
      for (const auto& d : vh.directories) check_files(d.files);
    }
    pos = end + 1;
  }
  return found;
}

enum class Found : uint8_t { File, Directory, Missing };

// The first component of `filename` (from `from` on) that is not a
// directory: a regular file (the rest is PATH_INFO) or nothing.
Found walk(const std::string& filename, size_t from, std::string& file, std::string& path_info) {
  size_t pos = std::max<size_t>(from, 1);
  for (;;) {
    size_t end = filename.find('/', pos);
    std::string prefix = filename.substr(0, end);
    struct stat st {};
    if (::stat(prefix.c_str(), &st) != 0) return Found::Missing;
    if (S_ISREG(st.st_mode)) {
      file = std::move(prefix);
      path_info = end == std::string::npos ? std::string() : filename.substr(end);
      return Found::File;
    }
    if (!S_ISDIR(st.st_mode)) return Found::Missing;
    if (end == std::string::npos || end + 1 == filename.size()) return Found::Directory;
    pos = end + 1;
  }
}

void refuse(CgiRoute& r, int status, std::string why) {
  r.kind = CgiRoute::Kind::Refuse;
  r.status = status;
  r.why = std::move(why);
}

}  // namespace

CgiRoute route_cgi(const Request& req, std::chrono::milliseconds server_timeout) {
  CgiRoute r;
  const config::VirtualHost& vh = *req.site->cfg;
  const config::LocationSection* loc = req.route ? req.route->cfg : nullptr;
  // A location with a handler of its own (a proxy, server-status, FastCGI) is not CGI's.
  if (req.route && (req.route->balancer || req.route->handler)) return r;
  if (loc && loc->handler == config::HandlerKind::FastCgi) return r;
  const bool alias = req.rewrite.script;
  const bool loc_cgi = loc && loc->cgi.handler.value_or(false);
  // ScriptSourceGuard for files that Alias or UserDir mapped (FastCGI's
  // guard looks under the DocumentRoot only): a script nobody runs there is
  // refused too, never sent as source.
  const bool guard = (loc && loc->source_guard ? *loc->source_guard : vh.source_guard) && !req.rewrite.filename.empty() &&
                     has_script_extension(req.rewrite.filename, vh.script_extensions);
  if (!alias && !loc_cgi && !vh.cgi.runs_scripts && !guard) return r;

  std::string filename = req.rewrite.filename;
  size_t known_dir = 0;  // a prefix of filename known to be a directory
  if (filename.empty()) {
    if (vh.document_root.empty()) return r;
    filename = (vh.document_root == "/" ? std::string() : vh.document_root) + req.path;
    known_dir = vh.document_root.size() + 1;
  }
  if (!alias && !loc_cgi && !guard && !may_be_script(vh, filename)) {
    // A directory's index can be a script (DirectoryIndex index.cgi).
    bool index_may = !req.path.empty() && req.path.back() == '/' &&
                     std::any_of(vh.directory_index.begin(), vh.directory_index.end(),
                                 [&](const std::string& idx) { return may_be_script(vh, filename + idx); });
    if (!index_may) return r;
  }

  std::string file, path_info;
  Found f = walk(filename, known_dir, file, path_info);
  if (f == Found::Directory && !req.path.empty() && req.path.back() == '/') {
    std::string dir = filename;
    if (dir.back() != '/') dir.push_back('/');
    for (const auto& idx : vh.directory_index) {
      struct stat st {};
      if (::stat((dir + idx).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        file = dir + idx;
        path_info.clear();
        f = Found::File;
        break;
      }
    }
  }
  if (f != Found::File) {
    if (!alias) return r;  // the static handler answers (404, a listing, the slash redirect)
    if (f == Found::Directory) refuse(r, 403, "attempt to invoke directory as script: " + filename);
    else refuse(r, 404, "script not found or unable to stat: " + filename);
    return r;
  }
  r.script_filename = file;
  r.path_info = path_info;
  r.script_name = req.path;
  if (!path_info.empty() && r.script_name.size() >= path_info.size() &&
      r.script_name.compare(r.script_name.size() - path_info.size(), path_info.size(), path_info) == 0)
    r.script_name.resize(r.script_name.size() - path_info.size());
  else if (path_info.empty() && file.size() > filename.size())  // a directory's index
    r.script_name += file.substr(file.rfind('/') + 1);

  std::string_view base = std::string_view(file).substr(file.rfind('/') + 1);
  std::string_view dir = std::string_view(file).substr(0, file.rfind('/'));

  // The handler, options, access and limits of the sections holding the file.
  std::optional<bool> set_handler;
  uint8_t options = vh.options.apply(config::kDefaultOptions);
  const config::AccessPolicy* access = nullptr;
  r.limits = vh.cgi.rlimits;
  const config::CgiSettings* deepest_handlers = nullptr;
  for (const auto& d : vh.directories) {  // shortest first
    if (!under(dir, d.path)) continue;
    options = d.options.apply(options);
    if (d.cgi.handler) set_handler = d.cgi.handler;
    if (!d.access.empty()) access = &d.access;
    r.limits.merge_from(d.cgi.rlimits);
    if (!d.cgi.add_handlers.empty()) deepest_handlers = &d.cgi;
  }
  auto apply_files = [&](const std::vector<config::FilesSection>& files) {
    for (const auto& fs : files) {
      if (!files_match(fs, base)) continue;
      if (fs.cgi.handler) set_handler = fs.cgi.handler;
      else if (fs.fcgi) set_handler = false;  // FastCGI's
      if (!fs.access.empty()) access = &fs.access;
      r.limits.merge_from(fs.cgi.rlimits);
    }
  };
  apply_files(vh.files);
  for (const auto& d : vh.directories) {
    if (under(dir, d.path)) apply_files(d.files);
  }
  if (loc) {
    if (loc->cgi.handler) set_handler = loc->cgi.handler;
    r.limits.merge_from(loc->cgi.rlimits);
  }
  if (!alias) {
    bool cgi = false;
    if (set_handler) {
      cgi = *set_handler;
    } else {
      std::string handler;
      for_each_extension(base, [&](std::string_view ext) {
        std::string e = core::lowercase(ext);
        const std::map<std::string, std::string>* maps[] = {deepest_handlers ? &deepest_handlers->add_handlers : nullptr,
                                                            &vh.add_handlers};
        for (const auto* m : maps) {
          if (!m) continue;
          auto it = m->find(e);
          if (it == m->end()) continue;
          if (!it->second.empty()) handler = it->second;
          break;
        }
      });
      cgi = handler == "cgi-script";
    }
    if (!cgi) {
      if (guard && has_script_extension(base, vh.script_extensions))
        refuse(r, 403, file + " is a script that no handler runs: refused (403), its source is not sent; give it a "
                              "handler (AddHandler cgi-script with Options ExecCGI) or set ScriptSourceGuard Off for this location");
      return r;
    }
    if (!(options & config::Options::ExecCGI)) {
      refuse(r, 403, "Options ExecCGI is off in this directory: " + file);
      return r;
    }
  }
  if (access && !access->allows(req.client)) {
    refuse(r, 403, "client denied by server configuration: " + file);
    return r;
  }

  if (!req.rewrite.userdir_user.empty()) {
    r.identity = LaunchRequest::Identity::UserDir;
    r.user = req.rewrite.userdir_user;
    r.root = req.rewrite.userdir_base;
  } else if (!vh.cgi.suexec_user.empty()) {
    r.identity = LaunchRequest::Identity::Suexec;
    r.user = vh.cgi.suexec_user;
    r.group = vh.cgi.suexec_group;
    r.root = vh.document_root;
  } else if (::access(file.c_str(), X_OK) != 0) {
    // suexec checks its own way (in the launcher); without it, as Apache.
    refuse(r, 403, "file permissions deny server execution: " + file);
    return r;
  }
  r.timeout = vh.cgi.script_timeout.count() > 0 ? vh.cgi.script_timeout : server_timeout;
  r.kind = CgiRoute::Kind::Run;
  return r;
}

}  // namespace pillar::server

#include "config/section_tree.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config/lexer.h"
#include "http/request.h"

namespace pillar::config {
namespace {

constexpr int kMaxIncludeDepth = 16;

// What Pillar provides, under the names Apache configs test for.
constexpr std::string_view kModules[] = {
    "core",          "mpm_worker_module", "worker.c",        "mpm_event_module", "event.c",
    "status_module", "mod_status.c",      "mime_module",     "mod_mime.c",       "dir_module",
    "mod_dir.c",     "autoindex_module",  "mod_autoindex.c", "log_config_module", "mod_log_config.c",
    "authz_core_module", "mod_authz_core.c", "authz_host_module", "mod_authz_host.c",
    "access_compat_module", "mod_access_compat.c", "reqtimeout_module", "mod_reqtimeout.c",
    "unixd_module", "mod_unixd.c", "http_module",
    // built in since the proxy and the cache
    "proxy_module", "mod_proxy.c", "proxy_http_module", "mod_proxy_http.c", "proxy_balancer_module",
    "mod_proxy_balancer.c", "proxy_hcheck_module", "mod_proxy_hcheck.c", "proxy_wstunnel_module", "mod_proxy_wstunnel.c",
    "lbmethod_byrequests_module", "mod_lbmethod_byrequests.c", "lbmethod_bytraffic_module", "mod_lbmethod_bytraffic.c",
    "lbmethod_bybusyness_module", "mod_lbmethod_bybusyness.c", "slotmem_shm_module", "mod_slotmem_shm.c",
    "remoteip_module", "mod_remoteip.c", "cache_module", "mod_cache.c", "cache_socache_module",
    "mod_cache_socache.c", "cache_disk_module", "mod_cache_disk.c",
    // built in with mod_rewrite and mod_alias
    "rewrite_module", "mod_rewrite.c", "alias_module", "mod_alias.c",
    // built in since FastCGI
    "proxy_fcgi_module", "mod_proxy_fcgi.c"};

struct Builder {
  const TreeInput& in;
  TreeResult& out;
  int depth = 0;

  std::string resolve(const std::string& p) const {
    if (p.empty() || p[0] == '/') return p;
    std::string root = out.server_root.empty() ? "." : out.server_root;
    return root + "/" + p;
  }

  void error(const std::string& file, int line, std::string msg) { out.errors.push_back({file, line, std::move(msg)}); }

  void read_file(const std::string& path, const std::string& from_file, int from_line, std::vector<ConfigNode>& into) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      error(from_file, from_line, "cannot read " + path + "; check the path and its permissions");
      return;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    parse_text(ss.str(), path, into);
  }

  void parse_text(std::string_view text, const std::string& file, std::vector<ConfigNode>& into) {
    std::vector<ConfigLine> lines;
    lex_config(text, file, lines, out.errors);
    size_t i = 0;
    parse_block(lines, i, file, nullptr, into);
  }

  // Parses lines[i..] into `into` until the close of `open` (or EOF at top).
  void parse_block(const std::vector<ConfigLine>& lines, size_t& i, const std::string& file, const ConfigLine* open,
                   std::vector<ConfigNode>& into) {
    while (i < lines.size()) {
      const ConfigLine& l = lines[i++];
      if (l.kind == ConfigLine::Kind::SectionClose) {
        if (!open) {
          error(file, l.line, "</" + l.name + "> without a matching <" + l.name + ">");
          continue;
        }
        if (!http::iequals(l.name, open->name)) {
          error(file, l.line,
                "</" + l.name + "> closes <" + open->name + "> opened at line " + std::to_string(open->line) +
                    "; expected </" + open->name + ">");
        }
        return;
      }
      if (l.kind == ConfigLine::Kind::SectionOpen) {
        ConfigNode n{l.name, l.args, file, l.line, true, {}};
        parse_block(lines, i, file, &l, n.children);
        if (http::iequals(l.name, "IfModule") || http::iequals(l.name, "IfDefine")) {
          expand_conditional(n, into);
        } else {
          into.push_back(std::move(n));
        }
        continue;
      }
      directive(l, file, into);
    }
    if (open) error(file, open->line, "<" + open->name + "> is never closed; add </" + open->name + ">");
  }

  void expand_conditional(ConfigNode& n, std::vector<ConfigNode>& into) {
    if (n.args.size() != 1) {
      error(n.file, n.line, "<" + n.name + "> takes exactly one argument (a name, optionally prefixed with '!')");
      return;
    }
    std::string_view arg = n.args[0];
    bool negate = !arg.empty() && arg[0] == '!';
    if (negate) arg.remove_prefix(1);
    bool present;
    if (http::iequals(n.name, "IfModule")) {
      present = module_present(arg);
    } else {
      present = std::find(in.defines.begin(), in.defines.end(), arg) != in.defines.end();
    }
    if (present != negate) {
      for (auto& c : n.children) into.push_back(std::move(c));
    }
  }

  void directive(const ConfigLine& l, const std::string& file, std::vector<ConfigNode>& into) {
    if (http::iequals(l.name, "Include") || http::iequals(l.name, "IncludeOptional")) {
      include(l, file, into, http::iequals(l.name, "IncludeOptional"));
      return;
    }
    if (http::iequals(l.name, "ServerRoot")) {
      if (l.args.size() != 1) {
        error(file, l.line, "ServerRoot takes one argument, a directory path");
        return;
      }
      struct stat st {};
      std::string root = resolve(l.args[0]);
      if (stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        error(file, l.line, "ServerRoot " + root + " is not a directory");
        return;
      }
      out.server_root = root;
      return;
    }
    if (http::iequals(l.name, "LoadModule")) {
      out.notices.push_back(file + ":" + std::to_string(l.line) + ": LoadModule " +
                            (l.args.empty() ? std::string() : l.args[0]) +
                            " ignored: Pillar's features are built in");
      return;
    }
    into.push_back(ConfigNode{l.name, l.args, file, l.line, false, {}});
  }

  void include(const ConfigLine& l, const std::string& file, std::vector<ConfigNode>& into, bool optional) {
    if (l.args.size() != 1) {
      error(file, l.line, l.name + " takes one argument, a file path or glob");
      return;
    }
    if (depth >= kMaxIncludeDepth) {
      error(file, l.line, "Include nested more than " + std::to_string(kMaxIncludeDepth) + " deep; is a file including itself?");
      return;
    }
    std::string pattern = resolve(l.args[0]);
    struct stat st {};
    if (stat(pattern.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) pattern += "/*";  // Apache reads a whole directory
    glob_t g{};
    int rc = glob(pattern.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) {
      globfree(&g);
      if (!optional) {
        bool wildcard = pattern.find_first_of("*?[") != std::string::npos;
        error(file, l.line,
              "Include " + pattern + (wildcard ? " matches no file" : " does not exist") +
                  "; use IncludeOptional for paths that may be absent");
      }
      return;
    }
    if (rc != 0) {
      globfree(&g);
      error(file, l.line, "cannot expand Include " + pattern);
      return;
    }
    std::vector<std::string> paths(g.gl_pathv, g.gl_pathv + g.gl_pathc);  // glob() sorts them
    globfree(&g);
    ++depth;
    for (const auto& p : paths) {
      if (stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      read_file(p, file, l.line, into);
    }
    --depth;
  }
};

}  // namespace

bool module_present(std::string_view name) {
  for (auto m : kModules) {
    if (http::iequals(m, name)) return true;
  }
  return false;
}

void build_tree_from_text(std::string_view text, const std::string& file, const TreeInput& in, TreeResult& out) {
  out.server_root = in.server_root;
  Builder b{in, out};
  b.parse_text(text, file, out.top);
}

void build_tree_from_file(const std::string& path, const TreeInput& in, TreeResult& out) {
  out.server_root = in.server_root;
  Builder b{in, out};
  b.read_file(path, path, 0, out.top);
  if (!out.errors.empty() && out.errors.back().line == 0 && out.top.empty()) {
    out.errors.back().message = "cannot read configuration file " + path;
  }
}

}  // namespace pillar::config

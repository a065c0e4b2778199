#include "config/section_tree.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "config/lexer.h"
#include "config/modules.h"
#include "http/request.h"

namespace pillar::config {
namespace {

constexpr int kMaxIncludeDepth = 16;
// Sections (conditionals included) nest at most this deep: the tree is
// built and walked recursively, and an .htaccess file of nested tags must
// not exhaust a worker thread's stack. Real configurations nest a handful.
constexpr int kMaxSectionDepth = 64;

struct Builder {
  const TreeInput& in;
  TreeResult& out;
  int depth = 0;
  int nesting = 0;  // sections open around the line being read
  std::vector<std::string> defines = in.defines;  // -D NAME and Define NAME, for <IfDefine>
  std::vector<std::string_view> loaded_modules;  // LoadModule lines read so far (ids from the module table)
  std::map<std::string, std::string> vars;         // Define NAME VALUE, for ${NAME}

  bool defined(std::string_view name) const {
    return std::find(defines.begin(), defines.end(), name) != defines.end();
  }

  // ${NAME} from Define, then the environment, as Apache's ap_resolve_env
  // (the whole logical line before it is split into words). An undefined
  // name is an error: Apache warns and keeps the text, which silently turns
  // `User ${APACHE_RUN_USER}` into a user that does not exist.
  bool expand(const ConfigLine& l, const std::string& file, std::string& text) {
    std::string r;
    const std::string& s = l.raw;
    size_t i = 0;
    bool ok = true;
    while (i < s.size()) {
      size_t d = s.find("${", i);
      size_t close = d == std::string::npos ? d : s.find('}', d + 2);
      if (d == std::string::npos || close == std::string::npos) {
        r.append(s, i, std::string::npos);
        break;
      }
      r.append(s, i, d - i);
      std::string name = s.substr(d + 2, close - d - 2);
      if (name.find(':') != std::string::npos) {
        // ${map:key|default} is mod_rewrite's map lookup, not a variable
        // (Apache's ap_resolve_env leaves names with ':' alone; Define refuses them).
        r.append(s, d, close + 1 - d);
        i = close + 1;
        continue;
      }
      auto it = vars.find(name);
      const char* env = it == vars.end() ? getenv(name.c_str()) : nullptr;
      if (it != vars.end()) {
        r += it->second;
      } else if (env) {
        r += env;
      } else {
        error(file, l.line,
              "variable ${" + name + "} is not defined; set it with Define " + name +
                  " VALUE or in the environment (Debian: . /etc/apache2/envvars before pillar -t)");
        ok = false;
        r.append(s, d, close + 1 - d);
      }
      i = close + 1;
    }
    text = std::move(r);
    return ok;
  }

  // The line with its variables expanded (re-split into words), or false.
  bool resolved(const ConfigLine& l, const std::string& file, ConfigLine& outl) {
    outl = l;
    if (in.htaccess || l.raw.find("${") == std::string::npos) return true;
    std::string text;
    if (!expand(l, file, text)) return false;
    std::vector<ConfigLine> one;
    size_t before = out.errors.size();
    lex_config(text, file, one, out.errors);
    for (size_t e = before; e < out.errors.size(); ++e) out.errors[e].line = l.line;
    if (one.size() != 1 || one[0].kind != l.kind) {
      if (out.errors.size() == before)
        error(file, l.line, "after expanding its variables the line reads '" + text + "', which is not one " +
                                (l.kind == ConfigLine::Kind::Directive ? "directive" : "section tag"));
      return false;
    }
    outl = std::move(one[0]);
    outl.line = l.line;
    return true;
  }

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
      ConfigLine l;
      if (!resolved(lines[i++], file, l)) {
        if (lines[i - 1].kind == ConfigLine::Kind::SectionOpen) skip_block(lines, i);
        continue;
      }
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
        if (nesting >= kMaxSectionDepth) {
          error(file, l.line, "<" + l.name + "> is nested more than " + std::to_string(kMaxSectionDepth) +
                                  " sections deep; is a closing tag missing?");
          skip_block(lines, i);
          continue;
        }
        ++nesting;
        if (http::iequals(l.name, "IfModule") || http::iequals(l.name, "IfDefine")) {
          conditional(lines, i, file, l, into);
        } else {
          ConfigNode n{l.name, l.args, file, l.line, true, {}};
          parse_block(lines, i, file, &l, n.children);
          into.push_back(std::move(n));
        }
        --nesting;
        continue;
      }
      directive(l, file, into);
    }
    if (open) error(file, open->line, "<" + open->name + "> is never closed; add </" + open->name + ">");
  }

  // Skips the body of a section whose open line is lines[i-1], nested
  // sections included, without reading it (as Apache skips a false <IfDefine>).
  void skip_block(const std::vector<ConfigLine>& lines, size_t& i) {
    int depth_in = 1;
    while (i < lines.size()) {
      const ConfigLine& l = lines[i++];
      if (l.kind == ConfigLine::Kind::SectionOpen) ++depth_in;
      if (l.kind == ConfigLine::Kind::SectionClose && --depth_in == 0) return;
    }
  }

  // <IfModule>/<IfDefine>: a true body is read in place (its Defines apply,
  // its lines join the enclosing section); a false one is skipped unread.
  void conditional(const std::vector<ConfigLine>& lines, size_t& i, const std::string& file, const ConfigLine& l,
                   std::vector<ConfigNode>& into) {
    if (l.args.size() != 1) {
      error(file, l.line, "<" + l.name + "> takes exactly one argument (a name, optionally prefixed with '!')");
      skip_block(lines, i);
      return;
    }
    std::string_view arg = l.args[0];
    bool negate = !arg.empty() && arg[0] == '!';
    if (negate) arg.remove_prefix(1);
    auto was_loaded = +[](const ApacheModule& m, const void* seen_ptr) {
      const auto& seen = *static_cast<const std::vector<std::string_view>*>(seen_ptr);
      return std::find(seen.begin(), seen.end(), m.id) != seen.end();
    };
    bool present = http::iequals(l.name, "IfModule") ? module_present(arg, was_loaded, &loaded_modules) : defined(arg);
    if (present != negate) {
      parse_block(lines, i, file, &l, into);
    } else {
      skip_block(lines, i);
    }
  }

  // Define NAME [VALUE] / UnDefine NAME: global whatever section they sit in,
  // as in Apache; NAME counts for <IfDefine>, VALUE for ${NAME}.
  void define(const ConfigLine& l, const std::string& file) {
    bool undef = http::iequals(l.name, "UnDefine");
    if (l.args.empty() || l.args.size() > (undef ? 1u : 2u)) {
      error(file, l.line, undef ? "UnDefine takes one name" : "Define takes a name and an optional value: Define NAME [VALUE]");
      return;
    }
    const std::string& name = l.args[0];
    if (name.find(':') != std::string::npos) {
      error(file, l.line, "Define " + name + ": a variable name cannot contain ':'");
      return;
    }
    if (undef) {
      defines.erase(std::remove(defines.begin(), defines.end(), name), defines.end());
      vars.erase(name);
      return;
    }
    if (!defined(name)) defines.push_back(name);
    if (l.args.size() == 2) vars[name] = l.args[1];
  }

  void directive(const ConfigLine& l, const std::string& file, std::vector<ConfigNode>& into) {
    if (in.htaccess) {
      into.push_back(ConfigNode{l.name, l.args, file, l.line, false, {}});
      return;
    }
    if (http::iequals(l.name, "Define") || http::iequals(l.name, "UnDefine")) return define(l, file);
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
    if (http::iequals(l.name, "LoadModule")) return load_module(l, file);
    into.push_back(ConfigNode{l.name, l.args, file, l.line, false, {}});
  }

  // LoadModule NAME PATH: Pillar's modules are built in, so the file is not
  // loaded; a module Pillar lacks gets a notice saying what will not work.
  void load_module(const ConfigLine& l, const std::string& file) {
    if (l.args.size() != 2) {
      error(file, l.line, "LoadModule takes a module name and a file, e.g. LoadModule mime_module modules/mod_mime.so");
      return;
    }
    const ApacheModule* m = find_module(l.args[0]);
    if (m) loaded_modules.push_back(m->id);
    std::string where = file + ":" + std::to_string(l.line) + ": LoadModule " + l.args[0];
    if (!m) {
      out.notices.push_back(where + ": Pillar does not know this module; its directives will be refused as unknown");
    } else if (!m->present) {
      out.notices.push_back(where + ": Pillar lacks this module: " + std::string(m->missing));
    }
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

namespace {

void seed_modules(Builder& b, const TreeInput& in) {
  for (const auto& name : in.loaded_modules) {
    if (const ApacheModule* m = find_module(name)) b.loaded_modules.push_back(m->id);
  }
}

void report(const Builder& b, TreeResult& out) {
  out.defines = b.defines;
  out.loaded_modules.assign(b.loaded_modules.begin(), b.loaded_modules.end());
}

}  // namespace

void build_tree_from_text(std::string_view text, const std::string& file, const TreeInput& in, TreeResult& out) {
  out.server_root = in.server_root;
  Builder b{in, out};
  seed_modules(b, in);
  b.parse_text(text, file, out.top);
  report(b, out);
}

void build_tree_from_file(const std::string& path, const TreeInput& in, TreeResult& out) {
  out.server_root = in.server_root;
  Builder b{in, out};
  seed_modules(b, in);
  b.read_file(path, path, 0, out.top);
  report(b, out);
  if (!out.errors.empty() && out.errors.back().line == 0 && out.top.empty()) {
    out.errors.back().message = "cannot read configuration file " + path;
  }
}

}  // namespace pillar::config

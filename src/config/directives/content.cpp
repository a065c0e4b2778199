// The content directive table: documents, Options, error documents, MIME types
// and SetHandler (core, mod_dir, mod_mime). Listed in directives/registry.cpp;
// docs/configuration.md documents each directive.
#include "config/directives/tables.h"

#include <sys/stat.h>
#include <unistd.h>

#include "config/overrides.h"
#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

void d_document_root(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string p = fs_path(s, n.args[0]);
  struct stat st {};
  if (stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return out.error(n, "DocumentRoot " + p + " is not a directory; create it or correct the path");
  s.vhost.document_root = p;
}

void d_directory_index(DirectiveSink&, const ConfigNode& n, Scope& s) {
  s.vhost.directory_index.clear();
  if (n.args.size() == 1 && http::iequals(n.args[0], "disabled")) return;
  for (const auto& a : n.args) s.vhost.directory_index.push_back(a);
}

void d_options(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  Options& o = s.dir ? s.dir->options : s.vhost.options;
  Options r;
  r.present = true;
  bool relative = false, absolute = false;
  for (const auto& a : n.args) {
    std::string_view w = a;
    char sign = 0;
    if (!w.empty() && (w[0] == '+' || w[0] == '-')) {
      sign = w[0];
      w.remove_prefix(1);
      relative = true;
    } else {
      absolute = true;
    }
    uint8_t bit;
    if (!option_bits(w, bit))
      return out.error(n, "Options '" + a + "' is unknown; use None, All, Indexes, FollowSymLinks, "
                                           "SymLinksIfOwnerMatch, ExecCGI, Includes or MultiViews, optionally with + or -");
    // .htaccess: AllowOverride Options=... names the options it may set (Apache's "Option X not allowed here").
    if (s.htaccess && (bit & ~s.htaccess->allow.options) != 0)
      return out.error(n, "Option " + std::string(w) + " not allowed here: AllowOverride Options=... for this directory" +
                              (s.htaccess->allow.where.file.empty() ? std::string()
                               : " (" + s.htaccess->allow.where.file + ":" + std::to_string(s.htaccess->allow.where.line) + ")") +
                              " does not list it");
    if (sign == '-') r.remove |= bit;
    else r.add |= bit;
  }
  if (relative && absolute)
    return out.error(n, "Options mixes +/- forms with plain ones; write all options with + or -, or none of them");
  r.replace = absolute;
  if (o.present && relative && !o.replace) {  // two relative lines in one section accumulate
    o.add = static_cast<uint8_t>((o.add & ~r.remove) | r.add);
    o.remove = static_cast<uint8_t>((o.remove & ~r.add) | r.remove);
  } else if (o.present && relative) {
    o.add = static_cast<uint8_t>((o.add | r.add) & ~r.remove);
  } else {
    o = r;
  }
}

// AllowOverride / AllowOverrideList: only in <Directory> (the table's
// context), as Apache: not in <Location>, <Files> or at the top level.
void d_allow_override(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  AllowOverride a;
  a.where = {n.file, n.line};
  if (std::string why = parse_allow_override(n.args, a); !why.empty()) return out.error(n, why);
  s.dir->allow_override = a;
}

void d_allow_override_list(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::vector<std::string> list;
  if (std::string why = parse_allow_override_list(n.args, list); !why.empty()) return out.error(n, why);
  s.dir->allow_override_list = std::move(list);
}


void d_enable_sendfile(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, "EnableSendfile", s.server.enable_sendfile);
}

void d_error_document(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t code;
  std::string why;
  if (!parse_uint(n.args[0], 400, 599, code, why))
    return out.error(n, "ErrorDocument status: " + why + "; only error statuses (400 to 599) can be replaced");
  std::string v = n.args[1];
  for (size_t i = 2; i < n.args.size(); ++i) v += " " + n.args[i];
  if (http::iequals(v, "default")) {
    s.vhost.error_documents.erase(static_cast<int>(code));
    return;
  }
  ErrorDocument d;
  d.value = v;
  if (v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0) d.kind = ErrorDocument::Kind::Redirect;
  else if (!v.empty() && v[0] == '/') d.kind = ErrorDocument::Kind::LocalPath;
  else d.kind = ErrorDocument::Kind::Text;
  s.vhost.error_documents[static_cast<int>(code)] = std::move(d);
}

void d_add_type(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args[0].find('/') == std::string::npos)
    return out.error(n, "AddType " + n.args[0] + ": the first argument is the MIME type, e.g. AddType text/plain .txt");
  for (size_t i = 1; i < n.args.size(); ++i) {
    std::string ext = core::lowercase(n.args[i]);
    if (ext.empty() || ext == ".") return out.error(n, "AddType: empty extension");
    if (ext[0] != '.') ext = "." + ext;  // not insert(0, ...): GCC 12 -Wrestrict false positive
    s.vhost.add_types[ext] = n.args[0];
  }
}

void d_types_config(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string p = fs_path(s, n.args[0]);
  if (access(p.c_str(), R_OK) != 0) return out.error(n, "TypesConfig " + p + " cannot be read; correct the path");
  s.server.types_config = p;
}

void d_set_handler(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string v = core::lowercase(n.args[0]);
  // cgi-script (mod_cgid, directives/cgi.cpp) in any of the three; a later
  // SetHandler in the same section replaces it.
  CgiSettings& cgi = s.files ? s.files->cgi : s.loc ? s.loc->cgi : s.dir->cgi;
  if (v == "cgi-script") {
    cgi_set_handler(s);
    return;
  }
  cgi.handler.reset();
  if (s.htaccess && !s.files) {
    // .htaccess outside <Files>: every file of the directory, as Apache's
    // directory context; a section matching every name holds it.
    FilesSection all;
    all.pattern = "*";
    all.where = {n.file, n.line};
    Scope inner = s;
    inner.files = &all;
    inner.ctx = kFiles;
    size_t before = out.errors.size();
    d_set_handler(out, n, inner);
    if (out.errors.size() == before) s.dir->files.push_back(std::move(all));
    if (v == "none" || v == "default-handler") s.dir->cgi.handler = false;  // as in <Directory>
    return;
  }
  if (v.rfind("proxy:", 0) == 0) {  // mod_proxy_fcgi's handler form (directives/fastcgi.cpp)
    if (s.in_if)  // its backend is resolved once, for a section the request is routed by
      return out.error(n, "SetHandler " + n.args[0] + " in <If> is not supported; there Pillar takes cgi-script or None");
    if (s.dir && !s.files) return out.error(n, "SetHandler " + n.args[0] + " in <Directory>: put it in a <FilesMatch> (e.g. <FilesMatch \\.php$>) inside it");
    fcgi_set_handler(out, n, s);
    return;
  }
  if (s.files || (s.dir && !s.loc)) {  // <Files>/<FilesMatch>: a FastCGI handler, or none; <Directory>: CGI or none
    if (v == "none" || v == "default-handler") {
      cgi.handler = false;
      if (s.files) {
        s.files->fcgi.reset();
        s.files->handler_none = true;
      }
      return;
    }
    if (!s.files)
      return out.error(n, "SetHandler " + n.args[0] + " in " + (s.in_if ? "<If>" : "<Directory>") +
                              " is not supported; there Pillar takes cgi-script or None");
    return out.error(n, "SetHandler " + n.args[0] + " in <" + std::string(s.files->regex ? "FilesMatch" : "Files") +
                            "> is not supported; there Pillar takes cgi-script, \"proxy:unix:/PATH.sock|fcgi://NAME\", "
                            "\"proxy:fcgi://HOST:PORT\" or None");
  }
  if (s.loc && (v == "none" || v == "default-handler")) s.loc->cgi.handler = false;
  HandlerKind k;
  if (v == "server-status") k = HandlerKind::ServerStatus;
  else if (v == "metrics" || v == "pillar-metrics") k = HandlerKind::Metrics;
  else if (v == "pillar-welcome") k = HandlerKind::Welcome;
  else if (v == "balancer-manager") k = HandlerKind::BalancerManager;
  else if (v == "none" || v == "default-handler") k = HandlerKind::Default;
  else
    return out.error(n, "SetHandler " + n.args[0] +
                            " is unknown; use server-status, pillar-metrics, balancer-manager, pillar-welcome, cgi-script, None, "
                            "\"proxy:unix:/PATH.sock|fcgi://NAME\" or \"proxy:fcgi://HOST:PORT\" (FastCGI)");
  if (!s.loc) return out.error(n, "SetHandler " + n.args[0] + " belongs in a <Location>");
  s.loc->handler = k;
}

constexpr DirectiveSpec kTable[] = {
    {"AddType", 2, -1, kSV | kDirectory, false, d_add_type, "AddType MIME-TYPE .EXT...", kOrFileInfo},
    {"AllowOverride", 1, -1, kDirectory, false, d_allow_override,
     "AllowOverride All|None|AuthConfig|FileInfo|Indexes|Limit|Options[=Option,...]|Nonfatal=Override|Unknown|All..."},
    {"AllowOverrideList", 1, -1, kDirectory, false, d_allow_override_list, "AllowOverrideList None|DIRECTIVE..."},
    {"DirectoryIndex", 1, -1, kSV, false, d_directory_index, "DirectoryIndex FILE... | disabled", kOrIndexes},
    {"DocumentRoot", 1, 1, kSV, false, d_document_root, "DocumentRoot DIRECTORY"},
    {"EnableSendfile", 1, 1, kServer | kVHost | kDirectory, true, d_enable_sendfile, "EnableSendfile On|Off", kOrFileInfo},
    {"ErrorDocument", 2, -1, kSV, false, d_error_document, "ErrorDocument STATUS /path|URL|\"text\"", kOrFileInfo},
    {"Options", 1, -1, kSV | kDirectory, false, d_options, "Options [+|-]OPTION...", kOrOptions},
    {"SetHandler", 1, 1, kDirectory | kFiles | kLocation, false, d_set_handler,
     "SetHandler server-status|pillar-metrics|pillar-welcome|cgi-script|None|\"proxy:unix:/PATH.sock|fcgi://NAME\"|\"proxy:fcgi://HOST:PORT\"", kOrFileInfo},
    {"TypesConfig", 1, 1, kServer, false, d_types_config, "TypesConfig PATH"},
};

}  // namespace

std::span<const DirectiveSpec> content_directives() { return kTable; }

}  // namespace pillar::config

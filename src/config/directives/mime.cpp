// The mod_mime directive table (AddCharset, AddEncoding, AddLanguage,
// AddHandler, RemoveType, DefaultLanguage; AddType and TypesConfig sit in
// content.cpp) and the stock-configuration directives of
// mod_negotiation, mod_autoindex and core that Pillar accepts
// with their effect or as a documented no-op (AddDefaultCharset, TraceEnable,
// DefaultRuntimeDir, Mutex, AccessFileName, ...). Listed in
// directives/registry.cpp; docs/configuration.md documents each directive.
#include <algorithm>

#include "config/directives/tables.h"
#include "http/request.h"

namespace pillar::config {
namespace {

// ".EXT" lower-case from an extension written with or without its dot.
bool extension(DirectiveSink& out, const ConfigNode& n, const std::string& arg, std::string& ext) {
  ext = core::lowercase(arg);
  if (!ext.empty() && ext[0] != '.') ext = "." + ext;
  if (ext.size() < 2 || ext.find('/') != std::string::npos) {
    out.error(n, n.name + " '" + arg + "': expected a file extension such as .html");
    return false;
  }
  return true;
}

// NAME VALUE .EXT...: value -> each extension in one of the vhost's maps.
template <std::map<std::string, std::string> VirtualHost::*Map>
void d_ext_map(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (size_t i = 1; i < n.args.size(); ++i) {
    std::string ext;
    if (!extension(out, n, n.args[i], ext)) return;
    (s.vhost.*Map)[ext] = n.args[0];
  }
}

// AddHandler / RemoveHandler: the vhost's map, or a <Directory>'s own
// (CgiSettings::add_handlers, read by the CGI route for files below it).
void d_add_handler(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  auto& map = s.dir ? s.dir->cgi.add_handlers : s.vhost.add_handlers;
  for (size_t i = 1; i < n.args.size(); ++i) {
    std::string ext;
    if (!extension(out, n, n.args[i], ext)) return;
    map[ext] = core::lowercase(n.args[0]);
  }
  if (core::lowercase(n.args[0]) == "cgi-script") s.vhost.cgi.runs_scripts = true;  // the CGI route looks (cgi_model.h)
}
void d_remove_handler(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  auto& map = s.dir ? s.dir->cgi.add_handlers : s.vhost.add_handlers;
  for (const auto& a : n.args) {
    std::string ext;
    if (!extension(out, n, a, ext)) return;
    if (s.dir) map[ext] = "";  // below the <Directory>: no handler, whatever the vhost says
    else map.erase(ext);
  }
}

// RemoveType .EXT...: no type at all for the extension, not even TypesConfig's
// (mod_mime records an empty forced type).
void d_remove_type(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    std::string ext;
    if (!extension(out, n, a, ext)) return;
    s.vhost.add_types[ext] = "";
  }
}

template <std::map<std::string, std::string> VirtualHost::*Map>
void d_remove_ext(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    std::string ext;
    if (!extension(out, n, a, ext)) return;
    (s.vhost.*Map).erase(ext);
  }
}

// ForceType MEDIA-TYPE|None (core): overrides every extension mapping below
// the <Directory>; None undoes an inherited one.
void d_force_type(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  bool none = http::iequals(n.args[0], "none");
  if (!none && n.args[0].find('/') == std::string::npos)
    return out.error(n, "ForceType " + n.args[0] + ": expected a media type such as text/plain, or None");
  s.dir->force_type_set = true;
  s.dir->force_type = none ? "" : n.args[0];
}

void d_default_language(DirectiveSink&, const ConfigNode& n, Scope& s) { s.vhost.default_language = n.args[0]; }

// AddDefaultCharset On|Off|CHARSET (core): On is iso-8859-1, as Apache.
void d_add_default_charset(DirectiveSink&, const ConfigNode& n, Scope& s) {
  if (http::iequals(n.args[0], "off")) s.vhost.default_charset.clear();
  else if (http::iequals(n.args[0], "on")) s.vhost.default_charset = "iso-8859-1";
  else s.vhost.default_charset = n.args[0];
}

void d_index_ignore(DirectiveSink&, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) s.vhost.index_ignore.push_back(a);
}

// HeaderName / ReadmeName FILENAME (mod_autoindex): the file put above or
// below a listing, a URL path relative to the listed directory (or, with a
// leading '/', to the DocumentRoot).
template <std::string VirtualHost::*Vh, std::optional<std::string> DirectorySection::*Dir>
void d_index_file(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  const std::string& f = n.args[0];
  if (f.empty() || f.find("..") != std::string::npos)
    return out.error(n, n.name + " '" + f + "': give a file name such as HEADER.html (no '..')");
  if (s.dir) (s.dir->*Dir) = f;
  else s.vhost.*Vh = f;
}

void d_trace_enable(DirectiveSink& out, const ConfigNode& n, Scope&) {
  std::string v = core::lowercase(n.args[0]);
  if (v == "off") return;
  if (v == "on" || v == "extended")
    return out.notice(n, "TraceEnable " + n.args[0] + ": Pillar never echoes TRACE; it answers 405 as with TraceEnable Off");
  out.error(n, "TraceEnable '" + n.args[0] + "' is not one of On, Off, extended");
}

// Accepted because Pillar has no use for them (documented in configuration.md).
void d_accept(DirectiveSink&, const ConfigNode&, Scope&) {}

// Accepted, not applied yet: one notice per directive name for the whole load.
void d_not_applied(DirectiveSink& out, const ConfigNode& n, Scope&) {
  std::string what = n.name + " is accepted but not applied yet";
  bool said = std::any_of(out.notices.begin(), out.notices.end(),
                          [&](const std::string& x) { return x.find(what) != std::string::npos; });
  if (!said) out.notice(n, what + " (see docs/apache-compat.md); later lines are accepted silently");
}

// AccessFileName NAME...: the first of these that exists in a directory is
// its per-directory file (read where AllowOverride lets it).
void d_access_file_name(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    if (a.empty() || a.find('/') != std::string::npos || a == "." || a == "..")
      return out.error(n, "AccessFileName " + a + ": give a file name (no '/'), e.g. AccessFileName .htaccess");
  }
  s.vhost.access_file_names = n.args;
}

constexpr uint8_t kAny = kSV | kPerDir;

constexpr DirectiveSpec kTable[] = {
    // mod_mime
    {"AddCharset", 2, -1, kSV, false, d_ext_map<&VirtualHost::add_charsets>, "AddCharset CHARSET .EXT...", kOrFileInfo},
    {"AddEncoding", 2, -1, kSV, false, d_ext_map<&VirtualHost::add_encodings>, "AddEncoding ENCODING .EXT...", kOrFileInfo},
    {"AddLanguage", 2, -1, kSV, false, d_ext_map<&VirtualHost::add_languages>, "AddLanguage LANGUAGE .EXT...", kOrFileInfo},
    {"AddHandler", 2, -1, kSV | kDirectory, false, d_add_handler, "AddHandler HANDLER .EXT...", kOrFileInfo},
    {"RemoveType", 1, -1, kSV, false, d_remove_type, "RemoveType .EXT...", kOrFileInfo},
    {"RemoveCharset", 1, -1, kSV, false, d_remove_ext<&VirtualHost::add_charsets>, "RemoveCharset .EXT...", kOrFileInfo},
    {"RemoveEncoding", 1, -1, kSV, false, d_remove_ext<&VirtualHost::add_encodings>, "RemoveEncoding .EXT...", kOrFileInfo},
    {"RemoveLanguage", 1, -1, kSV, false, d_remove_ext<&VirtualHost::add_languages>, "RemoveLanguage .EXT...", kOrFileInfo},
    {"RemoveHandler", 1, -1, kSV | kDirectory, false, d_remove_handler, "RemoveHandler .EXT...", kOrFileInfo},
    {"DefaultLanguage", 1, 1, kSV, false, d_default_language, "DefaultLanguage LANGUAGE-TAG", kOrFileInfo},
    // core
    {"ForceType", 1, 1, kDirectory, false, d_force_type, "ForceType MEDIA-TYPE|None", kOrFileInfo},
    {"AddDefaultCharset", 1, 1, kSV, false, d_add_default_charset, "AddDefaultCharset On|Off|CHARSET", kOrFileInfo},
    {"AccessFileName", 1, -1, kSV, false, d_access_file_name, "AccessFileName .htaccess"},
    {"DefaultRuntimeDir", 1, 1, kServer, false, d_accept, "DefaultRuntimeDir DIRECTORY"},
    {"Mutex", 1, 2, kServer, false, d_accept, "Mutex MECHANISM [MUTEX-NAME|default]"},
    {"TraceEnable", 1, 1, kSV, false, d_trace_enable, "TraceEnable On|Off|extended"},
    // mod_negotiation: no negotiation without MultiViews (refused by Options)
    {"LanguagePriority", 1, -1, kSV | kDirectory, false, d_accept, "LanguagePriority LANG...", kOrFileInfo},
    {"ForceLanguagePriority", 1, 2, kSV | kDirectory, false, d_accept, "ForceLanguagePriority None|Prefer|Fallback", kOrFileInfo},
    // mod_autoindex
    {"IndexIgnore", 1, -1, kSV, false, d_index_ignore, "IndexIgnore WILDCARD...", kOrIndexes},
    {"IndexOptions", 1, -1, kSV | kDirectory, false, d_not_applied, "IndexOptions OPTION...", kOrIndexes},
    {"AddIcon", 2, -1, kSV | kDirectory, false, d_not_applied, "AddIcon ICON NAME...", kOrIndexes},
    {"AddIconByType", 2, -1, kSV | kDirectory, false, d_not_applied, "AddIconByType ICON MIME-TYPE...", kOrIndexes},
    {"AddIconByEncoding", 2, -1, kSV | kDirectory, false, d_not_applied, "AddIconByEncoding ICON ENCODING...", kOrIndexes},
    {"AddAlt", 2, -1, kSV | kDirectory, false, d_not_applied, "AddAlt TEXT NAME...", kOrIndexes},
    {"AddDescription", 2, -1, kSV | kDirectory, false, d_not_applied, "AddDescription TEXT NAME...", kOrIndexes},
    {"DefaultIcon", 1, 1, kSV | kDirectory, false, d_not_applied, "DefaultIcon URL-PATH", kOrIndexes},
    {"HeaderName", 1, 1, kSV | kDirectory, false,
     d_index_file<&VirtualHost::index_header_name, &DirectorySection::index_header_name>, "HeaderName FILENAME",
     kOrIndexes},
    {"ReadmeName", 1, 1, kSV | kDirectory, false,
     d_index_file<&VirtualHost::index_readme_name, &DirectorySection::index_readme_name>, "ReadmeName FILENAME",
     kOrIndexes},
    // mod_proxy's ProxyStatus: balancer members are always in server-status
    {"ProxyStatus", 1, 1, kSV, false, d_accept, "ProxyStatus On|Off|Full"},
};

}  // namespace

std::span<const DirectiveSpec> mime_directives() { return kTable; }

}  // namespace pillar::config

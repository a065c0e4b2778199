// The directive table of Apache's metadata modules: mod_setenvif (SetEnvIf,
// SetEnvIfNoCase, BrowserMatch, BrowserMatchNoCase), mod_env (SetEnv,
// UnsetEnv, PassEnv), mod_headers (Header, RequestHeader), mod_expires
// (ExpiresActive, ExpiresDefault, ExpiresByType) and core's ServerSignature
// and ServerAdmin. Each line is checked and compiled here, with Apache's
// messages where Apache has one; the model is config/metadata.h.
#include <stdlib.h>

#include <algorithm>

#include "config/directives/tables.h"
#include "config/expr.h"
#include "http/request.h"

namespace pillar::config {
namespace {

// The Metadata of the section being read (the innermost: <Files> inside a
// <Directory> is the <Files>'), the vhost's at server and vhost level.
Metadata& scope_meta(Scope& s) {
  if (s.files) return s.files->meta;
  if (s.dir) return s.dir->meta;
  if (s.loc) return s.loc->meta;
  return s.vhost.meta;
}

// ---- mod_setenvif ------------------------------------------------------------

// Apache's non_regex_pattern(): a pattern without regex characters is
// matched as a plain string, and then $N in values is not substituted.
bool plain_pattern(std::string_view p) {
  bool escape = false;
  for (char c : p) {
    if (escape) {
      if (std::string_view("^.$|()[]*+?{}\\").find(c) == std::string_view::npos) return false;
      escape = false;
      continue;
    }
    if (c == '\\') {
      escape = true;
      continue;
    }
    if (std::string_view("^.$|()[]*+?{}").find(c) != std::string_view::npos) return false;
  }
  return true;
}

// A header name with anything but [-A-Za-z0-9_] is a regex over names (Apache's is_header_regex).
bool header_regex(std::string_view name) {
  for (char c : name) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!plain) return true;
  }
  return false;
}

SetEnvIfRule::Attribute special_attribute(std::string_view name) {
  using A = SetEnvIfRule::Attribute;
  if (http::iequals(name, "Remote_Host")) return A::RemoteHost;
  if (http::iequals(name, "Remote_Addr")) return A::RemoteAddr;
  if (http::iequals(name, "Server_Addr")) return A::ServerAddr;
  if (http::iequals(name, "Request_Method")) return A::RequestMethod;
  if (http::iequals(name, "Request_Protocol")) return A::RequestProtocol;
  if (http::iequals(name, "Request_URI")) return A::RequestUri;
  return header_regex(name) ? A::HeaderRegex : A::Named;
}

// SetEnvIf ATTRIBUTE REGEX VAR...: `first` is the index of REGEX in args.
void add_setenvif(DirectiveSink& out, const ConfigNode& n, Scope& s, std::string_view attribute, size_t first,
                  bool nocase) {
  SetEnvIfRule r;
  r.name = std::string(attribute);
  r.attribute = special_attribute(attribute);
  const std::string& pattern = n.args[first];
  if (pattern.empty()) return out.error(n, "Missing regular expression for " + n.name);
  unsigned flags = nocase ? core::Regex::kCaseless : core::Regex::kNone;
  auto re = std::make_shared<core::Regex>();
  if (std::string err = re->compile(pattern, flags); !err.empty())
    return out.error(n, n.name + " regex '" + pattern + "' could not be compiled: " + err);
  r.regex = std::move(re);
  r.substitutes = !plain_pattern(pattern);
  if (r.attribute == SetEnvIfRule::Attribute::HeaderRegex) {
    auto nr = std::make_shared<core::Regex>();
    if (std::string err = nr->compile(r.name, flags); !err.empty())
      return out.error(n, n.name + ": the header name regex '" + r.name + "' could not be compiled: " + err);
    r.name_regex = std::move(nr);
  }
  for (size_t i = first + 1; i < n.args.size(); ++i) {
    std::string_view f = n.args[i];
    if (f.empty()) continue;
    SetEnvIfRule::Action a;
    size_t eq = f.find('=');
    if (eq != std::string_view::npos && eq + 1 < f.size()) {
      a.var = std::string(f.substr(0, eq));
      a.value = std::string(f.substr(eq + 1));
      a.unset = a.value[0] == '!';  // Apache marks an unset with the value "!"
    } else if (f[0] == '!') {
      a.var = std::string(f.substr(1, eq == std::string_view::npos ? std::string_view::npos : eq - 1));
      a.unset = true;
    } else {
      a.var = std::string(f.substr(0, eq));
      a.value = "1";
    }
    if (a.var.empty())
      return out.error(n, n.name + " '" + std::string(f) + "': the variable needs a name, e.g. " + n.name +
                              " ... VAR or VAR=value or !VAR");
    // One value per variable per line (an APR table in Apache): the last wins.
    std::erase_if(r.actions, [&](const SetEnvIfRule::Action& o) { return http::iequals(o.var, a.var); });
    r.actions.push_back(std::move(a));
  }
  if (r.actions.empty()) return out.error(n, "Missing envariable expression for " + n.name);
  scope_meta(s).setenvif.push_back(std::move(r));
}

void d_setenvif(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  add_setenvif(out, n, s, n.args[0], 1, http::iequals(n.name, "SetEnvIfNoCase"));
}
void d_browser_match(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  add_setenvif(out, n, s, "User-Agent", 0, http::iequals(n.name, "BrowserMatchNoCase"));
}

// ---- mod_env -----------------------------------------------------------------

void env_set(EnvSettings& e, const std::string& name, std::string value) {
  for (auto& [k, v] : e.set) {
    if (http::iequals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  e.set.emplace_back(name, std::move(value));
}

void d_set_env(DirectiveSink&, const ConfigNode& n, Scope& s) {
  env_set(scope_meta(s).env, n.args[0], n.args.size() > 1 ? n.args[1] : "");
}
void d_unset_env(DirectiveSink&, const ConfigNode& n, Scope& s) {
  EnvSettings& e = scope_meta(s).env;
  for (const auto& a : n.args) {
    std::erase_if(e.set, [&](const auto& kv) { return http::iequals(kv.first, a); });
    e.unset.push_back(a);
  }
}
// PassEnv: the variable's value from Pillar's own environment at load.
void d_pass_env(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    const char* v = getenv(a.c_str());
    if (!v) {
      out.notice(n, "PassEnv " + a + ": not in Pillar's environment; nothing is passed");
      continue;
    }
    env_set(scope_meta(s).env, a, v);
  }
}

// ---- mod_headers -------------------------------------------------------------

// mod_headers' value syntax: \t \n \r \\ escapes in the text, % specifiers.
// A line break cannot be sent in a field, so \r and \n are refused here.
bool parse_format(std::string_view v, HeaderFormat& f, std::string& why) {
  using K = HeaderFormat::Kind;
  std::string lit;
  auto flush = [&] {
    if (!lit.empty()) f.pieces.push_back({K::Literal, std::move(lit)});
    lit.clear();
  };
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size()) {
      char e = v[i + 1];
      if (e == 't' || e == '\\') {
        lit.push_back(e == 't' ? '\t' : '\\');
        ++i;
        continue;
      }
      if (e == 'n' || e == 'r') {
        why = "a header value cannot hold a line break (\\" + std::string(1, e) + ")";
        return false;
      }
      lit.push_back(c);
      continue;
    }
    if (c != '%') {
      lit.push_back(c);
      continue;
    }
    if (i + 1 >= v.size() || v[i + 1] == '%') {  // "%%", or a '%' at the end
      lit.push_back('%');
      ++i;
      continue;
    }
    ++i;
    std::string arg;
    if (v[i] == '{') {
      size_t close = v.find('}', i);
      if (close == std::string_view::npos || close + 1 >= v.size()) {
        why = "'%{' without its closing '}' and specifier, e.g. %{VAR}e";
        return false;
      }
      arg = std::string(v.substr(i + 1, close - i - 1));
      i = close + 1;
    }
    K k;
    switch (v[i]) {
      case 't': k = K::RequestTime; break;
      case 'D': k = K::Duration; break;
      case 'l': k = K::Load; break;
      case 'i': k = K::Idle; break;
      case 'b': k = K::Busy; break;
      case 'e': k = K::Env; break;
      case 's': k = K::Ssl; break;
      default:
        why = std::string("Unrecognized header format %") + v[i] + " (mod_headers has %t %D %l %i %b %{VAR}e %{VAR}s and %%)";
        return false;
    }
    flush();
    f.pieces.push_back({k, (k == K::Env || k == K::Ssl) ? std::move(arg) : std::string()});
  }
  flush();
  return true;
}

bool header_op(std::string_view a, HeaderAction::Op& op) {
  using Op = HeaderAction::Op;
  static constexpr std::pair<std::string_view, Op> kOps[] = {
      {"set", Op::Set},     {"setifempty", Op::SetIfEmpty}, {"add", Op::Add},   {"append", Op::Append},
      {"merge", Op::Merge}, {"unset", Op::Unset},           {"echo", Op::Echo}, {"edit", Op::Edit},
      {"edit*", Op::EditAll}, {"note", Op::Note},
  };
  for (const auto& [name, o] : kOps) {
    if (http::iequals(a, name)) {
      op = o;
      return true;
    }
  }
  return false;
}

// Header [always|onsuccess] ACTION HEADER [VALUE] [REPLACEMENT] [early|env=[!]VAR]
// RequestHeader ACTION HEADER [VALUE] [REPLACEMENT] [early|env=[!]VAR]
// Apache's argument rules (header_cmd, header_inout_cmd), its messages.
void d_header(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  using Op = HeaderAction::Op;
  HeaderAction h;
  h.request = http::iequals(n.name, "RequestHeader");
  const std::string syntax = h.request ? "RequestHeader ACTION HEADER [VALUE] [REPLACEMENT] [early|env=[!]VAR|expr=EXPR]"
                                       : "Header [always|onsuccess] ACTION HEADER [VALUE] [REPLACEMENT] [early|env=[!]VAR|expr=EXPR]";
  std::vector<std::string_view> a(n.args.begin(), n.args.end());
  size_t i = 0;
  if (!h.request && !a.empty() && (http::iequals(a[0], "always") || http::iequals(a[0], "onsuccess"))) {
    if (http::iequals(a[0], "always")) h.table = HeaderAction::Table::Always;
    ++i;
  }
  if (i + 2 > a.size()) return out.error(n, n.name + " needs an action and a header name; syntax: " + syntax);
  if (!header_op(a[i], h.op))
    return out.error(n, n.name + " " + std::string(a[i]) +
                            ": first argument must be 'add', 'set', 'setifempty', 'append', 'merge', 'unset', "
                            "'echo', 'note', 'edit', or 'edit*'");
  std::string_view hdr = a[i + 1];
  std::optional<std::string_view> value, subs, clause;
  if (i + 2 < a.size()) value = a[i + 2];
  if (i + 3 < a.size()) subs = a[i + 3];
  if (i + 4 < a.size()) clause = a[i + 4];
  if (i + 5 < a.size()) return out.error(n, n.name + " has too many arguments; syntax: " + syntax);
  const bool edit = h.op == Op::Edit || h.op == Op::EditAll;
  if (edit) {
    if (!subs) return out.error(n, n.name + " edit requires a match and a substitution, e.g. " + n.name +
                                       " edit Location ^http: https:");
    auto re = std::make_shared<core::Regex>();
    if (std::string err = re->compile(*value); !err.empty())
      return out.error(n, n.name + " edit regex '" + std::string(*value) + "' could not be compiled: " + err);
    h.regex = std::move(re);
  } else {
    if (clause) return out.error(n, n.name + ": too many arguments to directive; syntax: " + syntax);
    clause = subs;
    subs.reset();
  }
  if (h.op == Op::Unset || h.op == Op::Echo) {
    if (value) {
      if (clause) return out.error(n, n.name + " " + std::string(a[i]) + " takes two arguments (and an env= condition)");
      clause = value;
      value.reset();
    }
  }
  if (h.op == Op::Echo) {
    if (h.request) return out.error(n, "Header echo only valid on Header directives; RequestHeader cannot echo");
    auto re = std::make_shared<core::Regex>();
    if (std::string err = re->compile(hdr); !err.empty())
      return out.error(n, "Header echo regex '" + std::string(hdr) + "' could not be compiled: " + err);
    h.regex = std::move(re);
  } else if (!value && h.op != Op::Unset) {
    return out.error(n, n.name + " " + std::string(a[i]) + " requires three arguments (a header and its value); syntax: " +
                            syntax);
  }
  if (clause) {
    if (http::iequals(*clause, "early")) {
      if (s.ctx != kServer && s.ctx != kVHost)
        return out.error(n, n.name + " ... early: early processing is only allowed at server or virtual host level");
      h.early = true;
    } else if (clause->size() >= 4 && http::iequals(clause->substr(0, 4), "env=")) {
      std::string_view var = clause->substr(4);
      if (!var.empty() && var[0] == '!') {
        h.env_negated = true;
        var.remove_prefix(1);
      }
      if (var.empty())
        return out.error(n, n.name + ": missing environment variable name; the condition is env=VAR or env=!VAR");
      h.env = std::string(var);
    } else if (clause->size() >= 5 && http::iequals(clause->substr(0, 5), "expr=")) {
      std::string why;
      h.expr = Expr::compile(clause->substr(5), why);
      if (!h.expr) return out.error(n, n.name + " ... expr=" + std::string(clause->substr(5)) + ": " + why);
      if (h.request && h.expr->reads_response())
        return out.error(n, "RequestHeader ... expr=: the condition reads the response (CONTENT_TYPE, resp()), which a "
                            "request does not have yet");
    } else {
      return out.error(n, n.name + ": Unknown parameter: " + std::string(*clause) +
                              " (expected early, env=[!]VAR or expr=...)");
    }
  }
  if (size_t colon = hdr.find(':'); colon != std::string_view::npos) hdr = hdr.substr(0, colon);  // "X-Foo:" as Apache
  if (hdr.empty()) return out.error(n, n.name + ": the header name is empty");
  h.header = std::string(hdr);
  std::string why;
  std::string_view fmt = edit ? *subs : value ? *value : std::string_view();
  if (!parse_format(fmt, h.value, why)) return out.error(n, n.name + ": " + why);
  scope_meta(s).headers.push_back(std::move(h));
}

// ---- mod_expires -------------------------------------------------------------

// "A3600" / "M3600", or "access plus 1 month 2 days" (mod_expires' units;
// a month is 30 days, a year 365, as Apache counts).
bool parse_expiry(std::string_view text, ExpiresRule& r, std::string& why) {
  text = core::trim_ows(text);
  if (text.size() >= 2 && (text[0] == 'A' || text[0] == 'M') && core::is_digit(text[1])) {
    auto v = core::parse_decimal(text.substr(1));
    if (!v || *v > 10ull * 365 * 86400 * 100) {
      why = "'" + std::string(text) + "': expected A or M and a number of seconds, e.g. A3600";
      return false;
    }
    r.base = text[0] == 'A' ? ExpiresRule::Base::Access : ExpiresRule::Base::Modification;
    r.seconds = static_cast<int64_t>(*v);
    return true;
  }
  std::vector<std::string> words;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && core::is_ows(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !core::is_ows(text[j])) ++j;
    if (j > i) words.push_back(core::lowercase(text.substr(i, j - i)));
    i = j;
  }
  const std::string example = "e.g. \"access plus 1 month\" or \"modification plus 2 hours 30 minutes\"";
  if (words.empty()) {
    why = "an empty expiry; " + example;
    return false;
  }
  if (words[0] == "access" || words[0] == "now") r.base = ExpiresRule::Base::Access;
  else if (words[0] == "modification") r.base = ExpiresRule::Base::Modification;
  else {
    why = "'" + words[0] + "': the base is access, now or modification; " + example;
    return false;
  }
  size_t w = 1;
  if (w < words.size() && words[w] == "plus") ++w;
  int64_t total = 0;
  while (w < words.size()) {
    auto num = core::parse_decimal(words[w]);
    if (!num || w + 1 >= words.size()) {
      why = "'" + words[w] + "': expected a number and a unit (years, months, weeks, days, hours, minutes, seconds); " +
            example;
      return false;
    }
    std::string unit = words[w + 1];
    if (unit.size() > 1 && unit.back() == 's') unit.pop_back();
    int64_t mult;
    if (unit == "year") mult = 365 * 86400;
    else if (unit == "month") mult = 30 * 86400;
    else if (unit == "week") mult = 7 * 86400;
    else if (unit == "day") mult = 86400;
    else if (unit == "hour") mult = 3600;
    else if (unit == "minute") mult = 60;
    else if (unit == "second") mult = 1;
    else {
      why = "'" + words[w + 1] + "' is not a unit (years, months, weeks, days, hours, minutes, seconds)";
      return false;
    }
    if (*num > 1000000) {
      why = "'" + words[w] + " " + words[w + 1] + "' is too far away";
      return false;
    }
    total += static_cast<int64_t>(*num) * mult;
    w += 2;
  }
  r.seconds = total;
  return true;
}

void d_expires_active(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  bool v = false;
  if (set_on_off(out, n, "ExpiresActive", v)) scope_meta(s).expires.active = v;
}

void d_expires_default(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  ExpiresRule r;
  std::string why;
  if (!parse_expiry(n.args[0], r, why)) return out.error(n, "ExpiresDefault " + why);
  scope_meta(s).expires.default_rule = r;
}

void d_expires_by_type(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string type = core::lowercase(n.args[0]);
  size_t slash = type.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == type.size())
    return out.error(n, "ExpiresByType '" + n.args[0] + "': expected a media type such as text/html or image/*");
  ExpiresRule r;
  std::string why;
  if (!parse_expiry(n.args[1], r, why)) return out.error(n, "ExpiresByType " + n.args[0] + ": " + why);
  auto& by = scope_meta(s).expires.by_type;
  std::erase_if(by, [&](const auto& kv) { return kv.first == type; });
  by.emplace_back(std::move(type), r);
}

// ---- core ----------------------------------------------------------------------

void d_server_signature(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string v = core::lowercase(n.args[0]);
  ServerSignature sig;
  if (v == "on") sig = ServerSignature::On;
  else if (v == "off") sig = ServerSignature::Off;
  else if (v == "email") sig = ServerSignature::EMail;
  else return out.error(n, "ServerSignature '" + n.args[0] + "' is not one of On, Off, EMail");
  scope_meta(s).signature = sig;
}

void d_server_admin(DirectiveSink&, const ConfigNode& n, Scope& s) { s.vhost.server_admin = n.args[0]; }

constexpr uint8_t kAny = kSV | kPerDir;

constexpr DirectiveSpec kTable[] = {
    // mod_setenvif
    {"SetEnvIf", 3, -1, kAny, false, d_setenvif, "SetEnvIf ATTRIBUTE REGEX [!]VAR[=VALUE]...", kOrFileInfo},
    {"SetEnvIfNoCase", 3, -1, kAny, false, d_setenvif, "SetEnvIfNoCase ATTRIBUTE REGEX [!]VAR[=VALUE]...", kOrFileInfo},
    {"BrowserMatch", 2, -1, kAny, false, d_browser_match, "BrowserMatch REGEX [!]VAR[=VALUE]...", kOrFileInfo},
    {"BrowserMatchNoCase", 2, -1, kAny, false, d_browser_match, "BrowserMatchNoCase REGEX [!]VAR[=VALUE]...", kOrFileInfo},
    // mod_env
    {"SetEnv", 1, 2, kAny, false, d_set_env, "SetEnv NAME [VALUE]", kOrFileInfo},
    {"UnsetEnv", 1, -1, kAny, false, d_unset_env, "UnsetEnv NAME...", kOrFileInfo},
    {"PassEnv", 1, -1, kAny, false, d_pass_env, "PassEnv NAME..."},
    // mod_headers
    {"Header", 2, 6, kAny, false, d_header,
     "Header [always|onsuccess] add|append|echo|edit|edit*|merge|set|setifempty|unset|note HEADER [VALUE] [REPLACEMENT] "
     "[early|env=[!]VAR|expr=EXPR]", kOrFileInfo},
    {"RequestHeader", 2, 5, kAny, false, d_header,
     "RequestHeader add|append|edit|edit*|merge|set|setifempty|unset HEADER [VALUE] [REPLACEMENT] [early|env=[!]VAR|expr=EXPR]", kOrFileInfo},
    // mod_expires
    {"ExpiresActive", 1, 1, kAny, false, d_expires_active, "ExpiresActive On|Off", kOrIndexes},
    {"ExpiresDefault", 1, 1, kAny, false, d_expires_default, "ExpiresDefault \"access plus 1 month\" | A2592000", kOrIndexes},
    {"ExpiresByType", 2, 2, kAny, false, d_expires_by_type, "ExpiresByType MEDIA-TYPE \"access plus 1 month\" | A2592000", kOrIndexes},
    // core
    {"ServerSignature", 1, 1, kAny, false, d_server_signature, "ServerSignature On|Off|EMail", kOrAll},
    {"ServerAdmin", 1, 1, kSV, false, d_server_admin, "ServerAdmin EMAIL|URL"},
};

}  // namespace

std::span<const DirectiveSpec> metadata_directives() { return kTable; }

}  // namespace pillar::config

#include "config/directives.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string fs_path(const Scope& s, std::string_view p) { return normalize_fs_path(p, s.server.server_root); }

// ---- listening and names ---------------------------------------------------

void d_listen(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args.size() == 2 && !http::iequals(n.args[1], "http")) {
    out.error(n, "Listen protocol '" + n.args[1] + "' is not supported; only http (TLS is not built yet)");
    return;
  }
  ListenAddress la;
  std::string why;
  if (!parse_listen(n.args[0], la, why)) return out.error(n, why);
  for (const auto& l : s.server.listens) {
    if (l.port != 0 && l.text == la.text) return out.error(n, "Listen " + la.text + " appears twice; remove one");
  }
  s.server.listens.push_back(std::move(la));
}

void d_listen_backlog(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], 1, 65535, v, why)) return out.error(n, "ListenBacklog: " + why);
  s.server.listen_backlog = static_cast<int>(v);
}

std::string host_of_server_name(std::string_view v) {
  size_t scheme = v.find("://");
  if (scheme != std::string_view::npos) v.remove_prefix(scheme + 3);
  if (!v.empty() && v[0] == '[') {
    size_t close = v.find(']');
    return lower(v.substr(0, close == std::string_view::npos ? v.size() : close + 1));
  }
  return lower(v.substr(0, v.find(':')));
}

void d_server_name(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string h = host_of_server_name(n.args[0]);
  if (h.empty()) return out.error(n, "ServerName needs a host name, e.g. ServerName www.example.com");
  s.vhost.server_name = h;
}

void d_server_alias(DirectiveSink&, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) s.vhost.aliases.push_back(lower(a));
}

void d_ignore(DirectiveSink&, const ConfigNode&, Scope&) {}

void d_server_tokens(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string v = lower(n.args[0]);
  if (v == "prod" || v == "productonly") s.server.server_tokens = "Pillar";
  else if (v == "major" || v == "minor" || v == "min" || v == "minimal" || v == "os" || v == "full")
    s.server.server_tokens = std::string("Pillar/") + PILLAR_VERSION_STRING;
  else out.error(n, "ServerTokens '" + n.args[0] + "' is not one of Prod, Major, Minor, Minimal, OS, Full");
}

void d_hostname_lookups(DirectiveSink& out, const ConfigNode& n, Scope&) {
  if (!http::iequals(n.args[0], "off"))
    out.error(n, "HostnameLookups " + n.args[0] + " is not supported; Pillar never resolves client names (use Off)");
}

// ---- documents ---------------------------------------------------------------

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
    if (http::iequals(w, "None")) bit = 0;
    else if (http::iequals(w, "All"))
      bit = Options::Indexes | Options::FollowSymLinks | Options::ExecCGI | Options::Includes |
            Options::SymLinksIfOwnerMatch;
    else if (http::iequals(w, "Indexes")) bit = Options::Indexes;
    else if (http::iequals(w, "FollowSymLinks")) bit = Options::FollowSymLinks;
    else if (http::iequals(w, "SymLinksIfOwnerMatch")) bit = Options::SymLinksIfOwnerMatch;
    else if (http::iequals(w, "ExecCGI")) bit = Options::ExecCGI;
    else if (http::iequals(w, "Includes") || http::iequals(w, "IncludesNOEXEC")) bit = Options::Includes;
    else if (http::iequals(w, "MultiViews")) bit = Options::MultiViews;
    else
      return out.error(n, "Options '" + a + "' is unknown; use None, All, Indexes, FollowSymLinks, "
                                           "SymLinksIfOwnerMatch, ExecCGI, Includes or MultiViews, optionally with + or -");
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

void d_allow_override(DirectiveSink& out, const ConfigNode& n, Scope&) {
  if (n.args.size() == 1 && http::iequals(n.args[0], "None")) return;
  out.error(n, n.name + " " + n.args[0] +
                   ": Pillar does not read .htaccess files, so what they protect would be exposed; move their "
                   "directives into this <Directory> and write " + n.name + " None");
}

// ---- access control -----------------------------------------------------------

bool parse_networks(DirectiveSink& out, const ConfigNode& n, size_t from, std::vector<IpNetwork>& nets) {
  for (size_t i = from; i < n.args.size(); ++i) {
    IpNetwork net;
    std::string why;
    if (!parse_network(n.args[i], net, why)) {
      out.error(n, why + " (host names are not supported: Pillar never resolves client names)");
      return false;
    }
    nets.push_back(net);
  }
  return true;
}

// One Require line's rule; false (with the error reported) when malformed.
bool parse_require_rule(DirectiveSink& out, const ConfigNode& n, RequireRule& r) {
  size_t i = 0;
  bool negate = false;
  if (http::iequals(n.args[0], "not")) {
    negate = true;
    i = 1;
    if (n.args.size() < 2) return (out.error(n, "Require not needs a rule, e.g. Require not ip 10.0.0.0/8"), false);
  }
  std::string_view kind = n.args[i];
  if (http::iequals(kind, "all") && !negate) {
    if (n.args.size() != 2) return (out.error(n, "write Require all granted or Require all denied"), false);
    if (http::iequals(n.args[1], "granted")) r.kind = RequireRule::Kind::AllGranted;
    else if (http::iequals(n.args[1], "denied")) r.kind = RequireRule::Kind::AllDenied;
    else return (out.error(n, "Require all " + n.args[1] + ": write Require all granted or Require all denied"), false);
  } else if (http::iequals(kind, "ip")) {
    if (n.args.size() <= i + 1) return (out.error(n, "Require ip needs at least one address or network"), false);
    r.kind = negate ? RequireRule::Kind::NotIp : RequireRule::Kind::Ip;
    if (!parse_networks(out, n, i + 1, r.networks)) return false;
  } else if (http::iequals(kind, "local") && !negate) {
    r.kind = RequireRule::Kind::Local;
  } else if (http::iequals(kind, "host") || http::iequals(kind, "forward-dns")) {
    out.error(n, "Require " + std::string(kind) + " is not supported (no DNS lookups); use Require ip");
    return false;
  } else {
    out.error(n, "Require " + std::string(kind) +
                     " is not supported; use Require all granted|denied, Require [not] ip ADDRESS..., or Require local");
    return false;
  }
  return true;
}

void d_require(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  RequireRule r;
  if (parse_require_rule(out, n, r)) scope_access(s)->require.push_back(std::move(r));
}

void d_order(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  AccessPolicy* p = scope_access(s);
  std::string v;
  for (const auto& a : n.args) v += lower(a);  // "Deny, Allow" written with a space
  if (v == "deny,allow") p->order = AccessPolicy::Order::DenyAllow;
  else if (v == "allow,deny") p->order = AccessPolicy::Order::AllowDeny;
  else if (v == "mutual-failure") p->order = AccessPolicy::Order::MutualFailure;
  else return out.error(n, "Order " + v + " is unknown; use Deny,Allow or Allow,Deny (no spaces) or Mutual-failure");
  p->legacy = true;
}

void d_allow_deny(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  AccessPolicy* p = scope_access(s);
  bool allow = http::iequals(n.name, "Allow");
  if (!http::iequals(n.args[0], "from") || n.args.size() < 2)
    return out.error(n, n.name + " needs 'from', e.g. " + n.name + " from 10.0.0.0/8 or " + n.name + " from all");
  p->legacy = true;
  if (n.args.size() == 2 && http::iequals(n.args[1], "all")) {
    (allow ? p->allow_all : p->deny_all) = true;
    return;
  }
  if (n.args[1].rfind("env=", 0) == 0)
    return out.error(n, n.name + " from env=... is not supported; use Require ip");
  parse_networks(out, n, 1, allow ? p->allow : p->deny);
}

// ---- content -----------------------------------------------------------------

void d_enable_sendfile(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_on_off(n.args[0], s.server.enable_sendfile, why)) out.error(n, "EnableSendfile: " + why);
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
    std::string ext = lower(n.args[i]);
    if (ext.empty() || ext == ".") return out.error(n, "AddType: empty extension");
    if (ext[0] != '.') ext.insert(0, ".");
    s.vhost.add_types[ext] = n.args[0];
  }
}

void d_types_config(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string p = fs_path(s, n.args[0]);
  if (access(p.c_str(), R_OK) != 0) return out.error(n, "TypesConfig " + p + " cannot be read; correct the path");
  s.server.types_config = p;
}

void d_set_handler(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string v = lower(n.args[0]);
  HandlerKind k;
  if (v == "server-status") k = HandlerKind::ServerStatus;
  else if (v == "metrics" || v == "pillar-metrics") k = HandlerKind::Metrics;
  else if (v == "pillar-welcome") k = HandlerKind::Welcome;
  else if (v == "balancer-manager") k = HandlerKind::BalancerManager;
  else if (v == "none" || v == "default-handler") k = HandlerKind::Default;
  else
    return out.error(n, "SetHandler " + n.args[0] +
                            " is unknown; use server-status, pillar-metrics, balancer-manager, pillar-welcome or None");
  s.loc->handler = k;
}

// ---- connections -----------------------------------------------------------------

template <Millis ServerConfig::*Field>
void d_duration(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  Millis v;
  if (!parse_duration(n.args[0], v, why)) return out.error(n, n.name + ": " + why);
  s.server.*Field = v;
}

void d_keep_alive(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_on_off(n.args[0], s.server.keep_alive, why)) out.error(n, "KeepAlive: " + why);
}

template <typename T, T ServerConfig::*Field, uint64_t Min, uint64_t Max, T ZeroMeans>
void d_count(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], Min, Max, v, why)) return out.error(n, n.name + ": " + why);
  s.server.*Field = v == 0 ? ZeroMeans : static_cast<T>(v);
}

void d_limit_request_body(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_size(n.args[0], s.server.limit_request_body, why)) out.error(n, "LimitRequestBody: " + why);
}

// RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500
void d_request_read_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    std::string_view w = a;
    size_t eq = w.find('=');
    std::string type = lower(w.substr(0, eq));
    ReadTimeout* t = type == "header" ? &s.server.header_timeout : type == "body" ? &s.server.body_timeout : nullptr;
    if (eq == std::string_view::npos || (!t && type != "handshake"))
      return out.error(n, "RequestReadTimeout '" + a + "': write header=20-40,MinRate=500 body=20,MinRate=500");
    if (!t) continue;  // handshake: TLS is not built yet
    ReadTimeout r;
    std::string_view v = w.substr(eq + 1);
    std::string_view times = v.substr(0, v.find(','));
    std::string why;
    uint64_t lo, hi = 0;
    size_t dash = times.find('-');
    if (!parse_uint(times.substr(0, dash), 0, 86400, lo, why) ||
        (dash != std::string_view::npos && !parse_uint(times.substr(dash + 1), lo, 86400, hi, why)))
      return out.error(n, "RequestReadTimeout " + type + ": " + why);
    r.initial = Millis(lo * 1000);
    r.maximum = Millis(hi * 1000);
    if (v.find(',') != std::string_view::npos) {
      std::string_view rate = v.substr(v.find(',') + 1);
      if (rate.size() < 8 || !http::iequals(rate.substr(0, 8), "minrate="))
        return out.error(n, "RequestReadTimeout " + type + ": expected ,MinRate=BYTES_PER_SECOND");
      uint64_t mr;
      if (!parse_uint(rate.substr(8), 1, UINT32_MAX, mr, why))
        return out.error(n, "RequestReadTimeout MinRate: " + why);
      r.min_rate = static_cast<uint32_t>(mr);
    }
    *t = r;
  }
}

// ---- logging -------------------------------------------------------------------

bool log_path(DirectiveSink& out, const ConfigNode& n, const Scope& s, std::string_view v, std::string& path) {
  if (!v.empty() && v[0] == '|')
    return out.error(n, n.name + ": piped logs are not supported; log to a file and rotate it with logrotate"), false;
  if (v.rfind("syslog", 0) == 0)
    return out.error(n, n.name + ": syslog is not supported; log to a file or to stderr (journald collects it)"), false;
  path = (v == "stderr" || v == "/dev/stderr") ? "stderr" : fs_path(s, v);
  return true;
}

void d_error_log(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string p;
  if (!log_path(out, n, s, n.args[0], p)) return;
  if (s.ctx == kVHost) s.vhost.error_log = p;
  else s.server.error_log = p == "stderr" ? "" : p;
}

void d_log_level(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
      {"emerg", LogLevel::Emerg}, {"alert", LogLevel::Alert}, {"crit", LogLevel::Crit},  {"error", LogLevel::Error},
      {"warn", LogLevel::Warn},   {"notice", LogLevel::Notice}, {"info", LogLevel::Info}, {"debug", LogLevel::Debug}};
  for (const auto& a : n.args) {
    if (a.find(':') != std::string::npos) continue;  // per-module levels: one level for all in Pillar
    std::string v = lower(a);
    if (v.rfind("trace", 0) == 0 && v.size() == 6 && v[5] >= '1' && v[5] <= '8') v = "debug";
    bool found = false;
    for (const auto& [name, lvl] : kLevels) {
      if (v == name) {
        if (s.ctx == kServer) s.server.log_level = lvl;
        found = true;
      }
    }
    if (!found)
      return out.error(n, "LogLevel '" + a + "' is unknown; use emerg, alert, crit, error, warn, notice, info, debug or trace1-8");
  }
}

void d_log_format(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args.size() == 1) return out.notice(n, "LogFormat without a nickname ignored (Pillar has no TransferLog)");
  s.vhost.log_formats[n.args[1]] = n.args[0];
}

void d_custom_log(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args.size() == 3)
    return out.error(n, "CustomLog condition '" + n.args[2] + "' is not supported; remove it");
  CustomLog cl;
  if (!log_path(out, n, s, n.args[0], cl.path)) return;
  const std::string& f = n.args[1];
  // A nickname is looked up once the whole file is read (a LogFormat may
  // come later), as Apache does when it opens the logs.
  if (f.find('%') == std::string::npos) cl.nickname = f;
  else cl.format = f;
  cl.where = {n.file, n.line};
  if (s.ctx == kVHost && !s.custom_logs_replaced) {
    s.vhost.custom_logs.clear();
    s.custom_logs_replaced = true;
  }
  s.vhost.custom_logs.push_back(std::move(cl));
}

// ---- process model -------------------------------------------------------------

template <typename T, T ProcessConfig::*Field, uint64_t Min, uint64_t Max, bool ProcessConfig::*Flag = nullptr>
void d_process_count(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], Min, Max, v, why)) return out.error(n, n.name + ": " + why);
  s.server.process.*Field = static_cast<T>(v);
  if constexpr (Flag != nullptr) s.server.process.*Flag = true;
}

void d_max_memory_per_child(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_size(n.args[0], s.server.process.max_memory_per_child, why)) return out.error(n, "MaxMemoryPerChild: " + why);
  if (s.server.process.max_memory_per_child != 0 && s.server.process.max_memory_per_child < (8u << 20))
    out.error(n, "MaxMemoryPerChild " + n.args[0] + " is below a worker's own baseline; use at least 8M (or 0 for no limit)");
}

void d_graceful_shutdown_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_duration(n.args[0], s.server.process.graceful_shutdown_timeout, why))
    out.error(n, "GracefulShutdownTimeout: " + why);
}

void d_extended_status(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_on_off(n.args[0], s.server.process.extended_status, why)) out.error(n, "ExtendedStatus: " + why);
}

template <std::string ProcessConfig::*Field>
void d_process_string(DirectiveSink&, const ConfigNode& n, Scope& s) {
  s.server.process.*Field = n.args[0];
}

void d_pid_file(DirectiveSink&, const ConfigNode& n, Scope& s) { s.server.process.pid_file = fs_path(s, n.args[0]); }
void d_control_socket(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string p = fs_path(s, n.args[0]);
  if (p.size() >= 100) return out.error(n, "PillarControlSocket path is too long for a unix socket; use a shorter path");
  s.server.process.control_socket = p;
}

// ---- VRRP ------------------------------------------------------------------------

void v_interface(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args[0].size() >= 16) return out.error(n, "Interface " + n.args[0] + ": interface names are at most 15 characters");
  s.vrrp->interface = n.args[0];
}

template <uint8_t VrrpInstance::*Field, uint64_t Min, uint64_t Max>
void v_byte(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], Min, Max, v, why)) return out.error(n, n.name + ": " + why);
  s.vrrp->*Field = static_cast<uint8_t>(v);
}

void v_advert_interval(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  Millis d;
  std::string why;
  if (!parse_duration(n.args[0], d, why)) return out.error(n, "AdvertInterval: " + why);
  if (d.count() < 10 || d.count() > 40950 || d.count() % 10 != 0)
    return out.error(n, "AdvertInterval " + n.args[0] + ": use 10ms to 40.95s in steps of 10ms (e.g. 100ms, 1s)");
  s.vrrp->advert_interval_cs = static_cast<uint16_t>(d.count() / 10);
}

void v_virtual_address(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    VrrpInstance::Address va;
    std::string ip = a.substr(0, a.find('/'));
    if (inet_pton(AF_INET, ip.c_str(), &va.addr) != 1)
      return out.error(n, "VirtualAddress " + a + " is not an IPv4 address (write 10.0.0.10 or 10.0.0.10/24)");
    if (a.find('/') != std::string::npos) {
      uint64_t p;
      std::string why;
      if (!parse_uint(std::string_view(a).substr(a.find('/') + 1), 1, 32, p, why))
        return out.error(n, "VirtualAddress " + a + ": prefix " + why);
      va.prefix = static_cast<uint8_t>(p);
    }
    s.vrrp->addresses.push_back(va);
  }
}

void v_unicast_peer(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    in_addr ip{};
    if (inet_pton(AF_INET, a.c_str(), &ip) != 1) return out.error(n, "UnicastPeer " + a + " is not an IPv4 address");
    s.vrrp->unicast_peers.push_back(ip);
  }
}

template <bool VrrpInstance::*Field>
void v_flag(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_on_off(n.args[0], s.vrrp->*Field, why)) out.error(n, n.name + ": " + why);
}

void v_preempt_delay(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_duration(n.args[0], s.vrrp->preempt_delay, why)) out.error(n, "PreemptDelay: " + why);
}

template <std::string VrrpInstance::*Field>
void v_command(DirectiveSink&, const ConfigNode& n, Scope& s) {
  std::string cmd = n.args[0];
  for (size_t i = 1; i < n.args.size(); ++i) cmd += " " + n.args[i];
  s.vrrp->*Field = cmd;
}

void v_track_health(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_on_off(n.args[0], s.vrrp->track_health, why)) return out.error(n, "TrackHealth: " + why);
  if (n.args.size() == 2 && !parse_duration(n.args[1], s.vrrp->track_interval, why))
    out.error(n, "TrackHealth interval: " + why);
}

void v_version(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args[0] == "2") s.vrrp->version = 2;
  else if (n.args[0] == "3") s.vrrp->version = 3;
  else out.error(n, "VrrpVersion " + n.args[0] + ": use 3 (RFC 5798) or 2 (RFC 3768, keepalived's default)");
}

// ---- reverse proxy ----------------------------------------------------------------

bool proxy_directive_target(DirectiveSink& out, const ConfigNode& n, Scope& s, std::string_view prefix,
                            std::string_view url, size_t first_param) {
  LocationSection l;
  l.prefix = std::string(prefix);
  l.where = {n.file, n.line};
  if (url == "!") {  // an exclusion: this prefix is served locally
    l.handler = HandlerKind::Default;
    l.proxy_excluded = true;
    s.vhost.locations.push_back(std::move(l));
    return true;
  }
  l.handler = HandlerKind::Proxy;
  for (size_t i = first_param; i < n.args.size(); ++i) {
    std::string_view kv = n.args[i];
    if (kv.rfind("when-header=", 0) == 0) {
      std::string_view v = kv.substr(12);
      size_t colon = v.find(':');
      if (colon == std::string_view::npos || colon == 0)
        return out.error(n, "when-header= takes NAME:VALUE, e.g. when-header=X-Tenant:acme"), false;
      l.when_header = std::string(v.substr(0, colon));
      l.when_value = std::string(v.substr(colon + 1));
    } else if (kv.rfind("when-network=", 0) == 0) {
      IpNetwork net;
      std::string why;
      if (!parse_network(kv.substr(13), net, why)) return out.error(n, "when-network=: " + why), false;
      l.when_networks.push_back(net);
    }
  }
  if (url.rfind("balancer://", 0) == 0) {
    std::string_view rest = url.substr(11);
    size_t slash = rest.find('/');
    l.proxy.balancer_name = std::string(rest.substr(0, slash));
    l.proxy.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (l.proxy.balancer_name.empty()) return out.error(n, "ProxyPass " + std::string(url) + ": the balancer needs a name"), false;
    for (size_t i = first_param; i < n.args.size(); ++i) {
      if (n.args[i].rfind("when-", 0) != 0) l.proxy.params.push_back(n.args[i]);  // as Apache: ProxySet's, on this line
    }
  } else {
    // A direct target is a balancer of one member, named after the URL.
    BalancerConfig b;
    BalancerMemberConfig m;
    std::string why, path;
    if (!parse_member_url(url, m, path, why)) return out.error(n, "ProxyPass: " + why), false;
    m.url = std::string(url);
    b.members.push_back(m);
    b.where = {n.file, n.line};
    for (size_t i = first_param; i < n.args.size(); ++i) {
      if (n.args[i].rfind("when-", 0) == 0) continue;  // route conditions, below
      if (!apply_member_param(n.args[i], b.members[0], why) && !apply_balancer_param(n.args[i], b, why))
        return out.error(n, "ProxyPass: " + why), false;
    }
    l.proxy.balancer = static_cast<int>(s.server.balancers.size());
    l.proxy.path = path.empty() ? "/" : path;
    s.server.balancers.push_back(std::move(b));
  }
  s.vhost.locations.push_back(std::move(l));
  return true;
}

void d_proxy_pass(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (s.ctx == kLocation) {  // <Location /app> ProxyPass balancer://x/ </Location>
    s.loc->handler = HandlerKind::Proxy;
    std::string_view url = n.args[0];
    if (url == "!") {
      s.loc->handler = HandlerKind::Default;
      return;
    }
    Scope tmp = s;
    size_t before = s.vhost.locations.size();
    if (!proxy_directive_target(out, n, tmp, s.loc->prefix, url, 1)) return;
    s.loc->proxy = s.vhost.locations[before].proxy;  // take the target; drop the helper section
    s.vhost.locations.erase(s.vhost.locations.begin() + static_cast<std::ptrdiff_t>(before));
    return;
  }
  if (n.args.size() < 2) return out.error(n, "ProxyPass takes a path and a URL, e.g. ProxyPass /app/ balancer://app/");
  if (n.args[0].empty() || n.args[0][0] != '/') return out.error(n, "ProxyPass " + n.args[0] + ": the path must start with '/'");
  proxy_directive_target(out, n, s, n.args[0], n.args[1], 2);
}

// ProxyPassMatch REGEX URL: the regex is matched against the decoded path;
// $1..$9 in the URL's path take its groups. Checked before prefix
// ProxyPass/Location routes, in configuration order (first match wins).
void d_proxy_pass_match(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::shared_ptr<std::regex> re;
  try {
    re = std::make_shared<std::regex>(n.args[0], std::regex::extended);
  } catch (const std::regex_error& e) {
    return out.error(n, "ProxyPassMatch regular expression '" + n.args[0] + "' is invalid: " + e.what());
  }
  size_t before = s.vhost.locations.size();
  if (!proxy_directive_target(out, n, s, "/", n.args[1], 2)) return;
  auto& l = s.vhost.locations[before];
  l.prefix = n.args[0];
  l.match = re;
  if (l.handler == HandlerKind::Proxy && l.proxy.path.empty()) l.proxy.path = "/";
}

void d_proxy_pass_reverse(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string path, url;
  if (s.ctx == kLocation) {
    path = s.loc->prefix;
    url = n.args[0];
  } else {
    if (n.args.size() != 2) return out.error(n, "ProxyPassReverse takes a path and a URL, e.g. ProxyPassReverse /app/ http://10.0.0.5/");
    path = n.args[0];
    url = n.args[1];
  }
  s.vhost.proxy_reverse.emplace_back(url, path);
}

template <std::vector<std::pair<std::string, std::string>> VirtualHost::*Field>
void d_cookie_rewrite(DirectiveSink&, const ConfigNode& n, Scope& s) {
  (s.vhost.*Field).emplace_back(n.args[0], n.args[1]);
}

void d_proxy_preserve_host(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_on_off(n.args[0], s.vhost.proxy_preserve_host, why)) out.error(n, "ProxyPreserveHost: " + why);
}

void d_proxy_state_file(DirectiveSink&, const ConfigNode& n, Scope& s) {
  s.server.proxy_state_file = fs_path(s, n.args[0]);
}

void d_proxy_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_duration(n.args[0], s.server.proxy_timeout, why)) out.error(n, "ProxyTimeout: " + why);
}

void d_balancer_member(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  BalancerMemberConfig m;
  std::string why, path;
  if (!parse_member_url(n.args[0], m, path, why)) return out.error(n, "BalancerMember: " + why);
  m.url = n.args[0];
  for (size_t i = 1; i < n.args.size(); ++i) {
    if (!apply_member_param(n.args[i], m, why)) return out.error(n, "BalancerMember: " + why);
  }
  for (const auto& o : s.balancer->members) {
    if (o.url == m.url) return out.error(n, "BalancerMember " + m.url + " appears twice in balancer://" + s.balancer->name);
    if (!m.route.empty() && o.route == m.route)
      return out.error(n, "BalancerMember route=" + m.route + " is already used by " + o.url + "; routes must be unique");
  }
  s.balancer->members.push_back(std::move(m));
}

void d_proxy_set(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  for (const auto& kv : n.args) {
    if (!apply_balancer_param(kv, *s.balancer, why)) return out.error(n, "ProxySet: " + why);
  }
}

// ---- mod_remoteip ------------------------------------------------------------------

void d_remoteip_header(DirectiveSink&, const ConfigNode& n, Scope& s) { s.server.remoteip_header = n.args[0]; }

void d_remoteip_trusted(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    IpNetwork net;
    std::string why;
    if (!parse_network(a, net, why)) return out.error(n, n.name + ": " + why);
    s.server.remoteip_trusted.push_back(net);
  }
}

void d_remoteip_proxy_protocol(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_on_off(n.args[0], s.server.remoteip_proxy_protocol, why)) out.error(n, "RemoteIPProxyProtocol: " + why);
}

// ---- mod_cache -----------------------------------------------------------------

// CacheEnable mem|disk [/prefix]: both types name the one node-wide store.
// In <Location> the prefix is the location's.
void d_cache_enable(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (!http::iequals(n.args[0], "mem") && !http::iequals(n.args[0], "disk") && !http::iequals(n.args[0], "socache"))
    return out.error(n, "CacheEnable " + n.args[0] + ": the cache type must be mem (disk and socache name the same store)");
  std::string prefix = s.ctx == kLocation ? s.loc->prefix : "/";
  if (n.args.size() == 2) {
    if (s.ctx == kLocation) return out.error(n, "CacheEnable inside <Location> takes no URL; write CacheEnable mem");
    prefix = n.args[1];
    if (size_t scheme = prefix.find("://"); scheme != std::string::npos) {
      size_t path = prefix.find('/', scheme + 3);
      prefix = path == std::string::npos ? "/" : prefix.substr(path);
    }
    if (prefix.empty() || prefix[0] != '/') return out.error(n, "CacheEnable " + n.args[1] + ": the URL path must start with '/'");
  }
  s.vhost.cache.rules.push_back({prefix, true});
}

void d_cache_disable(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string prefix = n.args[0];
  if (s.ctx == kLocation) {
    if (!http::iequals(n.args[0], "on")) return out.error(n, "CacheDisable inside <Location> is written CacheDisable on");
    prefix = s.loc->prefix;
  } else if (prefix.empty() || prefix[0] != '/') {
    return out.error(n, "CacheDisable " + n.args[0] + ": give a URL path starting with '/'");
  }
  s.vhost.cache.rules.push_back({prefix, false});
}

template <int64_t CacheConfig::*Field>
void d_cache_seconds(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  Millis v;
  std::string why;
  if (!parse_duration(n.args[0], v, why)) return out.error(n, n.name + ": " + why);
  s.vhost.cache.*Field = v.count() / 1000;
}

template <bool CacheConfig::*Field>
void d_cache_flag(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_on_off(n.args[0], s.vhost.cache.*Field, why)) out.error(n, n.name + ": " + why);
}

void d_cache_heuristic(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  const std::string& v = n.args[0];
  if (http::iequals(v, "off")) s.vhost.cache.heuristic = CacheHeuristic::Off;
  else if (http::iequals(v, "lastmodified")) s.vhost.cache.heuristic = CacheHeuristic::LastModified;
  else if (http::iequals(v, "on")) s.vhost.cache.heuristic = CacheHeuristic::On;
  else out.error(n, "CacheHeuristic " + v + ": give Off, LastModified or On");
}

void d_cache_lm_factor(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  char* end = nullptr;
  double v = std::strtod(n.args[0].c_str(), &end);
  if (end == n.args[0].c_str() || *end || v < 0 || v > 10)
    return out.error(n, "CacheLastModifiedFactor " + n.args[0] + ": give a fraction such as 0.1");
  s.vhost.cache.lm_factor = v;
}

void d_cache_max_object_size(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_size(n.args[0], s.vhost.cache.max_object_size, why)) out.error(n, n.name + ": " + why);
}

void d_cache_size(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  uint64_t v;
  if (!parse_size(n.args[0], v, why)) return out.error(n, "CacheSize: " + why);
  if (v < (1u << 20)) return out.error(n, "CacheSize " + n.args[0] + " is too small; give at least 1M");
  s.server.cache_size = v;
}

void d_cache_lock(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_on_off(n.args[0], s.server.cache_lock, why)) out.error(n, "CacheLock: " + why);
}

void d_cache_lock_max_age(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  if (!parse_duration(n.args[0], s.server.cache_lock_max_age, why)) out.error(n, "CacheLockMaxAge: " + why);
}

void d_cache_purge_require(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  RequireRule r;
  if (parse_require_rule(out, n, r)) s.vhost.cache.purge.require.push_back(std::move(r));
}

constexpr uint8_t kSV = kServer | kVHost;
constexpr uint8_t kPerDir = kDirectory | kFiles | kLocation;

constexpr DirectiveSpec kDirectives[] = {
    {"AdvertInterval", 1, 1, kVrrp, false, v_advert_interval, "AdvertInterval DURATION (e.g. 100ms, 1s)"},
    {"AcceptMode", 1, 1, kVrrp, false, v_flag<&VrrpInstance::accept_mode>, "AcceptMode On|Off"},
    {"Interface", 1, 1, kVrrp, false, v_interface, "Interface NAME"},
    {"NotifyBackup", 1, -1, kVrrp, false, v_command<&VrrpInstance::notify_backup>, "NotifyBackup COMMAND"},
    {"NotifyFault", 1, -1, kVrrp, false, v_command<&VrrpInstance::notify_fault>, "NotifyFault COMMAND"},
    {"NotifyMaster", 1, -1, kVrrp, false, v_command<&VrrpInstance::notify_master>, "NotifyMaster COMMAND"},
    {"Preempt", 1, 1, kVrrp, false, v_flag<&VrrpInstance::preempt>, "Preempt On|Off"},
    {"PreemptDelay", 1, 1, kVrrp, false, v_preempt_delay, "PreemptDelay DURATION"},
    {"Priority", 1, 1, kVrrp, false, v_byte<&VrrpInstance::priority, 1, 255>, "Priority 1-255"},
    {"TrackHealth", 1, 2, kVrrp, false, v_track_health, "TrackHealth On|Off [INTERVAL]"},
    {"UnicastPeer", 1, -1, kVrrp, false, v_unicast_peer, "UnicastPeer IPv4..."},
    {"VirtualAddress", 1, -1, kVrrp, false, v_virtual_address, "VirtualAddress IPv4[/PREFIX]..."},
    {"VirtualRouterId", 1, 1, kVrrp, false, v_byte<&VrrpInstance::vrid, 1, 255>, "VirtualRouterId 1-255"},
    {"VrrpVersion", 1, 1, kVrrp, false, v_version, "VrrpVersion 2|3"},
    {"BalancerMember", 1, -1, kProxy, false, d_balancer_member, "BalancerMember http://HOST[:PORT] [route=R loadfactor=N status=+H ...]"},
    {"ProxyPass", 1, -1, kServer | kVHost | kLocation, false, d_proxy_pass, "ProxyPass /PATH URL|balancer://NAME/|! [key=value...]"},
    {"ProxyPassMatch", 2, -1, kServer | kVHost, false, d_proxy_pass_match, "ProxyPassMatch REGEX URL|balancer://NAME/..."},
    {"ProxyPassReverse", 1, 2, kServer | kVHost | kLocation, false, d_proxy_pass_reverse, "ProxyPassReverse /PATH URL"},
    {"ProxyPassReverseCookieDomain", 2, 2, kServer | kVHost, false, d_cookie_rewrite<&VirtualHost::cookie_domain>,
     "ProxyPassReverseCookieDomain INTERNAL-DOMAIN PUBLIC-DOMAIN"},
    {"ProxyPassReverseCookiePath", 2, 2, kServer | kVHost, false, d_cookie_rewrite<&VirtualHost::cookie_path>,
     "ProxyPassReverseCookiePath /INTERNAL-PATH /PUBLIC-PATH"},
    {"ProxyPreserveHost", 1, 1, kServer | kVHost, false, d_proxy_preserve_host, "ProxyPreserveHost On|Off"},
    {"ProxySet", 1, -1, kProxy, false, d_proxy_set, "ProxySet lbmethod=byrequests|bytraffic|bybusyness|sourcehash|hash stickysession=NAME ..."},
    {"ProxyTimeout", 1, 1, kServer, false, d_proxy_timeout, "ProxyTimeout DURATION"},
    {"ProxyStateFile", 1, 1, kServer, false, d_proxy_state_file, "ProxyStateFile PATH"},
    {"RemoteIPHeader", 1, 1, kSV, true, d_remoteip_header, "RemoteIPHeader X-Forwarded-For"},
    {"RemoteIPInternalProxy", 1, -1, kSV, true, d_remoteip_trusted, "RemoteIPInternalProxy ADDRESS|NETWORK..."},
    {"RemoteIPProxyProtocol", 1, 1, kSV, true, d_remoteip_proxy_protocol, "RemoteIPProxyProtocol On|Off"},
    {"RemoteIPTrustedProxy", 1, -1, kSV, true, d_remoteip_trusted, "RemoteIPTrustedProxy ADDRESS|NETWORK..."},
    {"CacheDefaultExpire", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::default_expire>, "CacheDefaultExpire SECONDS"},
    {"CacheDisable", 1, 1, kSV | kLocation, false, d_cache_disable, "CacheDisable /PATH (in <Location>: CacheDisable on)"},
    {"CacheEnable", 1, 2, kSV | kLocation, false, d_cache_enable, "CacheEnable mem [/PATH]"},
    {"CacheGrace", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::grace>, "CacheGrace SECONDS"},
    {"CacheHeader", 1, 1, kSV, false, d_cache_flag<&CacheConfig::header>, "CacheHeader On|Off"},
    {"CacheHeuristic", 1, 1, kSV, false, d_cache_heuristic, "CacheHeuristic Off|LastModified|On"},
    {"CacheHitForPass", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::hit_for_pass>, "CacheHitForPass SECONDS"},
    {"CacheIgnoreCacheControl", 1, 1, kSV, false, d_cache_flag<&CacheConfig::ignore_cache_control>, "CacheIgnoreCacheControl On|Off"},
    {"CacheLastModifiedFactor", 1, 1, kSV, false, d_cache_lm_factor, "CacheLastModifiedFactor FRACTION"},
    {"CacheLock", 1, 1, kServer, false, d_cache_lock, "CacheLock On|Off"},
    {"CacheLockMaxAge", 1, 1, kServer, false, d_cache_lock_max_age, "CacheLockMaxAge SECONDS"},
    {"CacheLockMaxWaiters", 1, 1, kServer, false, d_count<uint32_t, &ServerConfig::cache_lock_max_waiters, 1, 1000000, 10000>,
     "CacheLockMaxWaiters COUNT"},
    {"CacheMaxExpire", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::max_expire>, "CacheMaxExpire SECONDS"},
    {"CacheMaxFileSize", 1, 1, kSV, false, d_cache_max_object_size, "CacheMaxFileSize BYTES"},
    {"CacheMaxObjectSize", 1, 1, kSV, false, d_cache_max_object_size, "CacheMaxObjectSize BYTES"},
    {"CacheMinExpire", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::min_expire>, "CacheMinExpire SECONDS"},
    {"CachePurgeRequire", 1, -1, kSV, false, d_cache_purge_require, "CachePurgeRequire all granted|[not] ip ADDRESS...|local"},
    {"CacheSize", 1, 1, kServer, false, d_cache_size, "CacheSize SIZE (e.g. 256M)"},
    {"CacheStaleIfError", 1, 1, kSV, false, d_cache_seconds<&CacheConfig::stale_if_error>, "CacheStaleIfError SECONDS"},
    {"CacheStoreCookies", 1, 1, kSV, false, d_cache_flag<&CacheConfig::store_cookies>, "CacheStoreCookies On|Off"},
    {"AddType", 2, -1, kSV | kDirectory, false, d_add_type, "AddType MIME-TYPE .EXT..."},
    {"Allow", 1, -1, kPerDir, false, d_allow_deny, "Allow from all|ADDRESS..."},
    {"AllowOverride", 1, -1, kDirectory, false, d_allow_override, "AllowOverride None"},
    {"AllowOverrideList", 1, -1, kDirectory, false, d_allow_override, "AllowOverrideList None"},
    {"CustomLog", 2, 3, kSV, false, d_custom_log, "CustomLog PATH FORMAT|NICKNAME"},
    {"Deny", 1, -1, kPerDir, false, d_allow_deny, "Deny from all|ADDRESS..."},
    {"DirectoryIndex", 1, -1, kSV, false, d_directory_index, "DirectoryIndex FILE... | disabled"},
    {"DocumentRoot", 1, 1, kSV, false, d_document_root, "DocumentRoot DIRECTORY"},
    {"EnableSendfile", 1, 1, kServer | kVHost | kDirectory, true, d_enable_sendfile, "EnableSendfile On|Off"},
    {"ErrorDocument", 2, -1, kSV, false, d_error_document, "ErrorDocument STATUS /path|URL|\"text\""},
    {"ExtendedStatus", 1, 1, kServer, false, d_extended_status, "ExtendedStatus On|Off"},
    {"GracefulShutdownTimeout", 1, 1, kServer, false, d_graceful_shutdown_timeout, "GracefulShutdownTimeout SECONDS"},
    {"Group", 1, 1, kServer, false, d_process_string<&ProcessConfig::group>, "Group NAME|#GID"},
    {"MaxClients", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::max_request_workers, 1, 10000000, &ProcessConfig::set_max_request_workers>,
     "MaxClients COUNT"},
    {"MaxConnectionsPerChild", 1, 1, kServer, false,
     d_process_count<uint64_t, &ProcessConfig::max_connections_per_child, 0, UINT64_MAX>, "MaxConnectionsPerChild COUNT"},
    {"MaxMemoryPerChild", 1, 1, kServer, false, d_max_memory_per_child, "MaxMemoryPerChild SIZE (e.g. 512M)"},
    {"MaxRequestWorkers", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::max_request_workers, 1, 10000000, &ProcessConfig::set_max_request_workers>,
     "MaxRequestWorkers COUNT"},
    {"MaxRequestsPerChild", 1, 1, kServer, false,
     d_process_count<uint64_t, &ProcessConfig::max_connections_per_child, 0, UINT64_MAX>, "MaxRequestsPerChild COUNT"},
    {"MaxSpareThreads", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::max_spare_threads, 1, 10000000, &ProcessConfig::set_max_spare>,
     "MaxSpareThreads COUNT"},
    {"MinSpareThreads", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::min_spare_threads, 1, 10000000, &ProcessConfig::set_min_spare>,
     "MinSpareThreads COUNT"},
    {"PidFile", 1, 1, kServer, false, d_pid_file, "PidFile PATH"},
    {"PillarControlSocket", 1, 1, kServer, false, d_control_socket, "PillarControlSocket PATH"},
    {"ServerLimit", 1, 1, kServer, false, d_process_count<uint32_t, &ProcessConfig::server_limit, 1, 1024>,
     "ServerLimit COUNT"},
    {"StartServers", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::start_servers, 1, 1024, &ProcessConfig::set_start_servers>,
     "StartServers COUNT"},
    {"ThreadLimit", 1, 1, kServer, false, d_process_count<uint32_t, &ProcessConfig::thread_limit, 1, 100000>,
     "ThreadLimit COUNT"},
    {"ThreadsPerChild", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::threads_per_child, 1, 100000, &ProcessConfig::set_threads_per_child>,
     "ThreadsPerChild COUNT"},
    {"User", 1, 1, kServer, false, d_process_string<&ProcessConfig::user>, "User NAME|#UID"},
    {"EventThreadsPerChild", 1, 1, kServer, false, d_count<int, &ServerConfig::event_threads, 0, 1024, 0>,
     "EventThreadsPerChild COUNT (0 = one per CPU)"},
    {"ErrorLog", 1, 1, kSV, false, d_error_log, "ErrorLog PATH|stderr"},
    {"HostnameLookups", 1, 1, kSV | kDirectory, false, d_hostname_lookups, "HostnameLookups Off"},
    {"KeepAlive", 1, 1, kSV, true, d_keep_alive, "KeepAlive On|Off"},
    {"KeepAliveTimeout", 1, 1, kSV, true, d_duration<&ServerConfig::keep_alive_timeout>, "KeepAliveTimeout SECONDS"},
    {"LimitRequestBody", 1, 1, kSV | kPerDir, true, d_limit_request_body, "LimitRequestBody BYTES (0 = unlimited)"},
    {"LimitRequestFieldSize", 1, 1, kSV, true,
     d_count<uint32_t, &ServerConfig::limit_request_field_size, 1, 65536, 8190>, "LimitRequestFieldSize BYTES"},
    {"LimitRequestFields", 1, 1, kSV, true,
     d_count<uint32_t, &ServerConfig::limit_request_fields, 0, 32767, 32767>, "LimitRequestFields COUNT"},
    {"LimitRequestLine", 1, 1, kSV, true, d_count<uint32_t, &ServerConfig::limit_request_line, 1, 65536, 8190>,
     "LimitRequestLine BYTES"},
    {"Listen", 1, 2, kServer, false, d_listen, "Listen [IP:]PORT"},
    {"ListenBacklog", 1, 1, kServer, false, d_listen_backlog, "ListenBacklog COUNT"},
    {"LogFormat", 1, 2, kSV, false, d_log_format, "LogFormat \"FORMAT\" NICKNAME"},
    {"LogLevel", 1, -1, kSV | kDirectory, true, d_log_level, "LogLevel LEVEL"},
    {"MaxKeepAliveRequests", 1, 1, kSV, true,
     d_count<uint32_t, &ServerConfig::max_keep_alive_requests, 0, 1000000000, 0>, "MaxKeepAliveRequests COUNT"},
    {"Options", 1, -1, kSV | kDirectory, false, d_options, "Options [+|-]OPTION..."},
    {"Order", 1, 3, kPerDir, false, d_order, "Order Deny,Allow|Allow,Deny"},
    {"RequestReadTimeout", 1, 3, kSV, true, d_request_read_timeout, "RequestReadTimeout header=20-40,MinRate=500"},
    {"Require", 1, -1, kPerDir, false, d_require, "Require all granted|all denied|[not] ip ADDRESS...|local"},
    {"ServerAdmin", 1, 1, kSV, false, d_ignore, "ServerAdmin EMAIL"},
    {"ServerAlias", 1, -1, kVHost, false, d_server_alias, "ServerAlias NAME..."},
    {"ServerName", 1, 1, kSV, false, d_server_name, "ServerName HOST[:PORT]"},
    {"ServerSignature", 1, 1, kSV | kPerDir, false, d_ignore, "ServerSignature On|Off|EMail"},
    {"ServerTokens", 1, 1, kServer, false, d_server_tokens, "ServerTokens Prod|Full"},
    {"SetHandler", 1, 1, kLocation, false, d_set_handler, "SetHandler server-status|pillar-metrics|pillar-welcome|None"},
    {"Timeout", 1, 1, kSV, true, d_duration<&ServerConfig::timeout>, "Timeout SECONDS"},
    {"TypesConfig", 1, 1, kServer, false, d_types_config, "TypesConfig PATH"},
};

}  // namespace

bool parse_member_url(std::string_view url, BalancerMemberConfig& m, std::string& path, std::string& why) {
  if (url.rfind("https://", 0) == 0) {
    why = std::string(url) + ": https to members is not supported yet; use http://";
    return false;
  }
  if (url.rfind("http://", 0) != 0) {
    why = std::string(url) + ": write http://HOST[:PORT][/PATH]";
    return false;
  }
  std::string_view rest = url.substr(7);
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  std::string host;
  uint16_t port = 80;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return why = std::string(url) + ": unclosed [", false;
    host = std::string(hostport.substr(1, close - 1));
    hostport.remove_prefix(close + 1);
    if (!hostport.empty() && hostport[0] != ':') return why = std::string(url) + ": bad port", false;
    if (!hostport.empty()) hostport.remove_prefix(1);
  } else {
    size_t colon = hostport.find(':');
    host = std::string(hostport.substr(0, colon));
    hostport = colon == std::string_view::npos ? std::string_view() : hostport.substr(colon + 1);
  }
  if (!hostport.empty()) {
    uint64_t p;
    if (!parse_uint(hostport, 1, 65535, p, why)) return why = std::string(url) + ": port " + why, false;
    port = static_cast<uint16_t>(p);
  }
  if (host.empty()) return why = std::string(url) + ": no host", false;
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res) {
    why = std::string(url) + ": cannot resolve " + host;
    return false;
  }
  std::memcpy(&m.addr, res->ai_addr, res->ai_addrlen);
  m.addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  m.host = port == 80 ? host : host + ":" + std::to_string(port);
  m.port = port;
  return true;
}

bool apply_member_param(std::string_view kv, BalancerMemberConfig& m, std::string& why) {
  size_t eq = kv.find('=');
  std::string key = lower(kv.substr(0, eq));
  std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
  uint64_t num;
  Millis d;
  if (key == "route") {
    if (v.empty() || v.size() >= 32) return why = "route= needs 1 to 31 characters", false;
    m.route = std::string(v);
  } else if (key == "loadfactor") {
    if (!parse_uint(v, 1, 100, num, why)) return why = "loadfactor=" + why, false;
    m.loadfactor = static_cast<uint32_t>(num);
  } else if (key == "status") {
    bool on = true;
    for (char c : v) {
      if (c == '+') on = true;
      else if (c == '-') on = false;
      else if (c == 'D' || c == 'd') m.disabled = on;
      else if (c == 'H' || c == 'h') m.hot_standby = on;
      else if (c == 'S' || c == 's') m.stopped = on;
      else if (c == 'I' || c == 'i') m.ignore_errors = on;
      else if (c == 'E' || c == 'e' || c == 'N' || c == 'n') {
        // in error / draining: set at run time, accepted for compatibility
      } else {
        return why = "status=" + std::string(v) + ": use +D (disabled), +H (hot standby), +S (stopped), +I", false;
      }
    }
  } else if (key == "connectiontimeout" || key == "timeout" || key == "retry") {
    if (!parse_duration(v, d, why)) return why = key + "=" + why, false;
    (key == "timeout" ? m.timeout : key == "retry" ? m.retry : m.connect_timeout) = d;
  } else if (key == "hcmethod") {
    std::string v2(v);
    for (auto& ch : v2) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (v2 != "GET" && v2 != "HEAD" && v2 != "OPTIONS" && v2 != "TCP")
      return why = "hcmethod=" + std::string(v) + ": use GET, HEAD, OPTIONS or TCP", false;
    m.hc_method = v2;
  } else if (key == "hcuri") {
    if (v.empty() || v[0] != '/') return why = "hcuri= must start with '/'", false;
    m.hc_uri = std::string(v);
  } else if (key == "hcinterval" || key == "hctimeout") {
    if (!parse_duration(v, d, why)) return why = key + "=" + why, false;
    if (d.count() < 50) return why = key + "= must be at least 50ms", false;
    (key == "hcinterval" ? m.hc_interval : m.hc_timeout) = d;
  } else if (key == "hcpasses" || key == "hcfails") {
    if (!parse_uint(v, 1, 100, num, why)) return why = key + "=" + why, false;
    (key == "hcpasses" ? m.hc_passes : m.hc_fails) = static_cast<uint32_t>(num);
  } else if (key == "hcexpect") {
    if (!parse_uint(v, 100, 599, num, why)) return why = "hcexpect=" + why, false;
    m.hc_expect = static_cast<int>(num);
  } else if (key == "hcbody") {
    m.hc_body = std::string(v);
  } else if (key == "proxy_protocol") {
    if (v == "v1") m.proxy_protocol = 1;
    else if (v == "v2") m.proxy_protocol = 2;
    else if (v == "off" || v == "Off") m.proxy_protocol = 0;
    else return why = "proxy_protocol=" + std::string(v) + ": use v1, v2 or off", false;
  } else if (key == "failures") {
    if (!parse_uint(v, 1, 100, num, why)) return why = "failures=" + why, false;
    m.failures = static_cast<uint32_t>(num);
  } else if (key == "max") {
    if (!parse_uint(v, 0, 1000000, num, why)) return why = "max=" + why, false;
    m.max = static_cast<uint32_t>(num);
  } else if (key == "ttl" || key == "smax" || key == "keepalive" || key == "flushpackets" || key == "ping" ||
             key == "min" || key == "acquire" || key == "disablereuse" || key == "enablereuse") {
    // connection-pool tuning Apache exposes; Pillar sizes its pools itself
  } else {
    why = "unknown member parameter '" + key +
          "'; use route, loadfactor, status, connectiontimeout, timeout, max or retry";
    return false;
  }
  return true;
}

bool apply_balancer_param(std::string_view kv, BalancerConfig& b, std::string& why) {
  size_t eq = kv.find('=');
  std::string key = lower(kv.substr(0, eq));
  std::string_view v = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
  uint64_t num;
  if (key == "lbmethod") {
    std::string m = lower(v);
    if (m == "byrequests") b.lbmethod = LbMethod::ByRequests;
    else if (m == "bytraffic") b.lbmethod = LbMethod::ByTraffic;
    else if (m == "bybusyness") b.lbmethod = LbMethod::ByBusyness;
    else if (m == "sourcehash" || m == "source") b.lbmethod = LbMethod::SourceHash;
    else if (m == "hash" || m == "consistenthash") b.lbmethod = LbMethod::ConsistentHash;
    else return why = "lbmethod=" + std::string(v) + ": use byrequests, bytraffic, bybusyness, sourcehash or hash", false;
  } else if (key == "hashheader") {
    b.hash_header = std::string(v);
  } else if (key == "stickysession") {
    b.stickysession = std::string(v);
  } else if (key == "nofailover") {
    if (!parse_on_off(v, b.nofailover, why)) return why = "nofailover=" + why, false;
  } else if (key == "persistence") {
    Millis d;
    if (!parse_duration(v, d, why)) return why = "persistence=" + why, false;
    b.persistence = d;
  } else if (key == "maxattempts") {
    if (!parse_uint(v, 1, 100, num, why)) return why = "maxattempts=" + why, false;
    b.max_attempts = static_cast<uint32_t>(num);
  } else if (key == "timeout") {
    Millis d;
    if (!parse_duration(v, d, why)) return why = "timeout=" + why, false;
    b.queue_timeout = d;
  } else if (key == "scolonpathdelim" || key == "growth" || key == "forcerecovery" ||
             key == "failonstatus" || key == "failontimeout") {
    // accepted for compatibility
  } else {
    why = "unknown balancer parameter '" + key +
          "'; use lbmethod, stickysession, nofailover, persistence, maxattempts or hashheader";
    return false;
  }
  return true;
}

AccessPolicy* scope_access(Scope& s) {
  if (s.files) return &s.files->access;
  if (s.loc) return &s.loc->access;
  if (s.dir) return &s.dir->access;
  return nullptr;
}

const DirectiveSpec* find_directive(std::string_view name) {
  for (const auto& d : kDirectives) {
    if (http::iequals(d.name, name)) return &d;
  }
  return nullptr;
}

std::string context_name(Context c) {
  switch (c) {
    case kServer: return "the server config (top level)";
    case kVHost: return "<VirtualHost>";
    case kDirectory: return "<Directory>";
    case kFiles: return "<Files>";
    case kLocation: return "<Location>";
    case kVrrp: return "<Vrrp>";
    case kProxy: return "<Proxy>";
  }
  return "?";
}

}  // namespace pillar::config

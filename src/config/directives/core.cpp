// The core directive table: listening, server names, connection timeouts and
// request limits (Apache core and mpm_common's Listen). Listed in
// directives/registry.cpp; docs/configuration.md documents each directive.
#include "config/directives/tables.h"

#include <string>

#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

void d_listen(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args.size() == 2 && !http::iequals(n.args[1], "http") && !http::iequals(n.args[1], "https")) {
    out.error(n, "Listen protocol '" + n.args[1] + "' is not supported; write http or https");
    return;
  }
  ListenAddress la;
  std::string why;
  if (!parse_listen(n.args[0], la, why)) return out.error(n, why);
  // As Apache: the protocol defaults to https for port 443, http otherwise.
  la.https = n.args.size() == 2 ? http::iequals(n.args[1], "https") : la.port == 443;
  la.where = {n.file, n.line};
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
    return core::lowercase(v.substr(0, close == std::string_view::npos ? v.size() : close + 1));
  }
  return core::lowercase(v.substr(0, v.find(':')));
}

void d_server_name(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string h = host_of_server_name(n.args[0]);
  if (h.empty()) return out.error(n, "ServerName needs a host name, e.g. ServerName www.example.com");
  s.vhost.server_name = h;
}

void d_server_alias(DirectiveSink&, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) s.vhost.aliases.push_back(core::lowercase(a));
}

void d_server_tokens(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string v = core::lowercase(n.args[0]);
  if (v == "prod" || v == "productonly") s.server.server_tokens = "Pillar";
  else if (v == "major" || v == "minor" || v == "min" || v == "minimal" || v == "os" || v == "full")
    s.server.server_tokens = std::string("Pillar/") + PILLAR_VERSION_STRING;
  else out.error(n, "ServerTokens '" + n.args[0] + "' is not one of Prod, Major, Minor, Minimal, OS, Full");
}

void d_hostname_lookups(DirectiveSink& out, const ConfigNode& n, Scope&) {
  if (!http::iequals(n.args[0], "off"))
    out.error(n, "HostnameLookups " + n.args[0] + " is not supported; Pillar never resolves client names (use Off)");
}


template <Millis ServerConfig::*Field>
void d_duration(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string why;
  Millis v;
  if (!parse_duration(n.args[0], v, why)) return out.error(n, n.name + ": " + why);
  s.server.*Field = v;
}

// PillarHtaccessCheck watch|SECONDS (server/htaccess.h).
void d_htaccess_check(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (http::iequals(n.args[0], "watch")) {
    s.server.htaccess_watch = true;
    s.server.htaccess_check = Millis{0};
    return;
  }
  std::string why;
  Millis v;
  if (!parse_duration(n.args[0], v, why))
    return out.error(n, "PillarHtaccessCheck: " + why + " (give `watch` or a number of seconds)");
  s.server.htaccess_watch = false;
  s.server.htaccess_check = v;
}

void d_keep_alive(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, "KeepAlive", s.server.keep_alive);
}

void d_limit_request_body(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_size(out, n, "LimitRequestBody", s.server.limit_request_body);
}

// RequestReadTimeout header=20-40,MinRate=500 body=20,MinRate=500
void d_request_read_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    std::string_view w = a;
    size_t eq = w.find('=');
    std::string type = core::lowercase(w.substr(0, eq));
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
      if (!core::istarts_with(rate, "minrate="))
        return out.error(n, "RequestReadTimeout " + type + ": expected ,MinRate=BYTES_PER_SECOND");
      uint64_t mr;
      if (!parse_uint(rate.substr(8), 1, UINT32_MAX, mr, why))
        return out.error(n, "RequestReadTimeout MinRate: " + why);
      r.min_rate = static_cast<uint32_t>(mr);
    }
    *t = r;
  }
}

constexpr DirectiveSpec kTable[] = {
    {"HostnameLookups", 1, 1, kSV | kDirectory, false, d_hostname_lookups, "HostnameLookups Off"},
    {"KeepAlive", 1, 1, kSV, true, d_keep_alive, "KeepAlive On|Off"},
    {"KeepAliveTimeout", 1, 1, kSV, true, d_duration<&ServerConfig::keep_alive_timeout>, "KeepAliveTimeout SECONDS"},
    {"LimitRequestBody", 1, 1, kSV | kPerDir, true, d_limit_request_body, "LimitRequestBody BYTES (0 = unlimited)", kOrAll},
    {"LimitRequestFieldSize", 1, 1, kSV, true,
     d_count<uint32_t, &ServerConfig::limit_request_field_size, 1, 65536, 8190>, "LimitRequestFieldSize BYTES"},
    {"LimitRequestFields", 1, 1, kSV, true,
     d_count<uint32_t, &ServerConfig::limit_request_fields, 0, 32767, 32767>, "LimitRequestFields COUNT"},
    {"LimitRequestLine", 1, 1, kSV, true, d_count<uint32_t, &ServerConfig::limit_request_line, 1, 65536, 8190>,
     "LimitRequestLine BYTES"},
    {"Listen", 1, 2, kServer, false, d_listen, "Listen [IP:]PORT [http|https]"},
    {"ListenBacklog", 1, 1, kServer, false, d_listen_backlog, "ListenBacklog COUNT"},
    {"MaxKeepAliveRequests", 1, 1, kSV, true,
     d_count<uint32_t, &ServerConfig::max_keep_alive_requests, 0, 1000000000, 0>, "MaxKeepAliveRequests COUNT"},
    {"PillarHtaccessCheck", 1, 1, kServer, false, d_htaccess_check, "PillarHtaccessCheck watch|SECONDS"},
    {"RequestReadTimeout", 1, 3, kSV, true, d_request_read_timeout, "RequestReadTimeout header=20-40,MinRate=500"},
    {"ServerAlias", 1, -1, kVHost, false, d_server_alias, "ServerAlias NAME..."},
    {"ServerName", 1, 1, kSV, false, d_server_name, "ServerName HOST[:PORT]"},
    {"ServerTokens", 1, 1, kServer, false, d_server_tokens, "ServerTokens Prod|Full"},
    {"Timeout", 1, 1, kSV, true, d_duration<&ServerConfig::timeout>, "Timeout SECONDS"},
};

}  // namespace

std::span<const DirectiveSpec> core_directives() { return kTable; }

}  // namespace pillar::config

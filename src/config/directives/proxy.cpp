// The proxy directive table: ProxyPass and friends, <Proxy balancer://> members
// and their key=value parameters (mod_proxy, mod_proxy_balancer,
// mod_proxy_hcheck). Listed in directives/registry.cpp; docs/configuration.md
// documents each directive.
#include "config/directives/tables.h"

#include <netdb.h>
#include <cstring>
#include <regex>

#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

bool proxy_directive_target(DirectiveSink& out, const ConfigNode& n, Scope& s, std::string_view prefix,
                            std::string_view url, size_t first_param) {
  if (fcgi_url(url)) return fcgi_pass(out, n, s, prefix, url, nullptr);  // mod_proxy_fcgi (directives/fastcgi.cpp)
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
  if (fcgi_url(n.args[1])) {  // mod_proxy_fcgi: the path template is the script's (directives/fastcgi.cpp)
    if (fcgi_pass(out, n, s, n.args[0], n.args[1], re)) s.vhost.locations[before].prefix = n.args[0];
    return;
  }
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
  set_on_off(out, n, "ProxyPreserveHost", s.vhost.proxy_preserve_host);
}

void d_proxy_state_file(DirectiveSink&, const ConfigNode& n, Scope& s) {
  s.server.proxy_state_file = fs_path(s, n.args[0]);
}

void d_proxy_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_duration(out, n, "ProxyTimeout", s.server.proxy_timeout);
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

constexpr DirectiveSpec kTable[] = {
    {"BalancerMember", 1, -1, kProxy, false, d_balancer_member, "BalancerMember http[s]://HOST[:PORT]|fcgi://HOST[:PORT]|unix:/PATH|fcgi://NAME [route=R loadfactor=N status=+H ...]"},
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
};

}  // namespace

std::span<const DirectiveSpec> proxy_directives() { return kTable; }

bool parse_member_url(std::string_view url, BalancerMemberConfig& m, std::string& path, std::string& why) {
  if (fcgi_url(url)) {  // a FastCGI application in a balancer (mod_proxy_fcgi's fcgi:// members)
    auto b = std::make_shared<FcgiBackend>();
    if (!parse_fcgi_backend(url, *b, why)) return false;
    if (!b->balancer_name.empty() || !b->path.empty())
      return why = std::string(url) + ": a FastCGI member is fcgi://HOST[:PORT] or unix:/PATH|fcgi://NAME", false;
    m.addr = b->addr;
    m.addr_len = b->addr_len;
    m.host = b->authority;
    m.fcgi = std::move(b);
    return true;
  }
  const bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0) {
    why = std::string(url) + ": write http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH]";
    return false;
  }
  std::string_view rest = url.substr(https ? 8 : 7);
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  std::string host;
  const uint16_t default_port = https ? 443 : 80;
  uint16_t port = default_port;
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
  const std::string shown = host.find(':') == std::string::npos ? host : "[" + host + "]";
  m.host = port == default_port ? shown : shown + ":" + std::to_string(port);
  m.port = port;
  m.https = https;
  m.tls_name = host;
  return true;
}

bool apply_member_param(std::string_view kv, BalancerMemberConfig& m, std::string& why) {
  auto [key, v] = split_key_value(kv);
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
    core::uppercase_in_place(v2);
    if (v2 != "GET" && v2 != "HEAD" && v2 != "OPTIONS" && v2 != "TCP")
      return why = "hcmethod=" + std::string(v) + ": use GET, HEAD, OPTIONS or TCP", false;
    if (m.fcgi && v2 != "TCP")  // the prober speaks HTTP; a FastCGI application only accepts connections
      return why = "hcmethod=" + v2 + " on a FastCGI member: use hcmethod=TCP", false;
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
  auto [key, v] = split_key_value(kv);
  uint64_t num;
  if (key == "lbmethod") {
    std::string m = core::lowercase(v);
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
  } else if (key == "stickysessionsep") {
    // Apache 2.4's parameter: PHP's session ids cannot hold the default '.'
    // (its files handler refuses the id), so stickysession=PHPSESSID needs
    // another separator PHP allows, e.g. stickysessionsep=- with ids "SID-ROUTE".
    if (core::lowercase(v) == "off") b.stickysession_sep = '\0';
    else if (v.size() == 1) b.stickysession_sep = v[0];
    else return why = "stickysessionsep=" + std::string(v) + ": use one character or Off", false;
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
          "'; use lbmethod, stickysession, stickysessionsep, nofailover, persistence, maxattempts or hashheader";
    return false;
  }
  return true;
}

}  // namespace pillar::config

// The remoteip directive table: the client address behind trusted proxies
// (mod_remoteip). Listed in directives/registry.cpp; docs/configuration.md
// documents each directive.
#include "config/directives/tables.h"

#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

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
  set_on_off(out, n, "RemoteIPProxyProtocol", s.server.remoteip_proxy_protocol);
}

constexpr DirectiveSpec kTable[] = {
    {"RemoteIPHeader", 1, 1, kSV, true, d_remoteip_header, "RemoteIPHeader X-Forwarded-For"},
    {"RemoteIPInternalProxy", 1, -1, kSV, true, d_remoteip_trusted, "RemoteIPInternalProxy ADDRESS|NETWORK..."},
    {"RemoteIPProxyProtocol", 1, 1, kSV, true, d_remoteip_proxy_protocol, "RemoteIPProxyProtocol On|Off"},
    {"RemoteIPTrustedProxy", 1, -1, kSV, true, d_remoteip_trusted, "RemoteIPTrustedProxy ADDRESS|NETWORK..."},
};

}  // namespace

std::span<const DirectiveSpec> remoteip_directives() { return kTable; }

}  // namespace pillar::config

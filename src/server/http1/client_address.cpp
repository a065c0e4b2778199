#include "server/http1/client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/text.h"

namespace pillar::server::http1 {

// mod_remoteip: behind trusted proxies, the client is the rightmost address
// of RemoteIPHeader that is not itself a trusted proxy.
void apply_remote_ip(const config::ServerConfig& cfg, const sockaddr_storage& peer, std::string_view peer_ip,
                     const http::RequestHead& head, sockaddr_storage& client, std::string& client_ip) {
  client = peer;
  client_ip = peer_ip;
  if (cfg.remoteip_header.empty()) return;
  auto trusted = [&](const sockaddr_storage& a) {
    for (const auto& n : cfg.remoteip_trusted) {
      if (n.contains(a)) return true;
    }
    return false;
  };
  if (!trusted(peer)) return;
  std::string_view list = head.find(cfg.remoteip_header);
  while (!list.empty()) {
    size_t comma = list.rfind(',');
    std::string_view item = comma == std::string_view::npos ? list : list.substr(comma + 1);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
    item = core::trim_ows(item);
    sockaddr_storage a{};
    std::string text(item);
    auto* a4 = reinterpret_cast<sockaddr_in*>(&a);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&a);
    if (inet_pton(AF_INET, text.c_str(), &a4->sin_addr) == 1) a.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, text.c_str(), &a6->sin6_addr) == 1) a.ss_family = AF_INET6;
    else return;  // garbage: keep what we have (never trust a malformed list)
    client = a;
    client_ip = text;
    if (!trusted(a)) return;
  }
}

}  // namespace pillar::server::http1

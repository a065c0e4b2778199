// The client a request is for: the connection's peer, or, behind trusted
// proxies (mod_remoteip), the address they name.
#pragma once
#include <sys/socket.h>

#include <string>
#include <string_view>

#include "config/model.h"
#include "http/request.h"

namespace pillar::server::http1 {

// RemoteIPHeader / RemoteIPTrustedProxy: `client` and `client_ip` are the
// peer's, or the rightmost address of the header that is not itself a
// trusted proxy when the peer is one.
void apply_remote_ip(const config::ServerConfig& cfg, const sockaddr_storage& peer, std::string_view peer_ip,
                     const http::RequestHead& head, sockaddr_storage& client, std::string& client_ip);

}  // namespace pillar::server::http1

// Name-based virtual host selection, Apache's way: the connection's local
// address picks the candidate set (vhosts naming that exact IP:port win over
// wildcard ones), then Host picks by ServerName/ServerAlias, and the first
// candidate is the default. No candidate at all means the main server.
#pragma once
#include <sys/socket.h>

#include <string_view>
#include <vector>

#include "config/model.h"

namespace pillar::server {

class VhostRouter {
 public:
  static constexpr int kMainServer = -1;

  explicit VhostRouter(const std::vector<config::VirtualHost>& vhosts) : vhosts_(vhosts) {}
  // Index into vhosts, or kMainServer.
  int select(const sockaddr_storage& local, std::string_view host) const;

 private:
  const std::vector<config::VirtualHost>& vhosts_;
};

bool address_matches(const config::ListenAddress& a, const sockaddr_storage& local, bool& exact);

}  // namespace pillar::server

// Name-based virtual host selection, Apache's way: the connection's local
// address picks the candidate set (vhosts naming that exact IP:port win over
// wildcard ones), then Host picks by ServerName/ServerAlias (the first vhost
// in configuration order that names it), and the first candidate is the
// default. No candidate at all means the main server.
//
// Hosting nodes carry thousands of vhosts, so nothing here scans them per
// request (as Apache's and nginx's name hashes): the vhosts are grouped once
// by distinct address (there are few), and each group indexes its names in a
// hash of exact names and a hash of `*.suffix` wildcards looked up at each
// dot of the Host; only other wildcard shapes (`w?w.*`, `*`) are matched one
// by one, and only those configured before the best match found so far.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/model.h"

namespace pillar::server {

class VhostRouter {
 public:
  static constexpr int kMainServer = -1;

  explicit VhostRouter(const std::vector<config::VirtualHost>& vhosts);
  // Index into vhosts, or kMainServer. `host` is lower-case, without port.
  int select(const sockaddr_storage& local, std::string_view host) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using NameIndex = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;
  // Every vhost that lists one distinct address.
  struct Group {
    config::ListenAddress addr;
    uint32_t first = 0;  // the lowest vhost index: the group's default
    NameIndex exact;     // ServerName and plain aliases -> lowest vhost index
    NameIndex suffix;    // "*.example.com" stored as ".example.com"
    std::vector<std::pair<std::string, uint32_t>> patterns;  // other wildcards, by vhost index
  };
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t named(const Group& g, std::string_view host) const;  // lowest vhost naming `host`, or kNone

  std::vector<Group> groups_;
};

bool address_matches(const config::ListenAddress& a, const sockaddr_storage& local, bool& exact);

}  // namespace pillar::server

#include "server/listeners.h"

#include <unistd.h>

#include "core/socket_address.h"

namespace pillar::server {

bool reconcile_listeners(const config::ServerConfig& cfg, std::vector<ListenerSocket>& keep, std::string& error) {
  std::vector<ListenerSocket> next, fresh;
  std::vector<bool> used(keep.size(), false);
  for (const auto& la : cfg.listens) {
    bool reused = false;
    for (size_t i = 0; i < keep.size(); ++i) {
      // An ephemeral port (":0") stays the port the kernel chose.
      if (!used[i] && keep[i].addr.text == la.text) {
        used[i] = true;
        next.push_back(keep[i]);
        reused = true;
        break;
      }
    }
    if (reused) continue;
    std::string err;
    int fd = core::open_listener(la.addr, la.addr_len, cfg.listen_backlog, err);
    if (fd < 0) {
      error = "could not bind to " + la.text + ": " + err;
      close_listeners(fresh);
      return false;
    }
    ListenerSocket l;
    l.fd = fd;
    l.addr = la;
    socklen_t len = sizeof l.bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&l.bound), &len);
    next.push_back(l);
    fresh.push_back(l);
  }
  for (size_t i = 0; i < keep.size(); ++i) {
    if (!used[i]) ::close(keep[i].fd);
  }
  keep = std::move(next);
  return true;
}

void close_listeners(std::vector<ListenerSocket>& ls) {
  for (auto& l : ls) ::close(l.fd);
  ls.clear();
}

}  // namespace pillar::server

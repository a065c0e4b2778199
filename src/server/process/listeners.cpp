#include "server/process/listeners.h"

#include <sys/socket.h>

#include "core/assert.h"

#include "core/socket_address.h"

namespace pillar::server {

// Two passes: bind what is new (nothing changes if one fails: the fresh
// sockets close with their owners), then take the kept and the new ones.
bool Listeners::reconcile(const config::ServerConfig& cfg, std::string& error) {
  PILLAR_ASSERT(sockets_.size() == owned_.size());
  const size_t n = cfg.listens.size();
  std::vector<int> kept(n, -1);  // per Listen: the index of the open socket it keeps
  std::vector<core::Fd> fresh(n);
  std::vector<bool> used(sockets_.size(), false);
  for (size_t k = 0; k < n; ++k) {
    const auto& la = cfg.listens[k];
    for (size_t i = 0; i < sockets_.size() && kept[k] < 0; ++i) {
      if (!used[i] && sockets_[i].addr.text == la.text) {
        used[i] = true;
        kept[k] = static_cast<int>(i);
      }
    }
    if (kept[k] >= 0) continue;
    std::string err;
    fresh[k] = core::Fd(core::open_listener(la.addr, la.addr_len, cfg.listen_backlog, err));
    if (!fresh[k]) {
      error = "could not bind to " + la.text + ": " + err;
      return false;
    }
  }
  std::vector<ListenerSocket> next;
  std::vector<core::Fd> next_owned;
  for (size_t k = 0; k < n; ++k) {
    if (kept[k] >= 0) {
      next.push_back(sockets_[static_cast<size_t>(kept[k])]);
      next.back().addr = cfg.listens[k];  // same socket; the protocol (http/https) is the new config's
      next_owned.push_back(std::move(owned_[static_cast<size_t>(kept[k])]));
      continue;
    }
    ListenerSocket l;
    l.fd = fresh[k].get();
    l.addr = cfg.listens[k];
    socklen_t len = sizeof l.bound;
    ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&l.bound), &len);
    next.push_back(l);
    next_owned.push_back(std::move(fresh[k]));
  }
  sockets_ = std::move(next);
  owned_ = std::move(next_owned);  // the sockets no Listen names any more close here
  return true;
}

void Listeners::close_all() {
  sockets_.clear();
  owned_.clear();
}

}  // namespace pillar::server

// The listening sockets: bound by the master before it forks (workers
// inherit them), reconciled on reload so unchanged ones are never closed
// (a reload loses no connection waiting in a backlog).
#pragma once
#include <string>
#include <vector>

#include "config/model.h"
#include "core/fd.h"
#include "server/worker_loop.h"

namespace pillar::server {

class Listeners {
 public:
  // Binds every Listen of `cfg`, keeping the open sockets with the same
  // text (an ephemeral ":0" keeps the port the kernel chose) and closing
  // the others. On failure returns false with `error` and changes nothing.
  bool reconcile(const config::ServerConfig& cfg, std::string& error);
  // What workers and the VRRP child see: `fd` is owned here.
  const std::vector<ListenerSocket>& sockets() const { return sockets_; }
  void close_all();

 private:
  std::vector<ListenerSocket> sockets_;
  std::vector<core::Fd> owned_;  // owned_[i] is sockets_[i].fd
};

}  // namespace pillar::server

// The listening sockets: bound by the master before it forks (workers
// inherit them), reconciled on reload so unchanged ones are never closed.
#pragma once
#include <string>
#include <vector>

#include "config/model.h"
#include "server/worker_loop.h"

namespace pillar::server {

// Binds every Listen of `cfg`, reusing sockets of `keep` with the same text.
// On failure returns false with `error`; the new sockets are closed again.
bool reconcile_listeners(const config::ServerConfig& cfg, std::vector<ListenerSocket>& keep, std::string& error);
void close_listeners(std::vector<ListenerSocket>& ls);

}  // namespace pillar::server

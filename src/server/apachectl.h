// `pillar -k start|stop|restart|graceful|graceful-stop`: apachectl's
// commands, carried out by signalling the master named in the PidFile
// (start daemonizes a new master).
#pragma once
#include <memory>
#include <string>

#include "config/model.h"
#include "server/process/master.h"

namespace pillar::server {

// Returns the exit status for `pillar -k COMMAND`.
int apachectl(const std::string& command, std::unique_ptr<config::ServerConfig> cfg, MasterOptions opts);

}  // namespace pillar::server

// The mpm directive table: the process model (worker/event MPM counts, memory
// and connection recycling, user, pid file, control socket). Listed in
// directives/registry.cpp; docs/configuration.md documents each directive.
#include "config/directives/tables.h"

#include <grp.h>
#include <pwd.h>

#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

template <typename T, T ProcessConfig::*Field, uint64_t Min, uint64_t Max, bool ProcessConfig::*Flag = nullptr>
void d_process_count(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], Min, Max, v, why)) return out.error(n, n.name + ": " + why);
  s.server.process.*Field = static_cast<T>(v);
  if constexpr (Flag != nullptr) s.server.process.*Flag = true;
}

void d_max_memory_per_child(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (!set_size(out, n, "MaxMemoryPerChild", s.server.process.max_memory_per_child)) return;
  if (s.server.process.max_memory_per_child != 0 && s.server.process.max_memory_per_child < (8u << 20))
    out.error(n, "MaxMemoryPerChild " + n.args[0] + " is below a worker's own baseline; use at least 8M (or 0 for no limit)");
}

void d_graceful_shutdown_timeout(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_duration(out, n, "GracefulShutdownTimeout", s.server.process.graceful_shutdown_timeout);
}

void d_extended_status(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, "ExtendedStatus", s.server.process.extended_status);
}

template <std::string ProcessConfig::*Field>
void d_process_string(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  s.server.process.*Field = n.args[0];
  // Checked here so that pillar -t refuses what start would (the workers
  // look the name up again when they drop privileges).
  const std::string& v = n.args[0];
  if (v.empty() || v[0] == '#') return;
  bool user = Field == &ProcessConfig::user;
  if (user ? getpwnam(v.c_str()) == nullptr : getgrnam(v.c_str()) == nullptr)
    out.error(n, n.name + " " + v + " does not exist; create it (" + (user ? "adduser --system " : "addgroup --system ") +
                     v + ") or name an existing one");
}

void d_pid_file(DirectiveSink&, const ConfigNode& n, Scope& s) { s.server.process.pid_file = fs_path(s, n.args[0]); }
void d_control_socket(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string p = fs_path(s, n.args[0]);
  if (p.size() >= 100) return out.error(n, "PillarControlSocket path is too long for a unix socket; use a shorter path");
  s.server.process.control_socket = p;
}

constexpr DirectiveSpec kTable[] = {
    {"ExtendedStatus", 1, 1, kServer, false, d_extended_status, "ExtendedStatus On|Off"},
    {"GracefulShutdownTimeout", 1, 1, kServer, false, d_graceful_shutdown_timeout, "GracefulShutdownTimeout SECONDS"},
    {"Group", 1, 1, kServer, false, d_process_string<&ProcessConfig::group>, "Group NAME|#GID"},
    {"MaxClients", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::max_request_workers, 1, 10000000, &ProcessConfig::set_max_request_workers>,
     "MaxClients COUNT"},
    {"MaxConnectionsPerChild", 1, 1, kServer, false,
     d_process_count<uint64_t, &ProcessConfig::max_connections_per_child, 0, UINT64_MAX>, "MaxConnectionsPerChild COUNT"},
    {"MaxMemoryPerChild", 1, 1, kServer, false, d_max_memory_per_child, "MaxMemoryPerChild SIZE (e.g. 512M)"},
    {"MaxRequestWorkers", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::max_request_workers, 1, 10000000, &ProcessConfig::set_max_request_workers>,
     "MaxRequestWorkers COUNT"},
    {"MaxRequestsPerChild", 1, 1, kServer, false,
     d_process_count<uint64_t, &ProcessConfig::max_connections_per_child, 0, UINT64_MAX>, "MaxRequestsPerChild COUNT"},
    {"MaxSpareThreads", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::max_spare_threads, 1, 10000000, &ProcessConfig::set_max_spare>,
     "MaxSpareThreads COUNT"},
    {"MinSpareThreads", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::min_spare_threads, 1, 10000000, &ProcessConfig::set_min_spare>,
     "MinSpareThreads COUNT"},
    {"PidFile", 1, 1, kServer, false, d_pid_file, "PidFile PATH"},
    {"PillarControlSocket", 1, 1, kServer, false, d_control_socket, "PillarControlSocket PATH"},
    {"ServerLimit", 1, 1, kServer, false, d_process_count<uint32_t, &ProcessConfig::server_limit, 1, 1024>,
     "ServerLimit COUNT"},
    {"StartServers", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::start_servers, 1, 1024, &ProcessConfig::set_start_servers>,
     "StartServers COUNT"},
    {"ThreadLimit", 1, 1, kServer, false, d_process_count<uint32_t, &ProcessConfig::thread_limit, 1, 100000>,
     "ThreadLimit COUNT"},
    {"ThreadsPerChild", 1, 1, kServer, false,
     d_process_count<uint32_t, &ProcessConfig::threads_per_child, 1, 100000, &ProcessConfig::set_threads_per_child>,
     "ThreadsPerChild COUNT"},
    {"User", 1, 1, kServer, false, d_process_string<&ProcessConfig::user>, "User NAME|#UID"},
    {"EventThreadsPerChild", 1, 1, kServer, false, d_count<int, &ServerConfig::event_threads, 0, 1024, 0>,
     "EventThreadsPerChild COUNT (0 = one per CPU)"},
};

}  // namespace

std::span<const DirectiveSpec> mpm_directives() { return kTable; }

}  // namespace pillar::config

// The messages between a worker and the CGI launcher (server/process/
// cgi_launcher.h), one per SOCK_SEQPACKET datagram on a unix connection the
// worker opens for each script, as mod_cgid's handler talks to its daemon:
//
//   worker -> launcher  LaunchRequest, with the script's stdin, stdout and
//                       stderr pipe ends attached (SCM_RIGHTS)
//   launcher -> worker  Started{pid} or Refused{status, why}, then
//                       Exited{wait status} when the script ends
//
// The connection lives as long as the script: the worker closing it (the
// request ended, the client left, the worker died) tells the launcher to
// stop what is left of the script's process group. The launcher trusts the
// request as suexec trusts its caller (the server's user) and applies the
// same checks to it (server/process/suexec.h).
#pragma once
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/cgi_model.h"

namespace pillar::server {

struct LaunchRequest {
  enum class Identity : uint8_t {
    Server,  // the worker's own user (User/Group)
    Suexec,  // the vhost's SuexecUserGroup
    UserDir, // the owner of a /~user/ script
  };
  std::string program;           // absolute path of the script
  std::vector<std::string> env;  // "NAME=value"
  Identity identity = Identity::Server;
  std::string user, group;       // Suexec: as written ("#N" numeric); UserDir: the user (group: theirs)
  std::string root;              // Suexec: the DocumentRoot; UserDir: the user's directory
  config::RLimits limits;
};

struct LaunchReply {
  enum class Kind : uint8_t { Started = 1, Refused = 2, Exited = 3 };
  Kind kind = Kind::Started;
  int32_t pid = 0;         // Started
  int32_t value = 0;       // Refused: the HTTP status; Exited: the wait status
  std::string message;     // Refused: why (names the check that failed)
};

// The largest message either side sends (the environment of a request with
// large fields fits; the worker refuses a larger one with 500).
constexpr size_t kLaunchMessageMax = 256 * 1024;

std::string encode_launch_request(const LaunchRequest& r);
bool decode_launch_request(std::string_view msg, LaunchRequest& r);
std::string encode_launch_reply(const LaunchReply& r);
bool decode_launch_reply(std::string_view msg, LaunchReply& r);

// The launcher's listening address (abstract unix namespace), chosen by the
// master before it forks anything; workers inherit it.
struct LauncherAddress {
  sockaddr_un addr{};
  socklen_t len = 0;
  bool valid() const { return len > 0; }
};
const LauncherAddress& launcher_address();
void set_launcher_address(const LauncherAddress& a);

// "killed by SIGXCPU (CPU time limit: RLimitCPU)", "exited with status 3".
std::string describe_wait_status(int status);

}  // namespace pillar::server

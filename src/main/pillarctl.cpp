// pillarctl: talks to a running pillar master over its control socket.
#include <getopt.h>

#include <cstdio>
#include <string>

#include "config/loader.h"
#include "ctl/control_client.h"

namespace {

void usage(FILE* to) {
  std::fprintf(to,
               "Usage: pillarctl [-s SOCKET | -f CONFIG] [-j] COMMAND [ARG...]\n"
               "  -s SOCKET  the server's PillarControlSocket\n"
               "  -f CONFIG  read the socket path from this configuration file\n"
               "  -j         print the JSON answer as is\n"
               "Commands: status, workers, reload, vrrp, balancer ..., cache ..., help\n"
               "  cache                       the cache store: objects, bytes, evictions\n"
               "  cache purge URL             drop every variant of one URL\n"
               "  cache ban host HOST | vhost SERVERNAME | prefix /PATH [HOST] | regex REGEX [HOST] | url URL\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path, config_file;
  bool json = false;
  int c;
  while ((c = getopt(argc, argv, "+s:f:jh")) != -1) {
    switch (c) {
      case 's': socket_path = optarg; break;
      case 'f': config_file = optarg; break;
      case 'j': json = true; break;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 3;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return 3;
  }
  if (socket_path.empty() && !config_file.empty()) {
    auto res = pillar::config::load_config_file(config_file);
    if (!res.ok()) {
      for (const auto& e : res.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
      return 3;
    }
    socket_path = res.config->process.control_socket;
    if (socket_path.empty()) {
      std::fprintf(stderr, "pillarctl: %s sets no PillarControlSocket\n", config_file.c_str());
      return 3;
    }
  }
  if (socket_path.empty()) {
    std::fprintf(stderr, "pillarctl: say where the server is: -s SOCKET or -f CONFIG\n");
    return 3;
  }
  std::string command = argv[optind], line = command;
  for (int i = optind + 1; i < argc; ++i) line += std::string(" ") + argv[i];
  nlohmann::json reply;
  std::string error;
  if (!pillar::ctl::send_command(socket_path, line, reply, error)) {
    std::fprintf(stderr, "pillarctl: %s\n", error.c_str());
    return 2;
  }
  bool ok = reply.value("ok", false);
  if (json) {
    std::printf("%s\n", reply.dump(2).c_str());
  } else if (ok) {
    std::fputs(pillar::ctl::render(command, reply["result"]).c_str(), stdout);
  } else {
    std::fprintf(stderr, "pillarctl: %s\n", reply.value("error", std::string("failed")).c_str());
  }
  return ok ? 0 : 1;
}

// pillar: the server program, with apachectl's command-line conventions.
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "config/loader.h"
#include "core/build_info.h"
#include "rewrite/site_rules.h"
#include "config/modules.h"
#include "server/default_config.h"
#include "server/apachectl.h"
#include "server/process/master.h"
#include "server/process/worker_identity.h"
#include "tls/server_context.h"

namespace {

void usage(FILE* to) {
  std::fprintf(to,
               "Usage: pillar [-f FILE] [-k start|stop|restart|graceful|graceful-stop] [-t] [-M] [-D NAME] [-V] [-h]\n"
               "  -f FILE   run with this configuration file (default: the embedded welcome site)\n"
               "  -k CMD    signal the running server (PidFile) as apachectl does; start daemonizes\n"
               "  -t        check the configuration and exit: 'Syntax OK' or FILE:LINE: message\n"
               "  -M        check the configuration and list the modules built in, as apachectl -M\n"
               "  -D NAME   define NAME for <IfDefine NAME> sections and Define\n"
               "  -V        print the version and build settings\n"
               "  -h        this help\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string file;
  bool test_only = false, list_modules = false;
  std::string command;
  pillar::config::LoadOptions opts;
  int c;
  while ((c = getopt(argc, argv, "f:tMD:Vhd:k:")) != -1) {
    switch (c) {
      case 'f': file = optarg; break;
      case 't': test_only = true; break;
      case 'M': list_modules = test_only = true; break;
      case 'k': command = optarg; break;
      case 'D': opts.defines.push_back(optarg); break;
      case 'd': opts.server_root = optarg; break;
      case 'V':
        std::printf("Server version: Pillar/%s\nServer built:   %s\nArchitecture:   %zu-bit\n",
                    PILLAR_VERSION_STRING, std::string(pillar::core::build_time()).c_str(), sizeof(void*) * 8);
        return 0;
      case 'h': usage(stdout); return 0;
      default: usage(stderr); return 1;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "pillar: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 1;
  }

  bool embedded = file.empty();
  pillar::config::LoadResult res =
      embedded ? pillar::config::load_config_text(pillar::server::default_config_text(), "(embedded default)", opts)
               : pillar::config::load_config_file(file, opts);
  if (res.ok()) pillar::rewrite::check_config(*res.config, res.errors);  // rules, maps: what start would refuse
  if (!res.ok()) {
    for (const auto& e : res.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    if (res.errors.empty()) std::fprintf(stderr, "%s: configuration could not be loaded\n", file.c_str());
    return 1;
  }
  if (test_only) {
    for (const auto& n : res.config->notices) std::fprintf(stderr, "%s\n", n.c_str());
    if (std::string w = pillar::server::root_without_user_warning(res.config->process); !w.empty())
      std::fprintf(stderr, "%s\n", w.c_str());
    if (list_modules) {
      std::printf("Loaded Modules:\n");
      for (const auto& m : pillar::config::apache_modules())
        if (m.present) std::printf(" %.*s (static)\n", static_cast<int>(m.id.size()), m.id.data());
      return 0;  // as apachectl -M: the list, no "Syntax OK"
    }
    // What start would fail on in the TLS setup: the certificate and key
    // files, their match, the cipher strings (src/tls builds the contexts).
    std::vector<pillar::config::ConfigError> tls_errors;
    std::vector<std::string> tls_warnings;
    auto tls = pillar::tls::ContextSet::build(*res.config, tls_errors, tls_warnings);
    for (const auto& w : tls_warnings) std::fprintf(stderr, "%s\n", w.c_str());
    if (!tls) {
      for (const auto& e : tls_errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
      return 1;
    }
    std::printf("Syntax OK\n");
    return 0;
  }
  pillar::server::MasterOptions mopts;
  mopts.config_file = file;
  mopts.load = opts;
  if (!command.empty()) return pillar::server::apachectl(command, std::move(res.config), mopts);
  if (embedded) std::fprintf(stderr, "Pillar is running on http://127.0.0.1:8080/ (embedded default configuration; Ctrl-C stops it)\n");
  return pillar::server::run_master(std::move(res.config), mopts);
}

#include "server/default_config.h"

namespace pillar::server {

std::string_view default_config_text() {
  return R"(# Pillar's embedded default configuration (used when no -f is given).
Listen 127.0.0.1:8080
ServerName localhost
LogLevel notice
CustomLog stderr common

<Location />
    SetHandler pillar-welcome
</Location>
<Location /server-status>
    SetHandler server-status
    Require local
</Location>
<Location /metrics>
    SetHandler metrics
    Require local
</Location>
)";
}

}  // namespace pillar::server

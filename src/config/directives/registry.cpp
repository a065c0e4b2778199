// The list of directive tables, one per module, and lookup by name. The list
// is a function-local constant built from explicit calls, so it is complete
// whatever order the translation units are initialised in.
#include "config/directives/tables.h"
#include "http/request.h"

namespace pillar::config {

std::span<const DirectiveTable> directive_tables() {
  static const DirectiveTable kTables[] = {
      {"core", core_directives()},         {"mpm", mpm_directives()},
      {"log", log_directives()},           {"access", access_directives()},
      {"content", content_directives()},   {"proxy", proxy_directives()},
      {"cache", cache_directives()},       {"vrrp", vrrp_directives()},
      {"remoteip", remoteip_directives()}, {"rewrite", rewrite_directives()},
      {"alias", alias_directives()},
      {"fastcgi", fastcgi_directives()},
      {"cgi", cgi_directives()},
      {"ssl", ssl_directives()},
      {"ssl_proxy", ssl_proxy_directives()},
      {"http2", http2_directives()},
      {"mime", mime_directives()},
      {"metadata", metadata_directives()},
      {"deflate", deflate_directives()},
      {"ratelimit", ratelimit_directives()},
      {"auth", auth_directives()},
  };
  return kTables;
}

const DirectiveSpec* find_directive(std::string_view name) {
  for (const auto& t : directive_tables()) {
    for (const auto& d : t.specs) {
      if (http::iequals(d.name, name)) return &d;
    }
  }
  return nullptr;
}

std::string context_name(Context c) {
  switch (c) {
    case kServer: return "the server config (top level)";
    case kVHost: return "<VirtualHost>";
    case kDirectory: return "<Directory>";
    case kFiles: return "<Files>";
    case kLocation: return "<Location>";
    case kVrrp: return "<Vrrp>";
    case kProxy: return "<Proxy>";
  }
  return "?";
}

}  // namespace pillar::config

// The URL-mapping phase, between route and access (request/phases.cpp):
// Apache's translate_name and fixup hooks as far as mod_rewrite, mod_alias
// and mod_dir's FallbackResource take part, in Apache's order:
//   1. server/vhost RewriteRules on the URL-path (a filename, a [PT] URL
//      routed again, a redirect, a status, a [P] proxy target);
//   2. mod_alias: Redirect* (answered), then Alias*/ScriptAlias* (a filename),
//      unless a ProxyPass route took the URL or a rule gave a filename;
//   3. per-directory: the <Directory> rules for the filename (an internal
//      redirect re-runs 1-3 with the new URL, at most kMaxInternalRedirects
//      times, as LimitInternalRecursion 10), then Redirect in the
//      <Location>/<Directory>, then FallbackResource for a missing file.
// A site that maps nothing (Site::maps_urls) costs one test.
#pragma once
#include <cstdint>
#include <string_view>

#include "server/request/request.h"

namespace pillar::server {

class Runtime;

enum class RewriteVerdict : uint8_t {
  Next,     // go on with the (maybe new) route, filename, query
  Respond,  // req.resp holds the answer (a redirect, 403, 410, 500...)
};

struct RewritePhaseEnv {
  const Runtime& runtime;
  uint16_t local_port = 0;
  std::string_view local_ip;
};

constexpr int kMaxInternalRedirects = 10;

RewriteVerdict run_rewrite_phase(Request& req, const RewritePhaseEnv& env);

// After a handler answered: what the rules add to its response (CO= cookies).
void apply_rewrite_headers(Request& req);

}  // namespace pillar::server

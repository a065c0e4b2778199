// mod_alias at request time: Redirect* first, then Alias* (Apache's
// translate_alias_redir), each list tried in configuration order, the
// first match winning. A prefix matches on a segment boundary ("/icons"
// matches "/icons" and "/icons/a.png", not "/iconsx"), repeated slashes
// compared as one (Apache's alias_matches).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace pillar::rewrite {

struct AliasOutcome {
  enum class Action : uint8_t { None, Redirect, Status, File };
  Action action = Action::None;
  int status = 0;
  std::string location;  // Redirect: absolute URL, query appended when the target has none
  std::string filename;  // File
  bool script = false;   // ScriptAlias: CGI intent
  const config::AliasRule* rule = nullptr;
};

// Redirect, RedirectMatch... against the URL-path. `prefix` stands for a
// rule without its own URL-path (Redirect inside a <Location>).
AliasOutcome apply_redirects(const std::vector<config::AliasRule>& rules, std::string_view path, std::string_view query,
                             std::string_view server_url, std::string_view prefix = {});
AliasOutcome apply_aliases(const std::vector<config::AliasRule>& rules, std::string_view path);

// Length of `path` matched by the alias prefix `fake`, or 0.
size_t alias_matches(std::string_view path, std::string_view fake);

}  // namespace pillar::rewrite

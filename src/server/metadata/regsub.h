// Apache's ap_pregsub(): a replacement template filled from a regex match,
// as mod_setenvif's values and mod_headers' edit replacements are: $0..$9
// the groups (empty when unset), a backslash takes the next character as
// it is, everything else is literal.
#pragma once
#include <string>
#include <string_view>

#include "core/regex.h"

namespace pillar::server::metadata {

inline void regsub(std::string_view tmpl, const core::Regex::Captures& c, std::string& out) {
  for (size_t i = 0; i < tmpl.size(); ++i) {
    char ch = tmpl[i];
    if (ch == '$' && i + 1 < tmpl.size() && tmpl[i + 1] >= '0' && tmpl[i + 1] <= '9') {
      out.append(c[tmpl[++i] - '0']);
      continue;
    }
    if (ch == '\\' && i + 1 < tmpl.size()) ch = tmpl[++i];
    out.push_back(ch);
  }
}

}  // namespace pillar::server::metadata

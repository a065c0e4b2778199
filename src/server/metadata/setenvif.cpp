#include "server/metadata/setenvif.h"

#include <string>

#include "core/text.h"
#include "server/metadata/regsub.h"

namespace pillar::server::metadata {
namespace {

using Attribute = config::SetEnvIfRule::Attribute;

// The attribute's value; false when it is absent (it then reads as "").
bool attribute_value(const config::SetEnvIfRule& r, const SetEnvIfSubject& s, const http::RequestEnv& env,
                     std::string& out) {
  out.clear();
  switch (r.attribute) {
    case Attribute::RemoteHost:
    case Attribute::RemoteAddr: out.assign(s.remote_addr); return true;
    case Attribute::ServerAddr: out.assign(s.server_addr); return true;
    case Attribute::RequestMethod: out.assign(s.method); return true;
    case Attribute::RequestProtocol: out.assign(s.protocol); return true;
    case Attribute::RequestUri: out.assign(s.uri); return true;
    case Attribute::HeaderRegex: {
      bool found = false;
      for (const auto& f : s.headers) {
        if (r.name_regex->match(f.name) != core::Regex::Result::Match) continue;
        out.assign(f.value);
        found = true;
      }
      return found;
    }
    case Attribute::Named: {
      bool found = false;
      for (const auto& f : s.headers) {
        if (!core::iequals(f.name, r.name)) continue;
        if (found) out.append(", ");
        out.append(f.value);
        found = true;
      }
      if (found) return true;
      if (const std::string* v = env.find(r.name)) {
        out = *v;
        return true;
      }
      return false;
    }
  }
  return false;
}

}  // namespace

void run_setenvif(std::span<const config::SetEnvIfRule> rules, const SetEnvIfSubject& s, http::RequestEnv& env) {
  std::string value, substituted;
  const config::SetEnvIfRule* last = nullptr;
  for (const auto& r : rules) {
    // Apache reads the attribute once for a run of rules on the same name
    // (match_headers' last_name), so a rule that sets the variable it tests
    // is not seen by the next rule on that name.
    if (!last || last->attribute != r.attribute || !core::iequals(last->name, r.name)) attribute_value(r, s, env, value);
    last = &r;
    core::Regex::Captures caps;
    if (r.regex->match(value, &caps) != core::Regex::Result::Match) continue;
    for (const auto& a : r.actions) {
      if (a.unset) {
        env.unset(a.var);
      } else if (r.substitutes) {
        substituted.clear();
        regsub(a.value, caps, substituted);
        env.set(a.var, substituted);
      } else {
        env.set(a.var, a.value);
      }
    }
  }
}

}  // namespace pillar::server::metadata

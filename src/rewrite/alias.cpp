#include "rewrite/alias.h"

#include "core/regex.h"
#include "core/text.h"
#include "rewrite/engine.h"

namespace pillar::rewrite {
namespace {

// "$1" ... "$9" and "$0" of `tmpl` from a match ('\$' is a literal '$').
std::string substitute(std::string_view tmpl, const core::Regex::Captures& c, bool escape) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '\\' && i + 1 < tmpl.size() && (tmpl[i + 1] == '$' || tmpl[i + 1] == '\\')) {
      out.push_back(tmpl[++i]);
    } else if (tmpl[i] == '$' && i + 1 < tmpl.size() && core::is_digit(tmpl[i + 1])) {
      std::string_view g = c[tmpl[++i] - '0'];
      out += escape ? escape_uri(g) : std::string(g);
    } else {
      out.push_back(tmpl[i]);
    }
  }
  return out;
}

}  // namespace

size_t alias_matches(std::string_view uri, std::string_view fake) {
  size_t u = 0, a = 0;
  while (a < fake.size()) {
    if (fake[a] == '/') {
      if (u >= uri.size() || uri[u] != '/') return 0;
      while (a < fake.size() && fake[a] == '/') ++a;
      while (u < uri.size() && uri[u] == '/') ++u;
    } else {
      if (u >= uri.size() || uri[u] != fake[a]) return 0;
      ++u, ++a;
    }
  }
  // The alias ends on a segment boundary of the URL.
  if (fake.back() != '/' && u < uri.size() && uri[u] != '/') return 0;
  return u;
}

AliasOutcome apply_redirects(const std::vector<config::AliasRule>& rules, std::string_view path, std::string_view query,
                             std::string_view server_url, std::string_view prefix) {
  AliasOutcome out;
  for (const auto& r : rules) {
    std::string target;
    if (r.regex) {
      core::Regex::Captures c;
      if (r.regex->match(path, &c) != core::Regex::Result::Match) continue;
      target = substitute(r.to, c, true);
    } else {
      std::string_view fake = r.whole ? prefix : std::string_view(r.from);
      if (fake.empty()) continue;
      size_t n = alias_matches(path, fake);
      if (n == 0) continue;
      target = r.to.empty() || r.whole ? r.to : r.to + escape_uri(path.substr(n));
    }
    out.rule = &r;
    out.status = r.status;
    if (r.status < 300 || r.status >= 400) {
      out.action = AliasOutcome::Action::Status;
      return out;
    }
    if (!target.empty() && target[0] == '/') target = std::string(server_url) + target;
    if (!query.empty() && target.find('?') == std::string::npos) target += "?" + std::string(query);
    out.action = AliasOutcome::Action::Redirect;
    out.location = std::move(target);
    return out;
  }
  return out;
}

AliasOutcome apply_aliases(const std::vector<config::AliasRule>& rules, std::string_view path) {
  AliasOutcome out;
  for (const auto& r : rules) {
    if (r.regex) {
      core::Regex::Captures c;
      if (r.regex->match(path, &c) != core::Regex::Result::Match) continue;
      out.filename = substitute(r.to, c, false);
    } else {
      size_t n = alias_matches(path, r.from);
      if (n == 0) continue;
      out.filename = r.to + std::string(path.substr(n));
    }
    out.action = AliasOutcome::Action::File;
    out.script = r.script;
    out.rule = &r;
    return out;
  }
  return out;
}

}  // namespace pillar::rewrite

// The environment variables of one request (Apache's r->subprocess_env):
// one table that SetEnvIf/BrowserMatch, SetEnv/PassEnv, RewriteRule E= and
// the balancer (BALANCER_*) write, and that Header env=, %{VAR}e in Header
// values and in LogFormat, RewriteCond %{ENV:VAR}, the FastCGI parameters
// and Pillar's own special variables (nokeepalive, downgrade-1.0,
// force-response-1.0, redirect-carefully) read.
//
// As an APR table: names compare ASCII case-insensitively, insertion order
// is kept (the order the FastCGI parameters go out in), a name holds one
// value. Small: a request sets a handful of variables, so a vector scan.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/text.h"

namespace pillar::http {

class RequestEnv {
 public:
  using Entry = std::pair<std::string, std::string>;

  const std::string* find(std::string_view name) const {
    for (const auto& e : entries_) {
      if (core::iequals(e.first, name)) return &e.second;
    }
    return nullptr;
  }
  bool has(std::string_view name) const { return find(name) != nullptr; }
  // The value, empty when unset (use find() to tell them apart).
  std::string_view get(std::string_view name) const {
    const std::string* v = find(name);
    return v ? std::string_view(*v) : std::string_view();
  }
  void set(std::string_view name, std::string_view value) {
    for (auto& e : entries_) {
      if (core::iequals(e.first, name)) {
        e.second.assign(value);
        return;
      }
    }
    entries_.emplace_back(std::string(name), std::string(value));
  }
  void unset(std::string_view name) {
    std::erase_if(entries_, [&](const Entry& e) { return core::iequals(e.first, name); });
  }
  void clear() { entries_.clear(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

}  // namespace pillar::http

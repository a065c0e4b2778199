// A configuration read from text, for the directive tests: `body` follows
// a Listen line and is read as t.conf, so body line N is t.conf:N+1.
#pragma once
#include <string>

#include "config/loader.h"

namespace config_text {

inline pillar::config::LoadResult load(const std::string& body) {
  pillar::config::LoadOptions o;
  o.server_root = "/tmp";
  return pillar::config::load_config_text("Listen 127.0.0.1:0\n" + body, "t.conf", o);
}

// Every error, one per line, for a failure message.
inline std::string errors(const pillar::config::LoadResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.to_string() + "\n";
  return s;
}

}  // namespace config_text

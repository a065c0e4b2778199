// RewriteMap: named key -> value lookups used as ${name:key|default}.
// txt: (a "key value" file, read at load), rnd: (the same, the value
// chosen at random among "a|b|c"), int: (tolower, toupper, escape,
// unescape), prg: (a long-running helper the master starts, prg_map.h).
// dbm:, dbd: and fastdbd: are refused at load with a message.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rewrite/prg_map.h"

namespace pillar::rewrite {

class Maps {
 public:
  enum class Kind : uint8_t { Txt, Rnd, IntToLower, IntToUpper, IntEscape, IntUnescape, Prg };
  // Defines `name` from "type:source" (`options`: RewriteMap's third
  // argument, prg:'s user:group); "" on success, else the message.
  std::string define(std::string_view name, std::string_view spec, std::string_view options = {});
  // Master: starts the prg: helpers (see prg_map.h); false with `error`.
  bool start_programs(std::chrono::milliseconds timeout, std::string_view user, std::string_view group, std::string& error);
  void program_fds(std::vector<int>& out) const;  // what a worker keeps open for the prg: maps
  bool has(std::string_view name) const { return maps_.count(std::string(name)) > 0; }
  // The value for `key`, or false when the map or the key is unknown.
  bool lookup(std::string_view name, std::string_view key, std::string& value) const;

 private:
  struct Map {
    Kind kind = Kind::Txt;
    std::map<std::string, std::string, std::less<>> entries;
    std::shared_ptr<ProgramMap> program;  // Kind::Prg
  };
  std::map<std::string, Map, std::less<>> maps_;
};

}  // namespace pillar::rewrite

// RewriteMap: named key -> value lookups used as ${name:key|default}.
// txt: (a "key value" file, read at load), rnd: (the same, the value
// chosen at random among "a|b|c"), int: (tolower, toupper, escape,
// unescape). prg: (an external helper the master would run) is not built
// yet: refused at load with a message; dbm:, dbd: and fastdbd: likewise.
#pragma once
#include <map>
#include <string>
#include <string_view>

namespace pillar::rewrite {

class Maps {
 public:
  enum class Kind : uint8_t { Txt, Rnd, IntToLower, IntToUpper, IntEscape, IntUnescape };
  // Defines `name` from "type:source"; "" on success, else the message.
  std::string define(std::string_view name, std::string_view spec);
  bool has(std::string_view name) const { return maps_.count(std::string(name)) > 0; }
  // The value for `key`, or false when the map or the key is unknown.
  bool lookup(std::string_view name, std::string_view key, std::string& value) const;

 private:
  struct Map {
    Kind kind = Kind::Txt;
    std::map<std::string, std::string, std::less<>> entries;
  };
  std::map<std::string, Map, std::less<>> maps_;
};

}  // namespace pillar::rewrite

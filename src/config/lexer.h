// httpd.conf lexing: physical lines -> logical lines (comments dropped,
// trailing '\' joins lines) -> words (double or single quotes group words;
// backslash escapes a quote inside them).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace pillar::config {

struct ConfigLine {
  enum class Kind : uint8_t { Directive, SectionOpen, SectionClose };
  Kind kind = Kind::Directive;
  std::string name;               // directive or section name as written
  std::vector<std::string> args;  // SectionOpen: the words inside <...>
  int line = 0;                   // first physical line
  std::string raw;                // the logical line before splitting (for ${VAR} expansion)
};

// Appends the logical lines of `text` to `out`; problems go to `errors`.
void lex_config(std::string_view text, const std::string& file, std::vector<ConfigLine>& out,
                std::vector<ConfigError>& errors);

}  // namespace pillar::config

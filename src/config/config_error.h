// A configuration error: where it is and what would be right.
#pragma once
#include <string>

namespace pillar::config {

struct ConfigError {
  std::string file;
  int line = 0;
  std::string message;
  std::string to_string() const;  // "FILE:LINE: message"
};

}  // namespace pillar::config

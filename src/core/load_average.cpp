#include "core/load_average.h"

#include <cstdlib>
#include <fstream>
#include <string>

namespace pillar::core {

uint32_t parse_load_milli(std::string_view text, bool& ok) {
  ok = false;
  uint64_t whole = 0, frac = 0;
  size_t i = 0, digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 7) whole = whole * 10 + (text[i++] - '0'), ++digits;
  if (digits == 0) return 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (size_t d = 0; d < 3; ++d) {
      frac *= 10;
      if (i < text.size() && text[i] >= '0' && text[i] <= '9') frac += static_cast<uint64_t>(text[i++] - '0');
    }
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;  // more than thousandths: dropped
  }
  if (i < text.size() && text[i] != ' ' && text[i] != '\n') return 0;
  ok = true;
  return static_cast<uint32_t>(whole * 1000 + frac);
}

uint32_t read_load_milli() {
  const char* path = std::getenv("PILLAR_LOADAVG_FILE");
  std::ifstream f(path && *path ? path : "/proc/loadavg");
  std::string line;
  if (!std::getline(f, line)) return 0;
  bool ok = false;
  uint32_t v = parse_load_milli(line, ok);
  return ok ? v : 0;
}

}  // namespace pillar::core

#include "http/framing_fields.h"

namespace pillar::http {

bool parse_content_length(std::string_view v, uint64_t& out) {
  bool have = false;
  uint64_t first = 0;
  while (true) {
    size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty() || item.size() > 19) return false;  // 19 digits always fit in 64 bits
    uint64_t n = 0;
    for (char c : item) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (have && n != first) return false;
    first = n;
    have = true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  out = first;
  return true;
}

}  // namespace pillar::http

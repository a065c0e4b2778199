#include "http/framing_fields.h"

#include "core/text.h"

namespace pillar::http {

bool parse_content_length(std::string_view v, uint64_t& out) {
  bool have = false;
  uint64_t first = 0;
  while (true) {
    size_t comma = v.find(',');
    auto n = core::parse_decimal(core::trim_ows(v.substr(0, comma)));  // at most 19 digits: fits in 64 bits
    if (!n || (have && *n != first)) return false;
    first = *n;
    have = true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  out = first;
  return true;
}

}  // namespace pillar::http

// RFC 9213 target-list selection; the directives' meaning is policy.cpp's
// (cache_control_from_dictionary), so a targeted field and Cache-Control can
// never disagree on what a directive does.
#include "cache/targeted.h"

#include <array>

namespace pillar::cache {

std::span<const std::string> default_cache_targets() {
  static const std::array<std::string, 2> kDefault{"Pillar-Cache-Control", "CDN-Cache-Control"};
  return kDefault;
}

std::optional<http::sf::Dictionary> selected_targeted_field(const http::ResponseHead& resp,
                                                            std::span<const std::string> targets) {
  for (const std::string& name : targets) {
    std::string joined;
    bool present = false;
    for (const auto& f : resp.headers) {
      if (!http::iequals(f.name, name)) continue;
      if (present) joined += ',';
      joined.append(f.value);
      present = true;
    }
    if (!present) continue;
    std::optional<http::sf::Dictionary> d = http::sf::parse_dictionary(joined);
    if (d && !d->empty()) return d;  // empty or invalid: as if absent (§2.1)
  }
  return std::nullopt;
}

CacheControl effective_cache_control(const http::ResponseHead& resp, std::span<const std::string> targets,
                                     bool* targeted) {
  std::optional<http::sf::Dictionary> d = selected_targeted_field(resp, targets);
  if (targeted) *targeted = d.has_value();
  return d ? cache_control_from_dictionary(*d) : response_cache_control(resp);
}

bool is_target_field(std::string_view name, std::span<const std::string> targets) {
  for (const std::string& t : targets)
    if (http::iequals(name, t)) return true;
  return false;
}

bool append_without_targeted(std::string& out, std::string_view lines, std::span<const std::string> targets) {
  bool dropped = false;
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end == std::string_view::npos ? lines.size() : end + 2);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && is_target_field(line.substr(0, colon), targets)) dropped = true;
    else out.append(line);
    lines.remove_prefix(line.size());
  }
  return dropped;
}

std::string strip_targeted(std::string_view lines, std::span<const std::string> targets) {
  std::string out;
  out.reserve(lines.size());
  append_without_targeted(out, lines, targets);
  return out;
}

}  // namespace pillar::cache

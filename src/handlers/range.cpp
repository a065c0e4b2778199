#include "handlers/range.h"

#include <algorithm>

#include "core/text.h"

namespace pillar::handlers {

namespace {
constexpr size_t kMaxRanges = 100;

using core::trim_ows;

bool number(std::string_view s, uint64_t& v) {
  auto n = core::parse_decimal(s);
  if (n) v = *n;
  return n.has_value();
}
}  // namespace

RangeRequest parse_range(std::string_view header, uint64_t size) {
  RangeRequest none;
  header = trim_ows(header);
  if (header.size() < 6) return none;
  if (!core::istarts_with(header, "bytes=")) return none;
  std::string_view list = header.substr(6);

  RangeRequest out;
  bool any_syntax = false, suffix_seen = false;
  uint64_t total = 0;
  while (true) {
    size_t comma = list.find(',');
    std::string_view spec = trim_ows(list.substr(0, comma));
    if (!spec.empty()) {
      any_syntax = true;
      size_t dash = spec.find('-');
      if (dash == std::string_view::npos) return none;
      std::string_view a = trim_ows(spec.substr(0, dash)), b = trim_ows(spec.substr(dash + 1));
      uint64_t first = 0, last = 0;
      if (a.empty()) {  // suffix: last N bytes
        uint64_t n;
        if (!number(b, n)) return none;
        suffix_seen = suffix_seen || n > 0;
        if (n > 0 && size > 0) out.ranges.push_back({n >= size ? 0 : size - n, size - 1});
      } else {
        if (!number(a, first)) return none;
        if (b.empty()) {
          last = size ? size - 1 : 0;
        } else if (!number(b, last) || last < first) {
          return none;
        }
        if (first < size) out.ranges.push_back({first, std::min(last, size - 1)});
      }
      if (out.ranges.size() > kMaxRanges) return none;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (!any_syntax) return none;
  // An empty representation: a non-zero suffix range is satisfiable but
  // selects nothing, so the whole (empty) body is the answer (RFC 9110 §14.1.1).
  if (out.ranges.empty() && size == 0 && suffix_seen) return none;
  if (out.ranges.empty()) {
    out.kind = RangeRequest::Kind::Unsatisfiable;
    return out;
  }
  // Merge overlapping or adjacent ranges until none overlap (a later range
  // may bridge two earlier ones); each keeps the first one's position.
  std::vector<ByteRange> merged = out.ranges;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < merged.size() && !changed; ++i) {
      for (size_t j = i + 1; j < merged.size(); ++j) {
        ByteRange& m = merged[i];
        const ByteRange& r = merged[j];
        if (r.first <= m.last + 1 && m.first <= r.last + 1) {
          m.first = std::min(m.first, r.first);
          m.last = std::max(m.last, r.last);
          merged.erase(merged.begin() + static_cast<std::ptrdiff_t>(j));
          changed = true;
          break;
        }
      }
    }
  }
  for (const auto& m : merged) total += m.length();
  if (total > size) return none;  // cannot happen after merging; defensive
  out.ranges = std::move(merged);
  out.kind = RangeRequest::Kind::Satisfiable;
  return out;
}

}  // namespace pillar::handlers

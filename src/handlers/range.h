// The Range header (RFC 9110 §14.2) against a representation of known size.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace pillar::handlers {

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  uint64_t length() const { return last - first + 1; }
};

struct RangeRequest {
  enum class Kind : uint8_t { None, Satisfiable, Unsatisfiable } kind = Kind::None;
  std::vector<ByteRange> ranges;  // Satisfiable: in request order, overlaps merged
};

// Absent, malformed or abusive (too many ranges, overlapping far beyond the
// size) Range headers give Kind::None, i.e. a plain 200, as RFC 9110 allows.
RangeRequest parse_range(std::string_view header, uint64_t size);

}  // namespace pillar::handlers

// parse_range against RFC 9110 §14 (Range requests).
#include "handlers/range.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <set>
#include <string>
#include <vector>

using pillar::handlers::ByteRange;
using pillar::handlers::parse_range;
using pillar::handlers::RangeRequest;
using Kind = pillar::handlers::RangeRequest::Kind;

namespace pillar::handlers {
// Readable gtest failure messages for RangeRequest::Kind.
void PrintTo(RangeRequest::Kind k, std::ostream* os) {
  *os << (k == RangeRequest::Kind::None ? "None" : k == RangeRequest::Kind::Satisfiable ? "Satisfiable" : "Unsatisfiable");
}
}  // namespace pillar::handlers

namespace {

struct R {
  uint64_t first;
  uint64_t last;
};

std::vector<std::pair<uint64_t, uint64_t>> pairs(const RangeRequest& r) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const ByteRange& b : r.ranges) out.emplace_back(b.first, b.last);
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> pairs(std::initializer_list<R> rs) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const R& b : rs) out.emplace_back(b.first, b.last);
  return out;
}

// The set of byte offsets the ranges cover; also checks they are well-formed,
// inside the representation and pairwise non-overlapping.
std::set<uint64_t> coverage(const RangeRequest& r, uint64_t size) {
  std::set<uint64_t> bytes;
  uint64_t sum = 0;
  for (const ByteRange& b : r.ranges) {
    EXPECT_LE(b.first, b.last);
    EXPECT_LT(b.last, size);
    sum += b.length();
    for (uint64_t i = b.first; i <= b.last; ++i) bytes.insert(i);
  }
  EXPECT_EQ(sum, bytes.size()) << "ranges overlap after merging";
  return bytes;
}

std::set<uint64_t> span(uint64_t first, uint64_t last) {
  std::set<uint64_t> s;
  for (uint64_t i = first; i <= last; ++i) s.insert(i);
  return s;
}

}  // namespace

// ---- single ranges (§14.1.2 int-range) ----

TEST(ParseRange, SingleRange) {
  RangeRequest r = parse_range("bytes=0-499", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 499}}));
  EXPECT_EQ(r.ranges[0].length(), 500u);
}

TEST(ParseRange, SingleRangeMiddle) {
  RangeRequest r = parse_range("bytes=500-999", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{500, 999}}));
}

TEST(ParseRange, SingleByte) {
  RangeRequest r = parse_range("bytes=0-0", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 0}}));
  EXPECT_EQ(r.ranges[0].length(), 1u);
}

TEST(ParseRange, LastByteByPosition) {
  RangeRequest r = parse_range("bytes=9999-9999", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{9999, 9999}}));
}

TEST(ParseRange, WholeRepresentation) {
  RangeRequest r = parse_range("bytes=0-9999", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 9999}}));
}

// "If the last-pos value is absent, or if the value is greater than or equal
// to the current length ... the byte range is interpreted as the remainder".
TEST(ParseRange, LastPosBeyondSizeIsClamped) {
  RangeRequest r = parse_range("bytes=500-20000", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{500, 9999}}));
}

TEST(ParseRange, HugeLastPosIsClamped) {
  RangeRequest r = parse_range("bytes=1-9999999999999999999", 100);  // 19 digits, fits in 64 bits
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{1, 99}}));
}

TEST(ParseRange, UnitIsCaseInsensitive) {
  // §14.1: "Range unit names are case-insensitive".
  for (const char* h : {"Bytes=0-9", "BYTES=0-9", "bYtEs=0-9"}) {
    RangeRequest r = parse_range(h, 100);
    ASSERT_EQ(r.kind, Kind::Satisfiable) << h;
    EXPECT_EQ(pairs(r), pairs({{0, 9}})) << h;
  }
}

// ---- suffix ranges (§14.1.2 suffix-range) ----

TEST(ParseRange, SuffixRange) {
  RangeRequest r = parse_range("bytes=-500", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{9500, 9999}}));
}

TEST(ParseRange, SuffixOneByte) {
  RangeRequest r = parse_range("bytes=-1", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{9999, 9999}}));
}

// "If the selected representation is shorter than the specified
// suffix-length, the entire representation is used."
TEST(ParseRange, SuffixLongerThanRepresentation) {
  RangeRequest r = parse_range("bytes=-20000", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 9999}}));
}

TEST(ParseRange, SuffixEqualToRepresentation) {
  RangeRequest r = parse_range("bytes=-100", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 99}}));
}

// A suffix-range is satisfiable only with a non-zero suffix-length.
TEST(ParseRange, ZeroSuffixIsUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=-0", 100).kind, Kind::Unsatisfiable);
}

// ---- open ranges (int-range without last-pos) ----

TEST(ParseRange, OpenRange) {
  RangeRequest r = parse_range("bytes=9500-", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{9500, 9999}}));
}

TEST(ParseRange, OpenRangeFromZero) {
  RangeRequest r = parse_range("bytes=0-", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 9999}}));
}

TEST(ParseRange, OpenRangeAtLastByte) {
  RangeRequest r = parse_range("bytes=99-", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{99, 99}}));
}

// ---- unsatisfiable (first-pos >= current length) ----

TEST(ParseRange, FirstPosAtSizeIsUnsatisfiable) {
  RangeRequest r = parse_range("bytes=100-", 100);
  EXPECT_EQ(r.kind, Kind::Unsatisfiable);
  EXPECT_TRUE(r.ranges.empty());
}

TEST(ParseRange, BeyondSizeIsUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=200-300", 100).kind, Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=100-100", 100).kind, Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=1000-", 100).kind, Kind::Unsatisfiable);
}

TEST(ParseRange, AllRangesBeyondSizeIsUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=100-199,300-,-0", 100).kind, Kind::Unsatisfiable);
}

// ---- multiple ranges ----

TEST(ParseRange, MultipleRangesKeepRequestOrder) {
  // §14.6: parts SHOULD be sent in the order the range-specs appeared.
  RangeRequest r = parse_range("bytes=500-599,0-99,900-", 1000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{500, 599}, {0, 99}, {900, 999}}));
}

TEST(ParseRange, MultipleRangesWithSuffix) {
  RangeRequest r = parse_range("bytes=0-0,-1", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 0}, {9999, 9999}}));
}

TEST(ParseRange, RfcExampleRanges) {
  // The examples of RFC 9110 §14.1.2 for a 10000-byte representation.
  RangeRequest r = parse_range("bytes=500-600,601-999", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(coverage(r, 10000), span(500, 999));

  r = parse_range("bytes=500-700,601-999", 10000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(coverage(r, 10000), span(500, 999));
}

// ---- overlap merging ----

TEST(ParseRange, OverlappingRangesAreMerged) {
  RangeRequest r = parse_range("bytes=0-9,5-14", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 14}}));
}

TEST(ParseRange, ContainedRangeIsMerged) {
  RangeRequest r = parse_range("bytes=0-99,10-19", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 99}}));
}

TEST(ParseRange, OverlappingOutOfOrderKeepsFirstPosition) {
  RangeRequest r = parse_range("bytes=50-59,0-9,55-64", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{50, 64}, {0, 9}}));
}

TEST(ParseRange, AdjacentRangesCoverWithoutOverlap) {
  // Coalescing adjacent ranges is allowed (§14.2), not required.
  RangeRequest r = parse_range("bytes=0-9,10-19", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(coverage(r, 100), span(0, 19));
}

TEST(ParseRange, SuffixOverlappingOpenRangeIsMerged) {
  RangeRequest r = parse_range("bytes=90-,-10", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{90, 99}}));
}

TEST(ParseRange, ManyIdenticalRangesCollapse) {
  std::string h = "bytes=0-";
  for (int i = 0; i < 20; ++i) h += ",0-";
  RangeRequest r = parse_range(h, 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 99}}));
}

// A later range bridging two earlier disjoint ones: the result must not
// contain overlapping ranges (header contract: "overlaps merged").
TEST(ParseRange, MergingIsTransitive) {
  RangeRequest r = parse_range("bytes=0-2,5-7,2-5", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(coverage(r, 100), span(0, 7));
  EXPECT_EQ(pairs(r), pairs({{0, 7}}));
}

TEST(ParseRange, MergingIsTransitiveWhenCoveringWholeRepresentation) {
  // Same shape, covering all 8 bytes: still a valid, satisfiable request.
  RangeRequest r = parse_range("bytes=0-2,5-7,2-5", 8);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(coverage(r, 8), span(0, 7));
}

// ---- invalid int-range (last-pos < first-pos) ----

// §14.1.1: "An int-range is invalid if the last-pos value is present and
// less than the first-pos"; an invalid ranges-specifier MAY be ignored (§14.2).
TEST(ParseRange, FirstGreaterThanLastIsIgnored) {
  EXPECT_EQ(parse_range("bytes=500-400", 1000).kind, Kind::None);
  EXPECT_EQ(parse_range("bytes=1-0", 1000).kind, Kind::None);
}

TEST(ParseRange, InvalidSpecAmongValidOnesIsIgnored) {
  EXPECT_EQ(parse_range("bytes=0-9,20-10", 1000).kind, Kind::None);
  EXPECT_EQ(parse_range("bytes=5-1,0-9", 1000).kind, Kind::None);
}

// ---- mixed satisfiable + unsatisfiable ----

// §14.1.1: a range-set is satisfiable if it contains at least one
// satisfiable range-spec; the unsatisfiable ones are left out (§14.6).
TEST(ParseRange, MixedSatisfiableAndUnsatisfiable) {
  RangeRequest r = parse_range("bytes=0-9,200-300", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 9}}));

  r = parse_range("bytes=500-,-0,90-", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{90, 99}}));
}

// ---- whitespace and empty list elements (§5.6.1) ----

TEST(ParseRange, WhitespaceAroundCommas) {
  const RangeRequest expected_shape = parse_range("bytes=0-1,3-4", 100);
  ASSERT_EQ(expected_shape.kind, Kind::Satisfiable);
  for (const char* h : {"bytes=0-1, 3-4", "bytes=0-1 ,3-4", "bytes=0-1 , 3-4", "bytes=0-1,\t3-4",
                        "bytes=0-1  ,  3-4"}) {
    RangeRequest r = parse_range(h, 100);
    ASSERT_EQ(r.kind, Kind::Satisfiable) << h;
    EXPECT_EQ(pairs(r), pairs({{0, 1}, {3, 4}})) << h;
  }
}

TEST(ParseRange, SurroundingWhitespace) {
  RangeRequest r = parse_range("  bytes=0-1\t", 100);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 1}}));
}

TEST(ParseRange, EmptyListElementsAreIgnored) {
  // "a recipient MUST parse and ignore a reasonable number of empty list elements".
  for (const char* h : {"bytes=0-1,,3-4", "bytes=,0-1,3-4", "bytes=0-1,3-4,", "bytes=0-1, ,3-4"}) {
    RangeRequest r = parse_range(h, 100);
    ASSERT_EQ(r.kind, Kind::Satisfiable) << h;
    EXPECT_EQ(pairs(r), pairs({{0, 1}, {3, 4}})) << h;
  }
}

TEST(ParseRange, WhitespaceAroundEqualsIsNotTheGrammar) {
  // ranges-specifier = range-unit "=" range-set: no OWS around "=".
  EXPECT_EQ(parse_range("bytes =0-1", 100).kind, Kind::None);
  EXPECT_EQ(parse_range("bytes 0-1", 100).kind, Kind::None);
}

// ---- other units and garbage -> ignore the header ----

TEST(ParseRange, NonBytesUnitIsIgnored) {
  // §14.2: "An origin server MUST ignore a Range header field that contains a
  // range unit it does not understand."
  EXPECT_EQ(parse_range("items=0-5", 100).kind, Kind::None);
  EXPECT_EQ(parse_range("bits=0-5", 100).kind, Kind::None);
  EXPECT_EQ(parse_range("bytesx=0-5", 100).kind, Kind::None);
  EXPECT_EQ(parse_range("byte=0-5", 100).kind, Kind::None);
  EXPECT_EQ(parse_range("none", 100).kind, Kind::None);
}

TEST(ParseRange, GarbageIsIgnored) {
  for (const char* h : {"", " ", "bytes", "bytes=", "bytes=,", "bytes= , ,", "bytes=-", "bytes=abc",
                        "bytes=1", "bytes=a-b", "bytes=1-b", "bytes=a-1", "bytes=1-2-3", "bytes=--5",
                        "bytes=+1-2", "bytes=1-+2", "bytes=0x10-20", "bytes=-5-", "bytes=1.5-2",
                        "bytes=0-1;3-4", "bytes=-1e3", "=0-1", "garbage"}) {
    RangeRequest r = parse_range(h, 100);
    EXPECT_EQ(r.kind, Kind::None) << '"' << h << '"';
  }
}

TEST(ParseRange, GarbageAmongValidRangesIsIgnored) {
  EXPECT_EQ(parse_range("bytes=0-1,abc", 100).kind, Kind::None);
  EXPECT_EQ(parse_range("bytes=x,0-1", 100).kind, Kind::None);
}

TEST(ParseRange, NumberTooLargeForSixtyFourBitsIsNotMisread) {
  // 2^64 + 5 must not wrap around to 5.
  RangeRequest r = parse_range("bytes=18446744073709551621-", 100);
  EXPECT_NE(r.kind, Kind::Satisfiable);
  r = parse_range("bytes=-18446744073709551621", 100);
  if (r.kind == Kind::Satisfiable) {
    EXPECT_EQ(pairs(r), pairs({{0, 99}}));
  }
}

// ---- abuse ----

TEST(ParseRange, ModerateNumberOfRangesIsAccepted) {
  std::string h = "bytes=";
  for (int i = 0; i < 20; ++i) h += (i ? "," : "") + std::to_string(i * 10) + "-" + std::to_string(i * 10 + 1);
  RangeRequest r = parse_range(h, 1000);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(r.ranges.size(), 20u);
}

TEST(ParseRange, TooManyRangesIsIgnored) {
  std::string h = "bytes=";
  for (int i = 0; i < 1000; ++i) h += (i ? "," : "") + std::to_string(i * 2) + "-" + std::to_string(i * 2);
  EXPECT_EQ(parse_range(h, 1000000).kind, Kind::None);
}

// ---- zero-length representation ----

// §14.1.1: with a zero-length representation, int-ranges are unsatisfiable.
TEST(ParseRange, SizeZeroIntRangeIsUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=0-0", 0).kind, Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-99", 0).kind, Kind::Unsatisfiable);
}

TEST(ParseRange, SizeZeroZeroSuffixIsUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=-0", 0).kind, Kind::Unsatisfiable);
}

// §14.1.1: "When a selected representation has zero length, the only
// satisfiable form of range-spec is a suffix-range with a non-zero
// suffix-length." The entire (empty) representation is then used, which a
// ByteRange cannot express, so the header must be treated as absent (200),
// never as 416.
TEST(ParseRange, SizeZeroNonZeroSuffixIsNotUnsatisfiable) {
  RangeRequest r = parse_range("bytes=-5", 0);
  EXPECT_NE(r.kind, Kind::Unsatisfiable);
  EXPECT_EQ(r.kind, Kind::None);
}

TEST(ParseRange, SizeZeroGarbageIsStillNone) {
  EXPECT_EQ(parse_range("items=0-1", 0).kind, Kind::None);
  EXPECT_EQ(parse_range("bytes=x", 0).kind, Kind::None);
}

TEST(ParseRange, SizeOne) {
  RangeRequest r = parse_range("bytes=0-", 1);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 0}}));
  r = parse_range("bytes=-1", 1);
  ASSERT_EQ(r.kind, Kind::Satisfiable);
  EXPECT_EQ(pairs(r), pairs({{0, 0}}));
  EXPECT_EQ(parse_range("bytes=1-", 1).kind, Kind::Unsatisfiable);
}

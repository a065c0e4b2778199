// Structured Field Values (RFC 8941): the Dictionary parser, for the fields
// defined as Dictionaries (today the targeted cache-control fields of RFC
// 9213, CDN-Cache-Control and its kin). Strict, as RFC 8941 §4.2 requires:
// any deviation from the grammar fails the whole field, and the caller then
// ignores the field as if it were absent (RFC 9213 §2.1).
//
// What is kept: each member's key and bare item (type and value), in order.
// Parameters and the items of inner lists are checked and dropped (RFC 9213
// §2.1: parameters on cache directives are ignored). A repeated key keeps its
// first position and its last value (RFC 8941 §4.2.2).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pillar::http::sf {

enum class Type : uint8_t { Integer, Decimal, String, Token, ByteSequence, Boolean, InnerList };

struct Member {
  std::string key;
  Type type = Type::Boolean;
  int64_t integer = 0;   // Integer: its value (at most 15 digits, so never overflows)
  bool boolean = true;   // Boolean: its value (a key without "=" is Boolean true)
  std::string text;      // String: unescaped; Token, Decimal: as written; ByteSequence: the base64 between colons
};

using Dictionary = std::vector<Member>;

// Parses a field value (every line of the field joined with ","). nullopt on
// any parse error. An empty value parses as an empty Dictionary.
std::optional<Dictionary> parse_dictionary(std::string_view field_value);

}  // namespace pillar::http::sf

// Small text helpers every layer needs, written once: ASCII case (HTTP field
// names, config keywords and host names are ASCII case-insensitive, never
// locale-dependent), optional whitespace (RFC 9110 §5.6.3 OWS: SP / HTAB),
// and the plain digit runs of HTTP and config values. Header-only and
// allocation-free except lowercase(), so the parsers can use them freely.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pillar::core {

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }
constexpr char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - ('a' - 'A')) : c; }

inline void lowercase_in_place(std::string& s) {
  for (auto& c : s) c = ascii_lower(c);
}
inline std::string lowercase(std::string_view s) {
  std::string r(s);
  lowercase_in_place(r);
  return r;
}
inline void uppercase_in_place(std::string& s) {
  for (auto& c : s) c = ascii_upper(c);
}

// ASCII case-insensitive equality.
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}
constexpr bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

constexpr bool is_ows(char c) { return c == ' ' || c == '\t'; }
constexpr std::string_view trim_ows_front(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  return s;
}
constexpr std::string_view trim_ows(std::string_view s) {
  s = trim_ows_front(s);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
// The value of a hex digit, or -1.
constexpr int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 1*DIGIT: nothing else (no sign, no blanks), at most 19 digits, so every
// accepted value fits in 64 bits (Content-Length, byte ranges, ports...).
constexpr int kMaxDecimalDigits = 19;
constexpr std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > kMaxDecimalDigits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace pillar::core

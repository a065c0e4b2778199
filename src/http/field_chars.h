// Character classes of RFC 9110 shared by the request and response parsers.
#pragma once
#include <string_view>

namespace pillar::http::chars {

// tchar, as a table built at compile time.
struct TokenTable {
  bool v[256] = {};
  constexpr TokenTable() {
    for (int c = '0'; c <= '9'; ++c) v[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) v[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) v[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) v[static_cast<unsigned char>(c)] = true;
  }
};
inline constexpr TokenTable kToken;

inline bool is_token(unsigned char c) { return kToken.v[c]; }
// field-vchar / obs-text / SP / HTAB (a reason-phrase allows the same set).
inline bool is_value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

}  // namespace pillar::http::chars

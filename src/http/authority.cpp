// Validation follows RFC 3986's host grammar loosely, as the request parser
// always did: an IP-literal holds hex digits, ':' and '.', a reg-name the
// unreserved, pct-encoded and sub-delims characters.
#include "http/authority.h"

#include <array>

#include "core/assert.h"
#include "core/text.h"

namespace pillar::http {

namespace {

// A table, not isalnum() and a chain of compares: this runs for every byte
// of every request's Host, twice (the parser checks it, routing keys it).
constexpr std::array<bool, 256> kRegNameChars = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<size_t>(c)] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  for (char c : std::string_view("-._~%!$&'()*+,;=")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool reg_name_char(unsigned char c) { return kRegNameChars[c]; }
bool ip_literal_char(unsigned char c) { return core::hex_digit(static_cast<char>(c)) >= 0 || c == ':' || c == '.'; }

}  // namespace

std::optional<AuthorityParts> split_authority(std::string_view a) {
  if (a.empty()) return std::nullopt;
  AuthorityParts out{a, {}};
  if (a.front() == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    for (unsigned char c : a.substr(1, close - 1))
      if (!ip_literal_char(c)) return std::nullopt;
    out.host = a.substr(0, close + 1);
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      out.port = rest.substr(1);
    }
  } else {
    size_t colon = a.find(':');
    if (colon != std::string_view::npos) {
      out.host = a.substr(0, colon);
      out.port = a.substr(colon + 1);
      if (out.host.empty()) return std::nullopt;
    }
    for (unsigned char c : out.host)
      if (!reg_name_char(c)) return std::nullopt;
  }
  if (out.port.size() > 5) return std::nullopt;
  for (char c : out.port)
    if (c < '0' || c > '9') return std::nullopt;
  PILLAR_ASSERT(!out.host.empty());
  return out;
}

bool authority_host(std::string_view text, std::string& host) {
  host.clear();
  auto parts = split_authority(text);
  if (!parts) return false;
  std::string_view h = parts->host;
  if (h.back() == '.') h.remove_suffix(1);  // "example.com." names example.com (RFC 1034 §3.1)
  host.resize(h.size());
  for (size_t i = 0; i < h.size(); ++i) host[i] = core::ascii_lower(h[i]);
  return true;
}

}  // namespace pillar::http

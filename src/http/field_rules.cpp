#include "http/field_rules.h"

#include <cstdint>

#include "core/text.h"

namespace pillar::http {

namespace {

enum : uint8_t { kHop = 1, kFraming = 2, kConditional = 4 };

// Every field of every proxied request and response is classified, so the
// length picks the few names to compare (most fields match none).
uint8_t field_class(std::string_view n) {
  using core::iequals;
  switch (n.size()) {
    case 2: return iequals(n, "TE") ? kHop : 0;
    case 5: return iequals(n, "Range") ? kConditional : 0;
    case 6: return iequals(n, "Expect") ? kFraming : 0;
    case 7: return iequals(n, "Upgrade") ? kHop : iequals(n, "Trailer") ? kHop | kFraming : 0;
    case 8: return iequals(n, "If-Match") || iequals(n, "If-Range") ? kConditional : 0;
    case 10: return iequals(n, "Connection") || iequals(n, "Keep-Alive") ? kHop : 0;
    case 13: return iequals(n, "If-None-Match") ? kConditional : 0;
    case 14: return iequals(n, "Content-Length") ? kFraming : 0;
    case 16: return iequals(n, "Proxy-Connection") ? kHop : 0;
    case 17:
      return iequals(n, "Transfer-Encoding") ? kHop | kFraming : iequals(n, "If-Modified-Since") ? kConditional : 0;
    case 18: return iequals(n, "Proxy-Authenticate") ? kHop : 0;
    case 19:
      return iequals(n, "Proxy-Authorization") ? kHop : iequals(n, "If-Unmodified-Since") ? kConditional : 0;
    case 25: return iequals(n, "Proxy-Authentication-Info") ? kHop : 0;
    default: return 0;
  }
}

}  // namespace

bool hop_by_hop(std::string_view name) { return field_class(name) & kHop; }
bool framing_field(std::string_view name) { return field_class(name) & kFraming; }
bool hop_or_framing(std::string_view name) { return field_class(name) & (kHop | kFraming); }
bool conditional_or_range(std::string_view name) { return field_class(name) & kConditional; }

}  // namespace pillar::http

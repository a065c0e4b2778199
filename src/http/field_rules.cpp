#include "http/field_rules.h"

namespace pillar::http {

namespace {

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (iequals(n, name)) return true;
  }
  return false;
}

}  // namespace

bool hop_by_hop(std::string_view name) {
  return one_of(name, {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding", "Upgrade", "Trailer",
                       "Proxy-Authorization", "Proxy-Authenticate", "Proxy-Authentication-Info"});
}

bool framing_field(std::string_view name) {
  return one_of(name, {"Content-Length", "Transfer-Encoding", "Trailer", "Expect"});
}

bool conditional_or_range(std::string_view name) {
  return one_of(name, {"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"});
}

}  // namespace pillar::http

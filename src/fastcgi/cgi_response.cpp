#include "fastcgi/cgi_response.h"

#include "core/text.h"

namespace pillar::fastcgi {
namespace {

bool hop_by_hop(std::string_view n) {
  return core::iequals(n, "Connection") || core::iequals(n, "Keep-Alive") || core::iequals(n, "Transfer-Encoding") ||
         core::iequals(n, "TE") || core::iequals(n, "Trailer") || core::iequals(n, "Upgrade") ||
         core::iequals(n, "Proxy-Connection");
}

bool token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace

CgiParse parse_cgi_head(std::string_view in, size_t max_head, CgiHead& head, size_t& consumed, const char*& why) {
  head = CgiHead();
  consumed = 0;
  why = nullptr;
  size_t pos = 0;
  std::string_view location;
  for (;;) {
    size_t nl = in.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (in.size() > max_head) return why = "the script's response head is too large", CgiParse::Error;
      return CgiParse::Incomplete;
    }
    if (nl + 1 > max_head) return why = "the script's response head is too large", CgiParse::Error;
    std::string_view line = in.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') return why = "folded header line from the script", CgiParse::Error;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return why = "malformed header line from the script", CgiParse::Error;
    std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!token_char(c)) return why = "malformed header name from the script", CgiParse::Error;
    }
    std::string_view value = core::trim_ows(line.substr(colon + 1));
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return why = "control character in a header value from the script", CgiParse::Error;
    }
    if (core::iequals(name, "Status")) {
      if (value.size() < 3 || value[0] < '1' || value[0] > '5' || value[1] < '0' || value[1] > '9' || value[2] < '0' ||
          value[2] > '9' || (value.size() > 3 && value[3] != ' '))
        return why = "malformed Status: from the script", CgiParse::Error;
      head.status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
      if (head.status < 200) return why = "interim Status: from the script", CgiParse::Error;
      head.reason = std::string(core::trim_ows(value.substr(3)));
      head.has_status = true;
      continue;
    }
    if (hop_by_hop(name)) continue;
    if (core::iequals(name, "Content-Length")) {
      auto n = core::parse_decimal(value);
      if (!n || head.has_content_length) return why = "malformed Content-Length from the script", CgiParse::Error;
      head.has_content_length = true;
      head.content_length = *n;
    }
    if (core::iequals(name, "Location")) location = value;
    head.fields.emplace_back(std::string(name), std::string(value));
  }
  consumed = pos;
  if (!location.empty() && !head.has_status) {
    head.status = 302;
    head.local_redirect = location[0] == '/';
  }
  return CgiParse::Complete;
}

std::string_view CgiHead::location() const {
  for (const auto& [name, value] : fields)
    if (core::iequals(name, "Location")) return value;
  return {};
}

}  // namespace pillar::fastcgi

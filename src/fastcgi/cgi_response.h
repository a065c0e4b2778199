// The head of a CGI response (RFC 3875 §6.2-6.3), as a FastCGI application
// writes it on STDOUT: header lines (LF or CRLF) up to an empty line.
//   Status: 404 Not Found   -> the response's status (100-199 refused)
//   Location: /local/path   -> a local redirect when there is no Status:
//                              (Apache re-runs the request internally;
//                              Pillar answers 302 with that Location)
//   Location: http://...    -> a client redirect: 302 unless Status: says
// Other fields pass on, in order; hop-by-hop fields (Connection,
// Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade, Proxy-Connection)
// are dropped: Pillar frames the response itself. A Content-Length that
// parses is kept (the body is then exactly that long).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pillar::fastcgi {

struct CgiHead {
  int status = 200;
  std::string reason;                // from Status:, may be empty
  bool has_status = false;
  bool local_redirect = false;       // Location: /path without Status:
  std::vector<std::pair<std::string, std::string>> fields;  // passed on (Location included)
  bool has_content_length = false;
  uint64_t content_length = 0;

  std::string_view location() const;  // the Location field's value (empty: none)
};

enum class CgiParse : uint8_t { Incomplete, Complete, Error };

// Parses the head at the start of `in`. Complete: `consumed` bytes were the
// head (the body follows). Incomplete past `max_head` bytes is an Error.
CgiParse parse_cgi_head(std::string_view in, size_t max_head, CgiHead& head, size_t& consumed, const char*& why);

}  // namespace pillar::fastcgi

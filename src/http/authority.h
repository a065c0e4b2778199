// The authority of a request (RFC 9110 §4.2.3, RFC 3986 §3.2.2): the Host
// header, an absolute-form target's "host[:port]", or a URL handed to
// `pillarctl cache purge`. One parser for all of them, so every path that
// keys by host (vhost routing, the cache key, PURGE, bans) agrees on what a
// host is:
//   - host = IP-literal ("[::1]", brackets kept) / IPv4 / reg-name, then an
//     optional ":" and up to 5 digits of port (an empty port is allowed);
//   - the host key is lower-cased and loses one trailing dot
//     ("Example.COM.:80" is "example.com"), the port is split off;
//   - anything else (userinfo, spaces, a second colon outside brackets, an
//     unclosed bracket, a non-digit port) is refused.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace pillar::http {

struct AuthorityParts {
  std::string_view host;  // as written, brackets of an IP-literal included
  std::string_view port;  // digits only; empty when absent (or "host:")
};

// Checks and splits `text`; nullopt when it is not a valid authority.
std::optional<AuthorityParts> split_authority(std::string_view text);

// The host key of a valid authority into `host` (its buffer is reused: this
// runs once per request). False, with `host` empty, when `text` is invalid.
bool authority_host(std::string_view text, std::string& host);

}  // namespace pillar::http

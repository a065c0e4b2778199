// Strict request-head parser. Design: one forward pass over the bytes
// received so far; every line must end in CRLF (bare LF and bare CR are
// refused: lenient line endings are how request smuggling starts). The
// caller re-invokes with more bytes while Incomplete; limits are enforced on
// partial input so an endless line is refused before it ends.
#include "http/request_parser.h"

#include <cctype>
#include <cstring>

#include "http/authority.h"
#include "core/text.h"
#include "http/field_chars.h"
#include "http/framing_fields.h"

namespace pillar::http {

namespace {

using chars::is_token;
using chars::is_value_char;
// request-target: visible ASCII (and obs-text is not allowed in targets)
inline bool is_target_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

ParseOutcome error(int status, const char* reason) {
  ParseOutcome o;
  o.kind = ParseOutcome::Error;
  o.status = status;
  o.reason = reason;
  return o;
}

Method method_of(std::string_view m) {
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::Get;
      if (m == "PUT") return Method::Put;
      break;
    case 4:
      if (m == "HEAD") return Method::Head;
      if (m == "POST") return Method::Post;
      break;
    case 5:
      if (m == "PATCH") return Method::Patch;
      if (m == "TRACE") return Method::Trace;
      if (m == "PURGE") return Method::Purge;
      break;
    case 6:
      if (m == "DELETE") return Method::Delete;
      break;
    case 7:
      if (m == "OPTIONS") return Method::Options;
      if (m == "CONNECT") return Method::Connect;
      break;
  }
  return Method::Other;
}

bool valid_authority(std::string_view a) { return split_authority(a).has_value(); }

// A line with no LF yet: a CR that is not the last byte received is a bare
// CR (RFC 9112 §2.2 lets a recipient reject it). Refused now, not when the
// header timeout ends a client that uses CR alone as its line ending. A CR
// inside a line that does have its LF is refused by the character checks.
bool has_bare_cr(const char* p, const char* end) {
  return end - p > 1 && std::memchr(p, '\r', static_cast<size_t>(end - p - 1)) != nullptr;
}

}  // namespace

ParseOutcome parse_request_head(std::string_view buf, const ParseLimits& limits, RequestHead& out) {
  if (buf.empty()) return ParseOutcome{};  // (a null view must not reach memchr)
  const char* const begin = buf.data();
  const char* const end = begin + buf.size();
  const char* p = begin;

  // RFC 9112 §2.2: ignore a few empty lines before the request line.
  for (int i = 0; i < 4 && p < end && (*p == '\r' || *p == '\n'); ++i) {
    if (*p == '\n') return error(400, "bare LF before request line");
    if (p + 1 >= end) return ParseOutcome{};
    if (p[1] != '\n') return error(400, "bare CR before request line");
    p += 2;
  }

  // ---- request line
  const char* eol = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
  if (!eol) {
    if (has_bare_cr(p, end)) return error(400, "request line ends in a bare CR");
    // A CR already received may be the line's own terminator: not counted.
    if (static_cast<size_t>(end - p) - (end[-1] == '\r') > limits.request_line) return error(414, "request line too long");
    return ParseOutcome{};
  }
  if (eol == p || eol[-1] != '\r') return error(400, "request line not terminated by CRLF");
  const char* line_end = eol - 1;
  if (static_cast<size_t>(line_end - p) > limits.request_line) return error(414, "request line too long");

  out.headers.clear();
  out.chunked = out.has_content_length = out.expect_continue = out.upgrade = false;
  out.content_length = 0;
  out.query = {};
  out.authority = {};

  const char* m = p;
  while (p < line_end && is_token(static_cast<unsigned char>(*p))) ++p;
  if (p == m) return error(400, "missing or invalid method");
  if (p == line_end || *p != ' ') return error(400, "invalid character in method");
  out.method_name = std::string_view(m, static_cast<size_t>(p - m));
  out.method = method_of(out.method_name);
  ++p;

  const char* t = p;
  while (p < line_end && is_target_char(static_cast<unsigned char>(*p))) ++p;
  if (p == t) return error(400, "missing request target");
  if (p == line_end) return error(400, "missing HTTP version (HTTP/0.9 is not supported)");
  if (*p != ' ') return error(400, "invalid character in request target");
  out.target = std::string_view(t, static_cast<size_t>(p - t));
  ++p;

  std::string_view version(p, static_cast<size_t>(line_end - p));
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return error(400, "malformed HTTP version");
  out.version_major = static_cast<uint8_t>(version[5] - '0');
  out.version_minor = static_cast<uint8_t>(version[7] - '0');
  if (out.version_major != 1) return error(505, "unsupported HTTP major version");

  // ---- header fields
  p = eol + 1;
  const char* head_end = nullptr;
  std::string_view host_value;
  int host_count = 0;
  FramingFields ff;
  std::string_view expect;
  bool has_upgrade = false;

  while (true) {
    if (p >= end) return ParseOutcome{};
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!nl) {
      if (has_bare_cr(p, end)) return error(400, "header line ends in a bare CR");
      if (static_cast<size_t>(end - p) - (end[-1] == '\r') > limits.field_size) return error(431, "header field too large");
      return ParseOutcome{};
    }
    if (nl == p || nl[-1] != '\r') return error(400, "header line not terminated by CRLF");
    const char* le = nl - 1;  // at '\r'
    if (le == p) {            // empty line: end of head
      head_end = nl + 1;
      break;
    }
    if (static_cast<size_t>(le - p) > limits.field_size) return error(431, "header field too large");
    if (core::is_ows(*p)) return error(400, "obsolete line folding");
    if (out.headers.size() >= limits.field_count) return error(431, "too many header fields");

    const char* n = p;
    while (p < le && is_token(static_cast<unsigned char>(*p))) ++p;
    if (p == n) return error(400, "invalid header field name");
    if (p == le || *p != ':') {
      if (p < le && core::is_ows(*p)) return error(400, "whitespace before colon in header field");
      return error(400, "invalid character in header field name");
    }
    std::string_view name(n, static_cast<size_t>(p - n));
    ++p;
    while (p < le && core::is_ows(*p)) ++p;
    const char* v = p;
    for (; p < le; ++p)
      if (!is_value_char(static_cast<unsigned char>(*p))) return error(400, "invalid character in header value");
    const char* ve = le;
    while (ve > v && core::is_ows(ve[-1])) --ve;
    std::string_view value(v, static_cast<size_t>(ve - v));
    out.headers.push_back({name, value});
    p = nl + 1;

    // Fields that decide framing and routing.
    switch (name.size()) {
      case 4:
        if (iequals(name, "Host")) {
          ++host_count;
          host_value = value;
        }
        break;
      case 6:
        if (iequals(name, "Expect")) expect = value;
        break;
      case 7:
        if (iequals(name, "Upgrade")) has_upgrade = true;
        break;
      default:
        if (ff.take(name, value) && ff.too_many_te) return error(400, "too many Transfer-Encoding fields");
        break;
    }
  }

  // ---- request target
  std::string_view target = out.target;
  if (target.find('#') != std::string_view::npos) return error(400, "fragment in request target");
  if (out.method == Method::Connect) {  // authority-form only (RFC 9112 §3.2.3)
    if (!valid_authority(target) || target.find(':') == std::string_view::npos)
      return error(400, "CONNECT needs an authority-form target (host:port)");
    out.authority = target;
    out.path = {};
  } else if (target.front() == '/') {
    size_t q = target.find('?');
    out.path = target.substr(0, q);
    if (q != std::string_view::npos) out.query = target.substr(q + 1);
  } else if (target == "*") {
    if (out.method != Method::Options) return error(400, "asterisk-form target is only valid with OPTIONS");
    out.path = target;
  } else if (core::istarts_with(target, "http://") || core::istarts_with(target, "https://")) {
    std::string_view rest = target.substr(target[4] == ':' ? 7 : 8);
    size_t slash = rest.find_first_of("/?");
    std::string_view auth = rest.substr(0, slash);
    if (auth.find('@') != std::string_view::npos) return error(400, "userinfo in request target");
    if (!valid_authority(auth)) return error(400, "invalid authority in absolute-form target");
    out.authority = auth;
    std::string_view pq = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    size_t q = pq.find('?');
    out.path = pq.substr(0, q);
    if (out.path.empty()) out.path = "/";  // a view of a literal: fine, paths are read-only
    if (q != std::string_view::npos) out.query = pq.substr(q + 1);
  } else {
    return error(400, "invalid request target form");
  }

  // ---- semantics
  bool http11 = out.version_minor >= 1;
  if (host_count > 1) return error(400, "more than one Host header");
  if (http11 && host_count == 0) return error(400, "HTTP/1.1 request without Host");
  if (host_count == 1 && !host_value.empty() && !valid_authority(host_value))
    return error(400, "invalid Host header");
  if (http11 && host_count == 1 && host_value.empty() && out.authority.empty())
    return error(400, "empty Host header");
  if (out.authority.empty()) out.authority = host_value;

  out.has_content_length = ff.has_content_length;
  out.content_length = ff.content_length;
  if (ff.bad_content_length) return error(400, "invalid or conflicting Content-Length");
  if (ff.te_count > 0) {
    if (!http11) return error(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (out.has_content_length) return error(400, "both Content-Length and Transfer-Encoding");
    // The codings in order; the last must be chunked, and only chunked alone is supported.
    int codings = 0;
    bool last_chunked = false, unknown = false;
    for (int i = 0; i < ff.te_count; ++i) {
      std::string_view list = ff.te_values[i];
      while (true) {
        size_t comma = list.find(',');
        std::string_view item = core::trim_ows(list.substr(0, comma));
        if (!item.empty()) {
          if (last_chunked) return error(400, "chunked is not the final transfer coding");
          ++codings;
          if (iequals(item, "chunked")) last_chunked = true;
          else unknown = true;
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
    if (codings == 0) return error(400, "empty Transfer-Encoding");
    if (!last_chunked) return error(400, "final transfer coding is not chunked");
    if (unknown) return error(501, "unsupported transfer coding");
    out.chunked = true;
  }

  out.keep_alive = !ff.close && (http11 || ff.keep_alive_token);
  out.upgrade = ff.upgrade_token && has_upgrade;

  if (!expect.empty()) {
    if (!iequals(expect, "100-continue")) return error(417, "unsupported expectation");
    out.expect_continue = http11;
  }

  ParseOutcome ok;
  ok.kind = ParseOutcome::Complete;
  ok.consumed = static_cast<size_t>(head_end - begin);
  return ok;
}

}  // namespace pillar::http

// Strict response-head parser for upstream responses. Design follows
// request_parser.cpp: one forward pass over the bytes received so far, CRLF
// line endings only, limits enforced on partial input. The fixed part of the
// status line ("HTTP/1.x NNN ") is checked as soon as its bytes arrive, so a
// peer that does not speak HTTP/1.x is refused without waiting for a CRLF.
// The decisions where the RFC leaves a choice are listed in response_parser.h.
#include "http/response_parser.h"

#include <cstring>

#include "core/text.h"
#include "http/field_chars.h"
#include "http/framing_fields.h"

namespace pillar::http {

namespace {

using chars::is_token;
using chars::is_value_char;
using core::is_digit;
using core::is_ows;
using core::trim_ows;

ParseOutcome error(const char* reason) {
  ParseOutcome o;
  o.kind = ParseOutcome::Error;
  o.status = 502;  // the proxy answers its client 502 Bad Gateway
  o.reason = reason;
  return o;
}

// Checks the status line without its CRLF, or, when !complete, as much of it
// as has arrived (without a trailing CR that may be its terminator).
// Layout: "HTTP/1.x" SP 3DIGIT [ SP reason-phrase ]
//          01234567  8  9..11     12  13..
const char* check_status_line(std::string_view s, bool complete) {
  constexpr std::string_view kName = "HTTP/";
  const size_t n = s.size();
  for (size_t i = 0; i < n && i < kName.size(); ++i)
    if (s[i] != kName[i]) return "malformed HTTP version in status line";
  if (n > 5 && !is_digit(s[5])) return "malformed HTTP version in status line";
  if (n > 6 && s[6] != '.') return "malformed HTTP version in status line";
  if (n > 7 && !is_digit(s[7])) return "malformed HTTP version in status line";
  if (n > 5 && s[5] != '1') return "unsupported HTTP version (only HTTP/1.0 and HTTP/1.1)";
  if (n > 7 && s[7] > '1') return "unsupported HTTP version (only HTTP/1.0 and HTTP/1.1)";
  if (n > 8 && s[8] != ' ') return "missing SP after HTTP version";
  for (size_t i = 9; i < n && i < 12; ++i)
    if (!is_digit(s[i])) return "status code is not three digits";
  if (n >= 12) {
    int code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (code < 100 || code > 599) return "status code outside 100..599";
  }
  if (n > 12 && s[12] != ' ') return "status code is not three digits";
  for (size_t i = 13; i < n; ++i)
    if (!is_value_char(static_cast<unsigned char>(s[i]))) return "invalid character in reason phrase";
  if (complete && n < 12) return "truncated status line";
  return nullptr;
}

// The transfer codings of all Transfer-Encoding fields, in order.
struct Codings {
  int count = 0;
  int chunked = 0;
  bool last_chunked = false;
};

const char* parse_transfer_codings(const std::string_view* values, int n, Codings& c) {
  for (int i = 0; i < n; ++i) {
    std::string_view list = values[i];
    while (true) {
      size_t comma = list.find(',');
      std::string_view item = trim_ows(list.substr(0, comma));
      if (!item.empty()) {  // empty list elements are ignored (RFC 9110 §5.6.1)
        size_t semi = item.find(';');
        std::string_view name = trim_ows(item.substr(0, semi));
        if (name.empty()) return "invalid transfer coding";
        for (char ch : name)
          if (!is_token(static_cast<unsigned char>(ch))) return "invalid transfer coding";
        bool chunked = iequals(name, "chunked");
        if (chunked && semi != std::string_view::npos) return "parameters on the chunked transfer coding";
        ++c.count;
        c.chunked += chunked;
        c.last_chunked = chunked;
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  if (c.count == 0) return "empty Transfer-Encoding";
  if (c.chunked > 1) return "chunked transfer coding applied more than once";
  return nullptr;
}

}  // namespace

std::string_view ResponseHead::find(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return {};
}

bool ResponseHead::has(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return true;
  return false;
}

void ResponseHead::reset() {
  version_major = version_minor = 1;
  status = 0;
  reason = {};
  headers.clear();
  framing = Framing::None;
  content_length = 0;
  keep_alive = true;
  upgrade = false;
}

ParseOutcome parse_response_head(std::string_view buf, const ResponseLimits& limits, bool request_was_head,
                                 ResponseHead& out) {
  if (buf.empty()) return ParseOutcome{};  // (a null view must not reach memchr)
  const char* const begin = buf.data();
  const char* const end = begin + buf.size();
  const char* p = begin;

  // ---- status line
  const char* eol = static_cast<const char*>(std::memchr(p, '\n', buf.size()));
  if (!eol) {
    // A CR already received may be the line's own terminator: not counted.
    std::string_view partial(p, buf.size() - (end[-1] == '\r'));
    if (partial.size() > limits.status_line) return error("status line too long");
    if (const char* why = check_status_line(partial, false)) return error(why);
    return ParseOutcome{};
  }
  if (eol == p || eol[-1] != '\r') return error("status line not terminated by CRLF");
  std::string_view line(p, static_cast<size_t>(eol - 1 - p));
  if (line.size() > limits.status_line) return error("status line too long");
  if (const char* why = check_status_line(line, true)) return error(why);

  out.reset();
  out.version_major = static_cast<uint8_t>(line[5] - '0');
  out.version_minor = static_cast<uint8_t>(line[7] - '0');
  out.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (line.size() > 12) out.reason = line.substr(13);

  // ---- header fields
  p = eol + 1;
  const char* head_end = nullptr;
  FramingFields ff;
  std::string_view upgrade_value;

  while (true) {
    if (p >= end) return ParseOutcome{};
    // With the field budget spent, anything but the final CRLF is one too many.
    if (out.headers.size() >= limits.field_count && *p != '\r') return error("too many header fields");
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!nl) {
      if (static_cast<size_t>(end - p) - (end[-1] == '\r') > limits.field_size) return error("header field too large");
      return ParseOutcome{};
    }
    if (nl == p || nl[-1] != '\r') return error("header line not terminated by CRLF");
    const char* le = nl - 1;  // at '\r'
    if (le == p) {            // empty line: end of head
      head_end = nl + 1;
      break;
    }
    if (static_cast<size_t>(le - p) > limits.field_size) return error("header field too large");
    if (is_ows(*p)) return error("obsolete line folding");

    const char* n = p;
    while (p < le && is_token(static_cast<unsigned char>(*p))) ++p;
    if (p == n) return error("invalid header field name");
    if (p == le || *p != ':') {
      if (p < le && is_ows(*p)) return error("whitespace before colon in header field");
      return error("invalid character in header field name");
    }
    std::string_view name(n, static_cast<size_t>(p - n));
    ++p;
    while (p < le && is_ows(*p)) ++p;
    const char* v = p;
    for (; p < le; ++p)
      if (!is_value_char(static_cast<unsigned char>(*p))) return error("invalid character in header value");
    const char* ve = le;
    while (ve > v && is_ows(ve[-1])) --ve;
    std::string_view value(v, static_cast<size_t>(ve - v));
    out.headers.push_back({name, value});
    p = nl + 1;

    // Fields that decide framing and connection reuse.
    if (ff.take(name, value)) {
      if (ff.too_many_te) return error("too many Transfer-Encoding fields");
    } else if (name.size() == 7 && iequals(name, "Upgrade")) {
      upgrade_value = value;
    }
  }

  // ---- semantics (RFC 9112 §6.3)
  const bool http11 = out.version_minor >= 1;
  if (ff.bad_content_length) return error("invalid or conflicting Content-Length");
  Codings codings;
  if (ff.te_count > 0) {
    if (!http11) return error("Transfer-Encoding in an HTTP/1.0 response");
    if (const char* why = parse_transfer_codings(ff.te_values, ff.te_count, codings)) return error(why);
  }

  out.keep_alive = !ff.close && (http11 || ff.keep_alive_token);

  if (out.status == 101) {
    if (!http11) return error("101 Switching Protocols in an HTTP/1.0 response");
    if (!ff.upgrade_token || upgrade_value.empty()) return error("101 Switching Protocols without Connection: upgrade and Upgrade");
    out.upgrade = true;
    out.keep_alive = false;  // the connection now carries another protocol
  }

  if (request_was_head || out.status < 200 || out.status == 204 || out.status == 304) {
    out.framing = ResponseHead::Framing::None;
  } else if (ff.te_count > 0) {
    if (codings.last_chunked) {
      out.framing = ResponseHead::Framing::Chunked;
      // Transfer-Encoding overrides Content-Length, but a message with both
      // may be a smuggling attempt: do not reuse the connection after it.
      if (ff.has_content_length) out.keep_alive = false;
    } else {
      out.framing = ResponseHead::Framing::UntilClose;
      out.keep_alive = false;
    }
  } else if (ff.has_content_length) {
    out.framing = ResponseHead::Framing::ContentLength;
    out.content_length = ff.content_length;
  } else {
    out.framing = ResponseHead::Framing::UntilClose;
    out.keep_alive = false;
  }

  ParseOutcome ok;
  ok.kind = ParseOutcome::Complete;
  ok.consumed = static_cast<size_t>(head_end - begin);
  return ok;
}

}  // namespace pillar::http

// The header fields both parsers read to decide a message's framing and the
// connection's reuse, gathered the same way for requests and responses:
// every Connection line counts (RFC 9112 §9.6), repeated Content-Length
// values must agree (RFC 9110 §8.6), Transfer-Encoding lines are kept for
// the caller, whose rules for the codings differ (a server refuses what it
// cannot decode; a proxy reads an unknown coding until close).
#pragma once
#include <cstdint>
#include <string_view>

#include "http/request.h"

namespace pillar::http {

// Content-Length: 1*DIGIT, or a list of identical values ("5, 5").
bool parse_content_length(std::string_view v, uint64_t& out);

struct FramingFields {
  static constexpr int kMaxTransferEncoding = 8;

  bool close = false, keep_alive_token = false, upgrade_token = false;
  bool has_content_length = false, bad_content_length = false;
  uint64_t content_length = 0;
  std::string_view te_values[kMaxTransferEncoding];
  int te_count = 0;
  bool too_many_te = false;  // the caller answers at once

  // Takes Connection, Content-Length and Transfer-Encoding; false for any other field.
  bool take(std::string_view name, std::string_view value) {
    switch (name.size()) {
      case 10:
        if (!iequals(name, "Connection")) return false;
        close = close || has_token(value, "close");
        keep_alive_token = keep_alive_token || has_token(value, "keep-alive");
        upgrade_token = upgrade_token || has_token(value, "upgrade");
        return true;
      case 14: {
        if (!iequals(name, "Content-Length")) return false;
        uint64_t len = 0;
        if (!parse_content_length(value, len) || (has_content_length && len != content_length)) bad_content_length = true;
        has_content_length = true;
        content_length = len;
        return true;
      }
      case 17:
        if (!iequals(name, "Transfer-Encoding")) return false;
        if (te_count == kMaxTransferEncoding) too_many_te = true;
        else te_values[te_count++] = value;
        return true;
      default:
        return false;
    }
  }
};

}  // namespace pillar::http

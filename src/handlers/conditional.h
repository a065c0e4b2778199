// Conditional requests (RFC 9110 §13) against a representation's validators.
#pragma once
#include <ctime>
#include <string_view>

#include "http/request.h"

namespace pillar::handlers {

struct Validators {
  std::string_view etag;   // strong, quoted: "\"...\""
  time_t last_modified = 0;
};

// 0 to proceed, 304 or 412 otherwise, in RFC 9110 §13.2.2's order.
int evaluate_preconditions(const http::RequestHead& req, const Validators& v, time_t now);

// Does If-Range (if present) allow the Range header to apply?
bool if_range_allows(const http::RequestHead& req, const Validators& v);

// "etag" in a list of entity-tags (If-Match strong / If-None-Match weak comparison).
bool etag_list_matches(std::string_view list, std::string_view etag, bool weak);

}  // namespace pillar::handlers

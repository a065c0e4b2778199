// HTTP dates (RFC 9110 §5.6.7): IMF-fixdate out; IMF-fixdate, RFC 850 and
// asctime in. Locale-independent.
#pragma once
#include <ctime>
#include <optional>
#include <string_view>

namespace pillar::http {

// Writes "Sun, 06 Nov 1994 08:49:37 GMT" (29 bytes) and returns its length.
size_t format_http_date(time_t t, char out[30]);
std::optional<time_t> parse_http_date(std::string_view s);

}  // namespace pillar::http

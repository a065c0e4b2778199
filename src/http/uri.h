// Request paths: percent-decoding and dot-segment removal, so what reaches a
// handler can never name anything above its root; plus escaping for HTML.
#pragma once
#include <string>
#include <string_view>

namespace pillar::http {

// Decodes %XX, removes "." and ".." segments and collapses "//". Keeps a
// trailing slash. On refusal returns false with `status`: 400 for a bad
// escape, a NUL byte or a path that climbs above "/", 404 for an encoded
// slash (Apache's AllowEncodedSlashes Off).
bool normalize_path(std::string_view raw, std::string& out, int& status);

std::string html_escape(std::string_view s);
// Percent-encodes everything but unreserved characters and '/'.
std::string url_escape_path(std::string_view s);
// Every byte `keep` refuses as %XX (upper-case hex): the one encoder behind
// url_escape_path and mod_rewrite's escaping, which keep different sets.
std::string percent_encode(std::string_view s, bool (*keep)(unsigned char));

}  // namespace pillar::http

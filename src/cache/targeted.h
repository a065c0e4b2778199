// Targeted cache control (RFC 9213): response fields such as
// CDN-Cache-Control that carry Cache-Control directives for one class of
// cache. Pillar keeps a target list (CacheControlTarget; by default
// Pillar-Cache-Control, then CDN-Cache-Control) and, per response:
//  * uses the first field of the list that is present with a valid, non-empty
//    Structured Fields Dictionary value (RFC 9213 §2.1, §2.2); an empty or
//    unparsable one is ignored as if absent, and the next is tried;
//  * when one is in force, ignores Cache-Control and Expires for its own
//    store and freshness decisions (decide_store() does this);
//  * never lets a targeted field that is not on its list change anything, and
//    passes such fields through (§2.2 MUST);
//  * removes the fields on its list before the response goes to its client
//    (RFC 9213 §3 lets a cache forward or remove the field it uses; Pillar
//    removes them so an application's instructions to its shared cache do
//    not reach browsers). Behind a CDN, leave CDN-Cache-Control off the list
//    (`CacheControlTarget Pillar-Cache-Control`) so it reaches the CDN.
// Several lines of one field are joined with "," before parsing (RFC 8941
// §4.2). Field names are compared case-insensitively.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cache/policy.h"
#include "http/response_parser.h"
#include "http/structured_fields.h"

namespace pillar::cache {

// The Dictionary of the first usable target field of `resp`, or nullopt when
// none is present, valid and non-empty.
std::optional<http::sf::Dictionary> selected_targeted_field(const http::ResponseHead& resp,
                                                            std::span<const std::string> targets);

// The directives the cache obeys for `resp`: the targeted field's when one is
// in force (`*targeted` set to true), else Cache-Control's.
CacheControl effective_cache_control(const http::ResponseHead& resp, std::span<const std::string> targets,
                                     bool* targeted = nullptr);

// Is `name` on the target list? Those are the fields strip_targeted() removes.
bool is_target_field(std::string_view name, std::span<const std::string> targets);

// `lines` ("Name: value\r\n"...) without the fields on the target list.
std::string strip_targeted(std::string_view lines, std::span<const std::string> targets);
// The same, appended to `out` (the delivery path's head buffer: no
// allocation of its own). Returns whether a field was left out, so a caller
// can remember that a stored head has none and skip the scan next time.
bool append_without_targeted(std::string& out, std::string_view lines, std::span<const std::string> targets);

}  // namespace pillar::cache

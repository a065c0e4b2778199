// mod_expires over a response's fields: with ExpiresActive On, the rule
// for the response's media type (ExpiresByType TYPE, then TYPE's "major/*",
// then ExpiresDefault; a deeper section's rule for a type wins) sets
// Expires and adds "max-age=N" to Cache-Control, as Apache's expires
// filter. A response that has an Expires already (a member's, a script's)
// keeps it; "modification" rules need the file's time (a static file's),
// otherwise nothing is added; an expiry already past is the request time
// (max-age=0). Whether a response gets one at all (not for 4xx/5xx) is the
// caller's (headers_filter.cpp).
#pragma once
#include <ctime>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "config/metadata.h"
#include "server/metadata/header_edit.h"

namespace pillar::server::metadata {

struct ExpiresInput {
  time_t request_time = 0;          // seconds since the epoch
  std::optional<time_t> modified;   // the file's modification time, when the response is a file
  std::string_view media_type;      // when the fields carry no Content-Type (a 304); empty: none
  FieldTable table = FieldTable::OnSuccess;  // where the added fields go (the table Apache writes them in)
};

// True when it added Expires.
bool apply_expires(std::span<const config::Metadata* const> sections, std::vector<ResponseField>& fields,
                   const ExpiresInput& in);

}  // namespace pillar::server::metadata

// Accept-Encoding (RFC 9110 §12.5.3): does the client take a content
// coding? Every field line counts (a list may be split over several); a
// coding's own weight wins over "*"; q=0 refuses; "x-gzip" is gzip
// (§8.4.1.3). A request without the field gets no coding, as Apache's
// mod_deflate decides (RFC 9110 would allow any: Apache's reading is the
// safe one for old clients and the one admins expect).
#pragma once
#include <string_view>

#include "http/request.h"

namespace pillar::http {

// The weight of a qvalue ("0", "0.5", "1.000") in thousandths, or -1 when
// it is not a valid qvalue (such an element is not acceptable).
int parse_qvalue(std::string_view q);

// Whether one Accept-Encoding value (or several, joined with commas) takes
// `coding`.
bool accepts_coding(std::string_view accept_encoding, std::string_view coding);
// The same over every Accept-Encoding line of the request.
bool accepts_coding(const RequestHead& head, std::string_view coding);

}  // namespace pillar::http

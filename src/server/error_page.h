// The built-in HTML body for an error or redirect status.
#pragma once
#include <string_view>

#include "http/response.h"

namespace pillar::server {

// `signature`: ServerSignature's "<hr>\n<address>...</address>\n" (empty: Off).
void render_error_page(int status, http::Response& resp, std::string_view signature = {});

}  // namespace pillar::server

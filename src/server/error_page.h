// The built-in HTML body for an error or redirect status.
#pragma once
#include "http/response.h"

namespace pillar::server {

void render_error_page(int status, http::Response& resp);

}  // namespace pillar::server

// What an ap_expr condition (config/expr.h) reads of a request: <If>
// sections (server/if_sections.cpp) and Header/RequestHeader expr=
// (server/metadata). Views into the Request, valid while it is unchanged.
#pragma once
#include "config/expr.h"
#include "server/request/request.h"

namespace pillar::server {

// The request as mapped now: REQUEST_FILENAME is the file the URL maps to
// (an Alias's or DocumentRoot + path; `filename` when the caller knows it).
config::ExprInput expr_input(const Request& req, std::string_view filename = {});

}  // namespace pillar::server

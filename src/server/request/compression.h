// mod_deflate's filter step: whether a request gets the DEFLATE response
// filter (deflate/deflate_filter.h), from the sections that cover it.
#pragma once

namespace pillar::server {

struct Request;

// Pushes the DEFLATE filter onto req.filters when the request's sections
// name it (AddOutputFilterByType, SetOutputFilter, AddOutputFilter for the
// file's extension) and no-gzip is not set; the filter decides per response.
void maybe_push_deflate_filter(Request& req);

}  // namespace pillar::server

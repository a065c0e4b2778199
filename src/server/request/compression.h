// mod_deflate's filter step: whether a request gets the DEFLATE response
// filter (deflate/deflate_filter.h), from the sections that cover it.
#pragma once

namespace pillar::server {

struct Request;
struct OutputFilterSections;

// Pushes the DEFLATE filter onto req.filters when the request's sections
// name it (AddOutputFilterByType, SetOutputFilter, AddOutputFilter for the
// file's extension) and no-gzip is not set; the filter decides per response.
// `sections`: what covers the request (request/output_filter_sections.h),
// merged once for every filter module; its DEFLATE and BROTLI_COMPRESS
// selections are taken from it.
void maybe_push_deflate_filter(Request& req, OutputFilterSections& sections);

}  // namespace pillar::server

// Which output-filter settings cover a request, merged as Apache merges
// per-directory configuration: the server/vhost level, then the
// <Directory> sections of the file (shortest path first) and the <Files>
// sections of its name, then every <Location> that matches the path, in
// file order. AddOutputFilterByType's types add up; the innermost
// SetOutputFilter and each extension's innermost AddOutputFilter or
// RemoveOutputFilter win. A proxied location has no file: only the vhost
// and <Location> sections apply (Apache does not walk directories for it).
// The filter modules (request/compression.cpp, request/bandwidth_filter.cpp)
// each read their own filter's selection from it.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.h"

namespace pillar::server {

struct Request;

// One filter's selection (DEFLATE's, BROTLI_COMPRESS's, RATE_LIMIT's), merged.
struct MergedFilterSelection {
  std::vector<std::string> types;
  std::optional<bool> set;
  std::vector<std::pair<std::string, bool>> extensions;
  void apply(const config::FilterSelection& f);
  // AddOutputFilter for one of the name's extensions (mod_mime reads each:
  // "page.html.en" has .html and .en); the last mapping of each wins.
  bool extension_says(std::string_view name) const;
};

struct OutputFilterSections {
  MergedFilterSelection deflate, brotli, rate_limit;
  std::string filename;   // the file the request maps to (empty: proxied, or none)
  std::string_view base;  // its last segment (into filename)
};

OutputFilterSections output_filter_sections(const Request& req);

}  // namespace pillar::server

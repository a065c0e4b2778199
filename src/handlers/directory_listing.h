// The HTML index of a directory (Options Indexes).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pillar::handlers {

// `fs_dir` is read; `url_path` (ending in '/') titles the page and is the
// base of the links. Names are HTML- and URL-escaped; ".ht*" is never shown.
// `ignore`: IndexIgnore's shell wildcards, matched against each name (a
// pattern with a '/' against the full path), as mod_autoindex.
// `signature`: ServerSignature's address line, put after the table.
// `header` (HeaderName's file, as HTML): replaces the "Index of" heading, as
// mod_autoindex; `readme` (ReadmeName's): put after the table.
// Returns false when the directory cannot be read.
bool render_directory_listing(const std::string& fs_dir, std::string_view url_path, std::string& html,
                              const std::vector<std::string>& ignore = {}, std::string_view signature = {},
                              std::string_view header = {}, std::string_view readme = {});

// A HeaderName/ReadmeName file's content as HTML for a listing: text/html
// as it is, other text/* types escaped in <pre>; nullopt for another type
// (mod_autoindex inserts only text/*).
std::optional<std::string> listing_insert(std::string_view content, std::string_view media_type);

}  // namespace pillar::handlers

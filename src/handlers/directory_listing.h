// The HTML index of a directory (Options Indexes).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace pillar::handlers {

// `fs_dir` is read; `url_path` (ending in '/') titles the page and is the
// base of the links. Names are HTML- and URL-escaped; ".ht*" is never shown.
// `ignore`: IndexIgnore's shell wildcards, matched against each name (a
// pattern with a '/' against the full path), as mod_autoindex.
// `signature`: ServerSignature's address line, put after the table.
// Returns false when the directory cannot be read.
bool render_directory_listing(const std::string& fs_dir, std::string_view url_path, std::string& html,
                              const std::vector<std::string>& ignore = {}, std::string_view signature = {});

}  // namespace pillar::handlers

// The HTML index of a directory (Options Indexes).
#pragma once
#include <string>
#include <string_view>

namespace pillar::handlers {

// `fs_dir` is read; `url_path` (ending in '/') titles the page and is the
// base of the links. Names are HTML- and URL-escaped; ".ht*" is never shown.
// Returns false when the directory cannot be read.
bool render_directory_listing(const std::string& fs_dir, std::string_view url_path, std::string& html);

}  // namespace pillar::handlers

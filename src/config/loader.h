// Reads httpd.conf-style text into a validated ServerConfig.
// Errors never throw past this API: each is reported with file and line and a
// message that says what would be right.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/model.h"

namespace pillar::config {

struct LoadResult {
  std::unique_ptr<ServerConfig> config;  // null when errors is non-empty
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty() && config != nullptr; }
};

struct LoadOptions {
  std::vector<std::string> defines;  // -D NAME, for <IfDefine>
  std::string server_root;           // relative paths resolve against it; default: the config file's directory
};

LoadResult load_config_file(const std::string& path, const LoadOptions& opts = {});
// `name` stands in for the file name in messages; Include paths resolve
// against opts.server_root.
LoadResult load_config_text(std::string_view text, const std::string& name, const LoadOptions& opts = {});

}  // namespace pillar::config

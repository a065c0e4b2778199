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

// One .htaccess file's directives (its tree read with TreeInput::htaccess),
// applied as Apache applies a per-directory file: into `dir` (the file's
// directory, after the <Directory> sections) and `vh` (a copy of the vhost
// that serves this directory only), each directive checked against `perm`
// (AllowOverride, AllowOverrideList). Errors and notices name file:line.
struct HtaccessPermissions;
struct ConfigNode;
void apply_htaccess(const std::vector<ConfigNode>& nodes, const std::string& server_root, VirtualHost& vh,
                    DirectorySection& dir, const HtaccessPermissions& perm, std::vector<ConfigError>& errors,
                    std::vector<std::string>& notices);

// The body of an <If> that holds for a request (IfSection::body, checked
// when the configuration was read), applied as Apache merges it: into
// `dir` (a section that covers the whole request) and `vh` (the request's
// copy of the vhost). Errors name file:line.
void apply_if_body(const std::vector<ConfigNode>& nodes, const std::string& server_root, VirtualHost& vh,
                   DirectorySection& dir, std::vector<ConfigError>& errors, std::vector<std::string>& notices);

LoadResult load_config_file(const std::string& path, const LoadOptions& opts = {});
// `name` stands in for the file name in messages; Include paths resolve
// against opts.server_root.
LoadResult load_config_text(std::string_view text, const std::string& name, const LoadOptions& opts = {});

}  // namespace pillar::config

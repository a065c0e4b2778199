// The configuration as a tree of directives and sections, with the
// read-time constructs already resolved: Include/IncludeOptional (globs),
// <IfModule>, <IfDefine>, Define/UnDefine and ${VAR}, ServerRoot, LoadModule
// (answered from config/modules.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/modules.h"

namespace pillar::config {

struct ConfigNode {
  std::string name;               // as written
  std::vector<std::string> args;
  std::string file;
  int line = 0;
  bool section = false;
  std::vector<ConfigNode> children;  // section body
};

struct TreeInput {
  std::vector<std::string> defines;
  std::string server_root;  // for relative Include paths
  // Reading an .htaccess file: Include*, ServerRoot, LoadModule, Define and
  // UnDefine stay ordinary directives (the loader refuses them there), and
  // ${VAR} is not expanded (it would show the server's environment to
  // whoever writes the file). <IfModule> sees `loaded_modules`.
  bool htaccess = false;
  std::vector<std::string> loaded_modules;
};

struct TreeResult {
  std::vector<ConfigNode> top;
  std::vector<ConfigError> errors;
  std::vector<std::string> notices;
  std::string server_root;  // after any ServerRoot directive
  std::vector<std::string> defines;         // at the end: -D and Define names
  std::vector<std::string> loaded_modules;  // at the end: the LoadModule ids
};

void build_tree_from_text(std::string_view text, const std::string& file, const TreeInput& in, TreeResult& out);
void build_tree_from_file(const std::string& path, const TreeInput& in, TreeResult& out);


}  // namespace pillar::config

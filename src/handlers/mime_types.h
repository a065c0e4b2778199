// Extension -> MIME type, from TypesConfig (/etc/mime.types format) or a
// built-in table, with AddType overrides applied per vhost by the caller.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>

namespace pillar::handlers {

class MimeTypes {
 public:
  MimeTypes();  // the built-in table
  // Adds the types of a mime.types file; false if it cannot be read.
  bool load(const std::string& path);
  void add(std::string_view ext, std::string_view type);  // ext with or without the dot
  // By the last extension, case-insensitive; empty when unknown (then no
  // Content-Type is sent, as Apache does).
  std::string_view lookup(std::string_view filename) const;

 private:
  std::unordered_map<std::string, std::string> by_ext_;  // lower-case ext without dot
};

}  // namespace pillar::handlers

// Extension -> MIME type, from TypesConfig (/etc/mime.types format) or a
// built-in table, with AddType overrides applied per vhost by the caller.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>

#include "config/model.h"

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

// What mod_mime derives from a file name: every extension after the first
// dot counts, in any order; for the type and the charset the rightmost that
// maps wins, languages and encodings accumulate (welcome.html.en.gz: text/html,
// Content-Language en, Content-Encoding as AddEncoding wrote it). The charset
// (AddCharset, else AddDefaultCharset for text/plain and text/html) is added
// to a type that has none.
struct ContentMeta {
  std::string type;      // with "; charset=..." when one applies; empty: no Content-Type
  std::string encoding;  // Content-Encoding, comma-separated; empty: none
  std::string language;  // Content-Language, comma-separated (or DefaultLanguage); empty: none
};
// `force_type` (ForceType): replaces the type and AddCharset's charset, as
// core's fixup does after mod_mime; AddDefaultCharset still applies.
ContentMeta content_meta(std::string_view filename, const config::VirtualHost& vh, const MimeTypes& mime,
                         const std::string* force_type = nullptr);

}  // namespace pillar::handlers

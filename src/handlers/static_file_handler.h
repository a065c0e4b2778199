// Files under a virtual host's DocumentRoot, as Apache's core handler with
// mod_dir and mod_autoindex serves them: <Directory>/<Files> access and
// Options, DirectoryIndex, trailing-slash redirects, validators (ETag,
// Last-Modified), conditional requests, byte ranges and Content-Type.
#pragma once
#include <memory>
#include <string>

#include "config/model.h"
#include "handlers/mime_types.h"
#include "http/handler.h"

namespace pillar::handlers {

class StaticFileHandler final : public http::Handler {
 public:
  // `vh` and `mime` must outlive the handler (they live in the Runtime).
  StaticFileHandler(const config::VirtualHost& vh, const MimeTypes& mime);
  void handle(const http::RequestContext& ctx, http::Response& resp) override;

 private:
  struct Effective {
    uint8_t options = config::kDefaultOptions;
    const config::AccessPolicy* access = nullptr;  // null: granted
    const std::string* force_type = nullptr;       // the deepest <Directory>'s ForceType ("": None)
    const std::vector<std::string>* precompressed = nullptr;  // PillarPrecompressed's codings (null or empty: off)
    const std::string* header_name = nullptr;  // HeaderName (mod_autoindex; empty: none)
    const std::string* readme_name = nullptr;  // ReadmeName
  };
  // HeaderName/ReadmeName's `name` for a listing of `fs_dir`, as the HTML to
  // insert; empty when there is none, it is not text/* or not allowed.
  std::string listing_file(const http::RequestContext& ctx, const std::string& fs_dir, const std::string& name) const;
  // Options and access policy for a file in directory `dir` named `name`.
  Effective effective(std::string_view dir, std::string_view name) const;
  // False (and 403 set) when a symlink under the root is refused by Options.
  bool symlinks_allowed(const std::string& fs_path, uint8_t options, http::Response& resp) const;
  void serve_file(const http::RequestContext& ctx, const std::string& fs_path, std::string_view name,
                  const Effective& eff, http::Response& resp) const;
  void serve_open_file(const http::RequestContext& ctx, std::shared_ptr<core::OpenFile> file, const std::string& fs_path,
                       std::string_view name, const Effective& eff, http::Response& resp) const;
  void serve_directory(const http::RequestContext& ctx, const std::string& fs_path, const Effective& eff,
                       http::Response& resp) const;

  const config::VirtualHost& vh_;
  const MimeTypes& mime_;
};

}  // namespace pillar::handlers

// What a handler produces: status, header lines and a body made of parts
// (text or file ranges, so multipart/byteranges and sendfile need no copies).
// The connection adds Date, Server, Content-Length and Connection itself.
// Reused across the requests of a connection: clear() keeps capacity.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/open_file.h"

namespace pillar::http {

// The value of the first field `name` in a header block ("Name: value\r\n"...),
// leading whitespace removed; empty when absent.
std::string_view find_header_line(std::string_view block, std::string_view name);

struct BodyPart {
  std::string text;                             // used when file is null
  std::shared_ptr<const core::OpenFile> file;   // else a range of this file
  uint64_t offset = 0;
  uint64_t length = 0;
};

class Response {
 public:
  int status = 200;
  // Set by a handler that wants the server's standard error page (or the
  // vhost's ErrorDocument) for `status` instead of a body of its own.
  bool use_error_page = false;
  bool close_connection = false;
  // The representation's media type when the head does not carry it (a 304
  // sends no Content-Type): what mod_expires' ExpiresByType goes by.
  std::string media_type;

  void add_header(std::string_view name, std::string_view value);
  const std::string& header_block() const { return headers_; }  // "Name: value\r\n"...
  bool has_header(std::string_view name) const;

  void add_text(std::string_view text);
  void add_file(std::shared_ptr<const core::OpenFile> file, uint64_t offset, uint64_t length);
  const std::vector<BodyPart>& parts() const { return parts_; }
  size_t part_count() const { return used_parts_; }
  uint64_t content_length() const;

  // Replace whatever was set with an error status (keeps capacity).
  void error(int code);
  void clear();

 private:
  std::string headers_;
  std::vector<BodyPart> parts_;  // only the first used_parts_ are live
  size_t used_parts_ = 0;
};

std::string_view reason_phrase(int status);

}  // namespace pillar::http

// A response head as exchanges write it (http/exchange.h: "Name: value\r\n"
// lines after begin_head, the framing decided at end_head) turned into the
// HTTP/2 field list of a HEADERS frame (RFC 9113 §8.3.2): ":status" first,
// names lower-cased, no connection-specific field (Connection, Keep-Alive,
// Proxy-Connection, Transfer-Encoding, Upgrade, and what Connection names),
// and the framing as a content-length when the length is known. Socketless,
// so it is unit-tested alone.
#pragma once
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/exchange.h"

namespace pillar::server::http2 {

class ResponseFields {
 public:
  // Replaces what was built before. `lines`: the fields as written.
  void build(int status, std::string_view lines, http::BodyLength body, uint64_t length);
  // An interim answer written as HTTP/1.1 bytes ("HTTP/1.1 103 Early
  // Hints\r\nLink: ...\r\n\r\n", a proxied member's 1xx): false when the
  // bytes are not one (they are then not sent).
  bool build_interim(std::string_view raw);

  const std::vector<nghttp2_nv>& nv() const { return nv_; }
  int status() const { return status_; }
  // The value of the field called `name` (lower-case), empty when absent.
  std::string_view find(std::string_view name) const;

 private:
  void add(std::string_view name, std::string_view value);
  void finish();
  // Where one field's name and value are in storage_ (the value follows the name).
  struct Span {
    uint32_t at, name_len, value_len;
  };
  int status_ = 0;
  std::string storage_;  // names and values, back to back (reserved whole in build: one allocation)
  std::vector<Span> spans_;
  std::vector<nghttp2_nv> nv_;
};

}  // namespace pillar::server::http2

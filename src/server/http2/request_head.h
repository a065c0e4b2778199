// An HTTP/2 request's header list (RFC 9113 §8.3) turned into the
// http::RequestHead every phase reads. The fields are checked as HPACK
// decodes them (pseudo-header fields first, each once, known ones only;
// lower-case names; no connection-specific field; TE only "trailers"), then
// written out as the HTTP/1.1 head they stand for:
//
//   METHOD :path HTTP/2.0\r\n  host: :authority\r\n  name: value\r\n ... \r\n
//
// and parsed by the one request parser (http/request_parser.h), so a target,
// a field value or a Content-Length is judged exactly as over HTTP/1.1. The
// head's views point into the builder's text, which lives as long as the
// stream. The request line is kept for %r, THE_REQUEST and server-status.
//
// Limits (limits.h): LimitRequestFields fields, LimitRequestFieldSize bytes
// each, LimitRequestLine for method and :path; over them, fields stop being
// kept (a decoded HPACK bomb costs no memory) and the request is answered
// 431 (or 414). A malformed list is a stream error PROTOCOL_ERROR.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "http/request.h"
#include "server/http2/limits.h"

namespace pillar::server::http2 {

class RequestHeadBuilder {
 public:
  enum class Verdict : uint8_t {
    Ok,         // the head is ready
    Malformed,  // stream error PROTOCOL_ERROR (RFC 9113 §8.1.1)
    Refused,    // answered with `status` (431, 414)
  };
  struct Result {
    Verdict verdict = Verdict::Ok;
    int status = 0;
    const char* reason = "";
  };

  explicit RequestHeadBuilder(const Limits& limits) : limits_(limits) {}

  // One decoded field, in order. False once the list is malformed (the
  // caller resets the stream; further fields are ignored).
  bool add(std::string_view name, std::string_view value);
  // The whole list is in. `end_stream`: the HEADERS ended the stream (no
  // body). A body of unknown length (no Content-Length, not ended) is
  // marked `chunked` in the head: the phases treat it as HTTP/1.1's chunked
  // body (read to its end, re-framed for a member).
  Result finish(http::RequestHead& head, bool end_stream);

  bool over_limits() const { return refused_status_ != 0; }
  // Bytes of the request line in text() ("GET / HTTP/2.0\r\n"): Request::head_len.
  size_t line_length() const { return line_len_; }
  const std::string& text() const { return text_; }

 private:
  bool malformed(const char* why) {
    if (!why_) why_ = why;
    return false;
  }
  void refuse(int status, const char* why) {
    if (!refused_status_) {
      refused_status_ = status;
      refused_why_ = why;
    }
  }

  const Limits& limits_;
  std::string method_, scheme_, authority_, path_;
  bool has_method_ = false, has_scheme_ = false, has_authority_ = false, has_path_ = false;
  bool regular_seen_ = false;
  std::string fields_;  // "name: value\r\n" lines (cookies apart)
  std::string cookie_;  // the cookie crumbs, joined with "; " (RFC 9113 §8.2.3)
  std::string host_;    // a host field, if any
  bool has_host_ = false;
  uint32_t count_ = 0;
  uint64_t list_bytes_ = 0;
  const char* why_ = nullptr;  // malformed: the first reason
  int refused_status_ = 0;
  const char* refused_why_ = "";
  std::string text_;
  size_t line_len_ = 0;
};

}  // namespace pillar::server::http2

#include "server/http2/request_head.h"

#include "http/request_parser.h"

namespace pillar::server::http2 {

namespace {

bool has_upper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

// Fields HTTP/2 does not carry (RFC 9113 §8.2.2): their meaning is the
// connection's, and HTTP/2 frames the message itself.
bool connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

constexpr size_t kFieldsText = 256;  // a common request's regular fields, so that appending them rarely grows

}  // namespace

bool RequestHeadBuilder::add(std::string_view name, std::string_view value) {
  if (why_) return false;
  if (name.empty()) return malformed("empty field name");
  if (has_upper(name)) return malformed("upper-case field name");
  // RFC 9113 §4.3.1 / RFC 7541 §4.1: each field costs its bytes plus 32.
  list_bytes_ += name.size() + value.size() + 32;
  if (list_bytes_ > limits_.header_list) refuse(431, "header list larger than LimitRequestFieldSize x LimitRequestFields");
  if (name[0] == ':') {
    if (regular_seen_) return malformed("pseudo-header field after a regular field");
    auto take = [&](bool& has, std::string& field) {
      if (has) return malformed("repeated pseudo-header field");
      has = true;
      if (value.size() > limits_.request_line) refuse(414, "request target longer than LimitRequestLine");
      if (!over_limits()) field.assign(value);
      return true;
    };
    if (name == ":method") return take(has_method_, method_);
    if (name == ":scheme") return take(has_scheme_, scheme_);
    if (name == ":authority") return take(has_authority_, authority_);
    if (name == ":path") return take(has_path_, path_);
    return malformed("unknown pseudo-header field");  // :protocol too: extended CONNECT is not offered
  }
  regular_seen_ = true;
  if (connection_specific(name)) return malformed("connection-specific field");
  if (name == "te" && value != "trailers") return malformed("TE other than \"trailers\"");
  if (++count_ > limits_.field_count) refuse(431, "more fields than LimitRequestFields");
  if (name.size() + 2 + value.size() > limits_.field_size) refuse(431, "a field larger than LimitRequestFieldSize");
  if (over_limits()) return true;  // counted, not kept: the answer is 431
  if (name == "cookie") {
    if (!cookie_.empty()) cookie_.append("; ");
    cookie_.append(value);
    return true;
  }
  if (fields_.empty()) fields_.reserve(kFieldsText);
  if (name == "host") {
    if (has_host_) return malformed("more than one host field");
    has_host_ = true;
    host_.assign(value);
  }
  fields_.append(name);
  fields_.append(": ");
  fields_.append(value);
  fields_.append("\r\n");
  return true;
}

RequestHeadBuilder::Result RequestHeadBuilder::finish(http::RequestHead& head, bool end_stream) {
  auto bad = [](const char* why) { return Result{Verdict::Malformed, 0, why}; };
  if (why_) return bad(why_);
  if (!has_method_) return bad("no :method");
  const bool connect = method_ == "CONNECT";
  if (connect) {
    if (has_scheme_ || has_path_ || !has_authority_) return bad("CONNECT needs :authority alone");
  } else {
    if (!has_scheme_) return bad("no :scheme");
    if (!has_path_) return bad("no :path");
  }
  // Over the limits the values were not kept: the answer is 431 or 414.
  if (over_limits()) return {Verdict::Refused, refused_status_, refused_why_};
  if (method_.empty()) return bad("empty :method");
  if (!connect && scheme_.empty()) return bad("empty :scheme");
  if (!connect && path_.empty()) return bad("empty :path");
  // RFC 9113 §8.3.1: Host may stand in for :authority, but must not differ.
  if (has_authority_ && has_host_ && host_ != authority_) return bad("host differs from :authority");
  if (has_authority_ && authority_.empty()) return bad("empty :authority");

  text_.clear();
  text_.reserve(method_.size() + path_.size() + authority_.size() + fields_.size() + cookie_.size() + 40);
  text_.append(method_);
  text_.push_back(' ');
  text_.append(connect ? authority_ : path_);
  text_.append(" HTTP/1.1\r\n");
  line_len_ = text_.size();
  if (has_authority_ && !has_host_) {
    text_.append("host: ");
    text_.append(authority_);
    text_.append("\r\n");
  }
  text_.append(fields_);
  if (!cookie_.empty()) {
    text_.append("cookie: ");
    text_.append(cookie_);
    text_.append("\r\n");
  }
  text_.append("\r\n");

  // The fields are checked again as HTTP/1.1 would check them; the pseudo
  // fields and the lines count once more against the limits, so with the
  // host line and the request line added they are given room.
  http::ParseLimits pl{static_cast<size_t>(limits_.request_line) + 16, static_cast<size_t>(limits_.field_count) + 2,
                       static_cast<size_t>(limits_.field_size) + 8};
  head.headers.reserve(count_ + 2);  // the fields, the host line: the parser's pushes never grow it
  http::ParseOutcome out = http::parse_request_head(text_, pl, head);
  if (out.kind != http::ParseOutcome::Complete) {
    if (out.kind == http::ParseOutcome::Error && (out.status == 414 || out.status == 431))
      return {Verdict::Refused, out.status, out.reason};
    return bad(out.kind == http::ParseOutcome::Error ? out.reason : "incomplete head");
  }
  // The version the request came in: "HTTP/2.0" in the request line (%r,
  // THE_REQUEST), 2.0 in the head (%H, SERVER_PROTOCOL).
  text_[line_len_ - 5] = '2';
  text_[line_len_ - 3] = '0';
  head.version_major = 2;
  head.version_minor = 0;
  head.keep_alive = true;
  head.upgrade = false;
  if (!end_stream && !head.has_content_length) head.chunked = true;  // a body of unknown length
  if (end_stream && head.has_content_length && head.content_length > 0)
    return bad("content-length with no DATA");  // RFC 9113 §8.1.1: a mismatch is malformed
  return {};
}

}  // namespace pillar::server::http2

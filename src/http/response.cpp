#include "http/response.h"

#include "http/request.h"

namespace pillar::http {

std::string_view find_header_line(std::string_view block, std::string_view name) {
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
      return core::trim_ows_front(line.substr(colon + 1));
    }
    if (eol == std::string_view::npos) break;
    block.remove_prefix(eol + 2);
  }
  return {};
}

void Response::add_header(std::string_view name, std::string_view value) {
  // Room for a common answer's fields at once (a fresh Response, as each
  // HTTP/2 stream has, would otherwise grow it field by field).
  constexpr size_t kCommonBlock = 256;
  if (headers_.capacity() < kCommonBlock) headers_.reserve(kCommonBlock);
  headers_.append(name);
  headers_.append(": ");
  headers_.append(value);
  headers_.append("\r\n");
}

bool Response::has_header(std::string_view name) const {
  std::string_view block = headers_;
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) return true;
    if (eol == std::string_view::npos) break;
    block.remove_prefix(eol + 2);
  }
  return false;
}

void Response::add_text(std::string_view text) {
  if (used_parts_ == parts_.size()) parts_.emplace_back();
  BodyPart& p = parts_[used_parts_++];
  p.text.assign(text);
  p.file.reset();
  p.offset = 0;
  p.length = text.size();
}

void Response::add_file(std::shared_ptr<const core::OpenFile> file, uint64_t offset, uint64_t length) {
  if (used_parts_ == parts_.size()) parts_.emplace_back();
  BodyPart& p = parts_[used_parts_++];
  p.text.clear();
  p.file = std::move(file);
  p.offset = offset;
  p.length = length;
}

uint64_t Response::content_length() const {
  uint64_t n = 0;
  for (size_t i = 0; i < used_parts_; ++i) n += parts_[i].length;
  return n;
}

void Response::error(int code) {
  clear();
  status = code;
  use_error_page = true;
}

void Response::clear() {
  status = 200;
  use_error_page = false;
  close_connection = false;
  media_type.clear();
  headers_.clear();
  for (size_t i = 0; i < used_parts_; ++i) parts_[i].file.reset();
  used_parts_ = 0;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status < 200 ? "Informational" : status < 300 ? "Success" : status < 400 ? "Redirection"
                  : status < 500 ? "Client Error" : "Server Error";
  }
}

}  // namespace pillar::http

#include "http/request.h"

namespace pillar::http {

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = core::trim_ows(list.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view RequestHead::find(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return {};
}

bool RequestHead::has(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return true;
  return false;
}

void RequestHead::reset() {
  method = Method::Other;
  method_name = target = path = query = authority = {};
  version_major = version_minor = 1;
  headers.clear();
  chunked = has_content_length = expect_continue = upgrade = false;
  content_length = 0;
  keep_alive = true;
}

std::string_view method_name(Method m) {
  switch (m) {
    case Method::Get: return "GET";
    case Method::Head: return "HEAD";
    case Method::Post: return "POST";
    case Method::Put: return "PUT";
    case Method::Delete: return "DELETE";
    case Method::Options: return "OPTIONS";
    case Method::Trace: return "TRACE";
    case Method::Connect: return "CONNECT";
    case Method::Patch: return "PATCH";
    case Method::Purge: return "PURGE";
    case Method::Other: break;
  }
  return "";
}

}  // namespace pillar::http

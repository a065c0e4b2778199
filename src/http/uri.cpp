#include "http/uri.h"

#include "core/text.h"

namespace pillar::http {

bool normalize_path(std::string_view raw, std::string& out, int& status) {
  out.clear();
  if (raw.empty() || raw.front() != '/') {
    status = 400;
    return false;
  }
  // `out` always ends in '/' while segments are added; each raw segment is
  // decoded first, so "%2e%2e" is "..", while an encoded '/' is refused.
  out.reserve(raw.size() + 1);
  out.push_back('/');
  bool keep_slash = true;
  size_t pos = 1;
  while (pos <= raw.size()) {
    size_t next = raw.find('/', pos);
    if (next == std::string_view::npos) next = raw.size();
    size_t seg_start = out.size();
    for (size_t i = pos; i < next; ++i) {
      char c = raw[i];
      if (c == '%') {
        if (i + 2 >= next) {
          status = 400;
          return false;
        }
        int h = core::hex_digit(raw[i + 1]), l = core::hex_digit(raw[i + 2]);
        if (h < 0 || l < 0) {
          status = 400;
          return false;
        }
        c = static_cast<char>(h * 16 + l);
        i += 2;
        if (c == '/') {
          status = 404;
          return false;
        }
      }
      if (c == '\0') {
        status = 400;
        return false;
      }
      out.push_back(c);
    }
    std::string_view seg(out.data() + seg_start, out.size() - seg_start);
    if (seg.empty()) {
      keep_slash = true;
    } else if (seg == ".") {
      out.resize(seg_start);
      keep_slash = true;
    } else if (seg == "..") {
      out.resize(seg_start);
      if (out.size() == 1) {
        status = 400;  // would climb above the root
        return false;
      }
      out.pop_back();
      out.resize(out.rfind('/') + 1);
      keep_slash = true;
    } else {
      out.push_back('/');
      keep_slash = next < raw.size();
    }
    pos = next + 1;
  }
  if (!keep_slash && out.size() > 1) out.pop_back();
  return true;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string percent_encode(std::string_view s, bool (*keep)(unsigned char)) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (keep(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string url_escape_path(std::string_view s) {
  return percent_encode(s, [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '/';
  });
}

}  // namespace pillar::http

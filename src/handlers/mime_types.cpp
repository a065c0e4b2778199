#include "handlers/mime_types.h"

#include <fstream>
#include <sstream>

#include "core/text.h"

namespace pillar::handlers {

namespace {
const char* const kBuiltin[][2] = {
    {"html", "text/html"}, {"htm", "text/html"}, {"css", "text/css"}, {"js", "text/javascript"},
    {"mjs", "text/javascript"}, {"json", "application/json"}, {"xml", "application/xml"},
    {"txt", "text/plain"}, {"csv", "text/csv"}, {"md", "text/markdown"}, {"png", "image/png"},
    {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"webp", "image/webp"},
    {"svg", "image/svg+xml"}, {"ico", "image/vnd.microsoft.icon"}, {"avif", "image/avif"},
    {"bmp", "image/bmp"}, {"tif", "image/tiff"}, {"tiff", "image/tiff"}, {"woff", "font/woff"},
    {"woff2", "font/woff2"}, {"ttf", "font/ttf"}, {"otf", "font/otf"}, {"pdf", "application/pdf"},
    {"zip", "application/zip"}, {"gz", "application/gzip"}, {"tgz", "application/gzip"},
    {"tar", "application/x-tar"}, {"bz2", "application/x-bzip2"}, {"xz", "application/x-xz"},
    {"7z", "application/x-7z-compressed"}, {"wasm", "application/wasm"}, {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"}, {"oga", "audio/ogg"}, {"wav", "audio/wav"}, {"flac", "audio/flac"},
    {"mp4", "video/mp4"}, {"webm", "video/webm"}, {"ogv", "video/ogg"}, {"mov", "video/quicktime"},
    {"avi", "video/x-msvideo"}, {"mpeg", "video/mpeg"}, {"rss", "application/rss+xml"},
    {"atom", "application/atom+xml"}, {"rtf", "application/rtf"}, {"doc", "application/msword"},
    {"xls", "application/vnd.ms-excel"}, {"ppt", "application/vnd.ms-powerpoint"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"}, {"epub", "application/epub+zip"},
    {"jar", "application/java-archive"}, {"bin", "application/octet-stream"},
    {"exe", "application/octet-stream"}, {"iso", "application/octet-stream"},
    {"webmanifest", "application/manifest+json"}, {"map", "application/json"},
};

}  // namespace

MimeTypes::MimeTypes() {
  for (const auto& e : kBuiltin) by_ext_[e[0]] = e[1];
}

bool MimeTypes::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line, type, ext;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    if (!(words >> type) || type[0] == '#') continue;  // blank or (indented) comment
    while (words >> ext && ext[0] != '#') {
      core::lowercase_in_place(ext);
      by_ext_[ext] = type;
    }
  }
  return true;
}

void MimeTypes::add(std::string_view ext, std::string_view type) {
  if (!ext.empty() && ext.front() == '.') ext.remove_prefix(1);
  by_ext_[core::lowercase(ext)] = std::string(type);
}

std::string_view MimeTypes::lookup(std::string_view filename) const {
  size_t dot = filename.rfind('.');
  size_t slash = filename.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  std::string_view ext = filename.substr(dot + 1);
  char buf[32];
  if (ext.empty() || ext.size() > sizeof buf) return {};
  for (size_t i = 0; i < ext.size(); ++i) buf[i] = core::ascii_lower(ext[i]);
  // Heterogeneous lookup needs C++20 transparent hashing; a short string is cheap here (SSO).
  auto it = by_ext_.find(std::string(buf, ext.size()));
  return it == by_ext_.end() ? std::string_view() : std::string_view(it->second);
}

ContentMeta content_meta(std::string_view filename, const config::VirtualHost& vh, const MimeTypes& mime,
                         const std::string* force_type) {
  ContentMeta m;
  std::string charset;
  size_t dot = filename.find('.');
  // The name before the first dot is not an extension (".gz" alone is one).
  while (dot != std::string_view::npos) {
    size_t next = filename.find('.', dot + 1);
    std::string ext(filename.substr(dot, next == std::string_view::npos ? std::string_view::npos : next - dot));
    dot = next;
    if (ext.size() < 2) continue;  // "bad..html"
    core::lowercase_in_place(ext);
    auto t = vh.add_types.find(ext);
    if (t != vh.add_types.end()) {
      if (!t->second.empty()) m.type = t->second;  // empty: RemoveType
    } else if (std::string_view ty = mime.lookup(ext); !ty.empty()) {
      m.type = ty;
    }
    if (auto c = vh.add_charsets.find(ext); c != vh.add_charsets.end()) charset = c->second;
    if (auto l = vh.add_languages.find(ext); l != vh.add_languages.end())
      m.language += (m.language.empty() ? "" : ", ") + l->second;
    if (auto e = vh.add_encodings.find(ext); e != vh.add_encodings.end())
      m.encoding += (m.encoding.empty() ? "" : ", ") + e->second;
  }
  if (m.language.empty()) m.language = vh.default_language;
  if (force_type && !force_type->empty()) {
    m.type = *force_type;
    charset.clear();
  }
  if (m.type.empty()) return m;
  bool has_charset = core::lowercase(m.type).find("charset=") != std::string::npos;
  if (!has_charset && !charset.empty()) {
    m.type += "; charset=" + charset;
  } else if (!has_charset && !vh.default_charset.empty()) {
    // AddDefaultCharset applies to text/plain and text/html only, as Apache.
    std::string base = core::lowercase(std::string_view(m.type).substr(0, m.type.find(';')));
    if (base == "text/plain" || base == "text/html") m.type += "; charset=" + vh.default_charset;
  }
  return m;
}

}  // namespace pillar::handlers

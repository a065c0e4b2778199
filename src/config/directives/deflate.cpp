// The output-filter directive table: mod_deflate's Deflate* settings and
// the directives that put its DEFLATE filter on responses (mod_filter's
// AddOutputFilterByType, core's SetOutputFilter, mod_mime's AddOutputFilter
// and RemoveOutputFilter). DEFLATE is the one output filter Pillar has, so
// naming another (INCLUDES, SUBSTITUTE...) is an error that says so rather
// than a filter silently missing. Listed in directives/registry.cpp;
// docs/compression.md documents each directive.
#include <string>

#include "config/directives/tables.h"
#include "http/request.h"

namespace pillar::config {
namespace {

// The section a Scope points at, or the vhost (server/vhost level); the
// vhost now has filters somewhere (requests there look for them).
OutputFilters& scope_filters(Scope& s) {
  s.vhost.output_filters_anywhere = true;
  if (s.files) return s.files->output_filters;
  if (s.loc) return s.loc->output_filters;
  if (s.dir) return s.dir->output_filters;
  return s.vhost.output_filters;
}

// "DEFLATE", "DEFLATE;INCLUDES"...: whether DEFLATE is named; false (with
// the error reported) when another filter is.
bool filter_list(DirectiveSink& out, const ConfigNode& n, std::string_view list, bool& deflate) {
  deflate = false;
  size_t at = 0;
  while (at <= list.size()) {
    size_t semi = list.find(';', at);
    std::string_view name = list.substr(at, semi == std::string_view::npos ? std::string_view::npos : semi - at);
    at = semi == std::string_view::npos ? list.size() + 1 : semi + 1;
    if (name.empty()) continue;
    if (http::iequals(name, "DEFLATE")) {
      deflate = true;
      continue;
    }
    out.error(n, n.name + ": the output filter '" + std::string(name) +
                     "' is not available in Pillar, which has DEFLATE only (mod_deflate); remove it from the list");
    return false;
  }
  return true;
}

// ".EXT" lower-case, from an extension written with or without its dot (mod_mime).
bool extension(DirectiveSink& out, const ConfigNode& n, const std::string& arg, std::string& ext) {
  ext = core::lowercase(arg);
  if (!ext.empty() && ext[0] != '.') ext = "." + ext;
  if (ext.size() < 2 || ext.find('/') != std::string::npos) {
    out.error(n, n.name + " '" + arg + "': expected a file extension such as .html");
    return false;
  }
  return true;
}

// AddOutputFilterByType FILTER[;FILTER...] MEDIA-TYPE...
void d_add_by_type(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  bool deflate = false;
  if (!filter_list(out, n, n.args[0], deflate)) return;
  OutputFilters& f = scope_filters(s);
  for (size_t i = 1; i < n.args.size(); ++i) {
    std::string type = core::lowercase(n.args[i]);
    if (type.find('/') == std::string::npos || type.find(';') != std::string::npos) {
      return out.error(n, "AddOutputFilterByType '" + n.args[i] +
                              "': expected a media type without parameters, such as text/html");
    }
    if (!deflate) continue;
    bool seen = false;
    for (const auto& t : f.deflate_types) seen = seen || t == type;
    if (!seen) f.deflate_types.push_back(std::move(type));
  }
}

// SetOutputFilter FILTER[;FILTER...]: every response of the section.
void d_set_output_filter(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  bool deflate = false;
  if (!filter_list(out, n, n.args[0], deflate)) return;
  scope_filters(s).set_deflate = deflate;
}

// AddOutputFilter FILTER[;FILTER...] EXT...
void d_add_output_filter(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  bool deflate = false;
  if (!filter_list(out, n, n.args[0], deflate)) return;
  OutputFilters& f = scope_filters(s);
  for (size_t i = 1; i < n.args.size(); ++i) {
    std::string ext;
    if (!extension(out, n, n.args[i], ext)) return;
    f.deflate_extensions.emplace_back(std::move(ext), deflate);
  }
}

// RemoveOutputFilter EXT...: undoes an inherited AddOutputFilter.
void d_remove_output_filter(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  OutputFilters& f = scope_filters(s);
  for (const auto& a : n.args) {
    std::string ext;
    if (!extension(out, n, a, ext)) return;
    f.deflate_extensions.emplace_back(std::move(ext), false);
  }
}

// An integer setting in Apache's range, with its message.
bool int_in(DirectiveSink& out, const ConfigNode& n, uint64_t lo, uint64_t hi, uint64_t& v) {
  std::string why;
  if (parse_uint(n.args[0], lo, hi, v, why)) return true;
  out.error(n, n.name + " must be between " + std::to_string(lo) + " and " + std::to_string(hi) + " (" + why + ")");
  return false;
}

void d_level(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  if (int_in(out, n, 1, 9, v)) s.vhost.deflate.level = static_cast<int>(v);
}

void d_mem_level(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  if (int_in(out, n, 1, 9, v)) s.vhost.deflate.mem_level = static_cast<int>(v);
}

void d_window_size(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  if (int_in(out, n, 1, 15, v)) s.vhost.deflate.window_bits = static_cast<int>(v);
}

void d_buffer_size(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_size(n.args[0], v, why) || v == 0 || v > (16u << 20)) {
    return out.error(n, "DeflateBufferSize should be positive (bytes, at most 16M), e.g. DeflateBufferSize 8096");
  }
  s.vhost.deflate.buffer_size = static_cast<uint32_t>(v);
}

void d_alter_etag(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  using A = DeflateSettings::AlterETag;
  const std::string& a = n.args[0];
  if (http::iequals(a, "AddSuffix")) s.vhost.deflate.alter_etag = A::AddSuffix;
  else if (http::iequals(a, "NoChange")) s.vhost.deflate.alter_etag = A::NoChange;
  else if (http::iequals(a, "Remove")) s.vhost.deflate.alter_etag = A::Remove;
  else out.error(n, "DeflateAlterETag accepts only 'NoChange', 'AddSuffix', and 'Remove'");
}

constexpr uint8_t kAnywhere = kSV | kPerDir;

constexpr DirectiveSpec kTable[] = {
    {"AddOutputFilterByType", 2, -1, kAnywhere, false, d_add_by_type, "AddOutputFilterByType DEFLATE MEDIA-TYPE...", kOrFileInfo},
    {"SetOutputFilter", 1, 1, kAnywhere, false, d_set_output_filter, "SetOutputFilter DEFLATE", kOrFileInfo},
    {"AddOutputFilter", 2, -1, kAnywhere, false, d_add_output_filter, "AddOutputFilter DEFLATE .EXT...", kOrFileInfo},
    {"RemoveOutputFilter", 1, -1, kAnywhere, false, d_remove_output_filter, "RemoveOutputFilter .EXT...", kOrFileInfo},
    {"DeflateCompressionLevel", 1, 1, kSV, false, d_level, "DeflateCompressionLevel 1-9"},
    {"DeflateMemLevel", 1, 1, kSV, false, d_mem_level, "DeflateMemLevel 1-9"},
    {"DeflateWindowSize", 1, 1, kSV, false, d_window_size, "DeflateWindowSize 1-15"},
    {"DeflateBufferSize", 1, 1, kSV, false, d_buffer_size, "DeflateBufferSize BYTES"},
    {"DeflateAlterETag", 1, 1, kSV, false, d_alter_etag, "DeflateAlterETag AddSuffix|NoChange|Remove"},
};

}  // namespace

std::span<const DirectiveSpec> deflate_directives() { return kTable; }

}  // namespace pillar::config

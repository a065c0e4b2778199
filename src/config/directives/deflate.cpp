// The output-filter directive table: mod_deflate's Deflate* and
// mod_brotli's Brotli* settings and the directives that put their DEFLATE
// and BROTLI_COMPRESS filters, and mod_ratelimit's RATE_LIMIT, on responses
// (mod_filter's AddOutputFilterByType, core's SetOutputFilter, mod_mime's
// AddOutputFilter and RemoveOutputFilter). These three are the output
// filters Pillar has, so
// naming another (INCLUDES, SUBSTITUTE...) is an error that says so rather
// than a filter silently missing. Listed in directives/registry.cpp;
// docs/compression.md documents each directive.
#include <algorithm>
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

// The filters a list names.
struct Named {
  bool deflate = false, brotli = false, rate_limit = false;
};

// "DEFLATE", "BROTLI_COMPRESS;DEFLATE"...: which of Pillar's filters are
// named; false (with the error reported) when another filter is.
bool filter_list(DirectiveSink& out, const ConfigNode& n, std::string_view list, Named& named) {
  named = {};
  size_t at = 0;
  while (at <= list.size()) {
    size_t semi = list.find(';', at);
    std::string_view name = list.substr(at, semi == std::string_view::npos ? std::string_view::npos : semi - at);
    at = semi == std::string_view::npos ? list.size() + 1 : semi + 1;
    if (name.empty()) continue;
    if (http::iequals(name, "DEFLATE")) {
      named.deflate = true;
      continue;
    }
    if (http::iequals(name, "BROTLI_COMPRESS")) {
      named.brotli = true;
      continue;
    }
    if (http::iequals(name, "RATE_LIMIT")) {
      named.rate_limit = true;
      continue;
    }
    out.error(n, n.name + ": the output filter '" + std::string(name) +
                     "' is not available in Pillar, which has DEFLATE (mod_deflate), BROTLI_COMPRESS (mod_brotli) "
                     "and RATE_LIMIT (mod_ratelimit) only; remove it from the list");
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
  Named named;
  if (!filter_list(out, n, n.args[0], named)) return;
  OutputFilters& f = scope_filters(s);
  auto add = [](FilterSelection& sel, const std::string& type) {
    if (std::find(sel.types.begin(), sel.types.end(), type) == sel.types.end()) sel.types.push_back(type);
  };
  for (size_t i = 1; i < n.args.size(); ++i) {
    std::string type = core::lowercase(n.args[i]);
    if (type.find('/') == std::string::npos || type.find(';') != std::string::npos) {
      return out.error(n, "AddOutputFilterByType '" + n.args[i] +
                              "': expected a media type without parameters, such as text/html");
    }
    if (named.deflate) add(f.deflate, type);
    if (named.brotli) add(f.brotli, type);
    if (named.rate_limit) add(f.rate_limit, type);
  }
}

// SetOutputFilter FILTER[;FILTER...]: every response of the section.
void d_set_output_filter(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  Named named;
  if (!filter_list(out, n, n.args[0], named)) return;
  OutputFilters& f = scope_filters(s);
  f.deflate.set = named.deflate;
  f.brotli.set = named.brotli;
  f.rate_limit.set = named.rate_limit;
}

// AddOutputFilter FILTER[;FILTER...] EXT...
void d_add_output_filter(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  Named named;
  if (!filter_list(out, n, n.args[0], named)) return;
  OutputFilters& f = scope_filters(s);
  for (size_t i = 1; i < n.args.size(); ++i) {
    std::string ext;
    if (!extension(out, n, n.args[i], ext)) return;
    f.deflate.extensions.emplace_back(ext, named.deflate);
    f.brotli.extensions.emplace_back(ext, named.brotli);
    f.rate_limit.extensions.emplace_back(std::move(ext), named.rate_limit);
  }
}

// RemoveOutputFilter EXT...: undoes an inherited AddOutputFilter.
void d_remove_output_filter(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  OutputFilters& f = scope_filters(s);
  for (const auto& a : n.args) {
    std::string ext;
    if (!extension(out, n, a, ext)) return;
    f.deflate.extensions.emplace_back(ext, false);
    f.brotli.extensions.emplace_back(ext, false);
    f.rate_limit.extensions.emplace_back(std::move(ext), false);
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

// DeflateAlterETag and BrotliAlterETag.
bool alter_etag(DirectiveSink& out, const ConfigNode& n, DeflateSettings::AlterETag& v) {
  using A = DeflateSettings::AlterETag;
  const std::string& a = n.args[0];
  if (http::iequals(a, "AddSuffix")) v = A::AddSuffix;
  else if (http::iequals(a, "NoChange")) v = A::NoChange;
  else if (http::iequals(a, "Remove")) v = A::Remove;
  else return out.error(n, n.name + " accepts only 'NoChange', 'AddSuffix', and 'Remove'"), false;
  return true;
}

void d_alter_etag(DirectiveSink& out, const ConfigNode& n, Scope& s) { alter_etag(out, n, s.vhost.deflate.alter_etag); }
void d_brotli_alter_etag(DirectiveSink& out, const ConfigNode& n, Scope& s) { alter_etag(out, n, s.vhost.brotli.alter_etag); }

void d_brotli_quality(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  if (int_in(out, n, 0, 11, v)) s.vhost.brotli.quality = static_cast<int>(v);
}

void d_brotli_window(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  if (int_in(out, n, 10, 24, v)) s.vhost.brotli.window = static_cast<int>(v);
}

void d_brotli_max_block(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  if (int_in(out, n, 16, 24, v)) s.vhost.brotli.max_input_block = static_cast<int>(v);
}

// PillarPrecompressed off | CODING... (br, gzip): serve FILE.br or FILE.gz
// beside FILE when the client takes that coding (nginx's gzip_static).
void d_precompressed(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::vector<std::string> codings;
  if (!(n.args.size() == 1 && http::iequals(n.args[0], "off"))) {
    for (const auto& a : n.args) {
      std::string c = core::lowercase(a);
      if (c != "br" && c != "gzip")
        return out.error(n, "PillarPrecompressed: '" + a + "' is not a coding Pillar serves precompressed: write br, "
                                "gzip (in the order to prefer them) or off");
      if (std::find(codings.begin(), codings.end(), c) == codings.end()) codings.push_back(std::move(c));
    }
  }
  if (s.dir) s.dir->precompressed = std::move(codings);
  else s.vhost.precompressed = std::move(codings);
}

constexpr uint8_t kAnywhere = kSV | kPerDir;

constexpr DirectiveSpec kTable[] = {
    {"AddOutputFilterByType", 2, -1, kAnywhere, false, d_add_by_type, "AddOutputFilterByType DEFLATE|BROTLI_COMPRESS|RATE_LIMIT MEDIA-TYPE...", kOrFileInfo},
    {"SetOutputFilter", 1, 1, kAnywhere, false, d_set_output_filter, "SetOutputFilter DEFLATE|BROTLI_COMPRESS|RATE_LIMIT", kOrFileInfo},
    {"AddOutputFilter", 2, -1, kAnywhere, false, d_add_output_filter, "AddOutputFilter DEFLATE|BROTLI_COMPRESS|RATE_LIMIT .EXT...", kOrFileInfo},
    {"RemoveOutputFilter", 1, -1, kAnywhere, false, d_remove_output_filter, "RemoveOutputFilter .EXT...", kOrFileInfo},
    {"PillarPrecompressed", 1, 2, kSV | kDirectory, false, d_precompressed, "PillarPrecompressed off|br|gzip [gzip|br]"},
    {"DeflateCompressionLevel", 1, 1, kSV, false, d_level, "DeflateCompressionLevel 1-9"},
    {"DeflateMemLevel", 1, 1, kSV, false, d_mem_level, "DeflateMemLevel 1-9"},
    {"DeflateWindowSize", 1, 1, kSV, false, d_window_size, "DeflateWindowSize 1-15"},
    {"DeflateBufferSize", 1, 1, kSV, false, d_buffer_size, "DeflateBufferSize BYTES"},
    {"DeflateAlterETag", 1, 1, kSV, false, d_alter_etag, "DeflateAlterETag AddSuffix|NoChange|Remove"},
    {"BrotliCompressionQuality", 1, 1, kSV, false, d_brotli_quality, "BrotliCompressionQuality 0-11"},
    {"BrotliCompressionWindow", 1, 1, kSV, false, d_brotli_window, "BrotliCompressionWindow 10-24"},
    {"BrotliCompressionMaxInputBlock", 1, 1, kSV, false, d_brotli_max_block, "BrotliCompressionMaxInputBlock 16-24"},
    {"BrotliAlterETag", 1, 1, kSV, false, d_brotli_alter_etag, "BrotliAlterETag AddSuffix|NoChange|Remove"},
};

}  // namespace

std::span<const DirectiveSpec> deflate_directives() { return kTable; }

}  // namespace pillar::config

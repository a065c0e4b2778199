// Which output-filter settings cover a request, merged as Apache merges
// per-directory configuration: the server/vhost level, then the
// <Directory> sections of the file (shortest path first) and the <Files>
// sections of its name, then every <Location> that matches the path, in
// file order. AddOutputFilterByType's types add up; the innermost
// SetOutputFilter and each extension's innermost AddOutputFilter or
// RemoveOutputFilter win. A proxied location has no file: only the vhost
// and <Location> sections apply (Apache does not walk directories for it).
//
// The request environment is mod_rewrite's E= and the vhost's SetEnv:
// no-gzip (no DEFLATE, and no Vary for it), no-brotli (the same for
// BROTLI_COMPRESS), gzip-only-text/html=1, force-gzip.
#include "server/request/compression.h"

#include <memory>
#include <optional>

#include "deflate/deflate_filter.h"
#include "http/accept_encoding.h"
#include "server/request/request.h"
#include "server/site.h"

namespace pillar::server {

namespace {

bool under(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path.substr(0, dir.size()) == dir && (path.size() == dir.size() || path[dir.size()] == '/');
}

// A variable of the request's environment (SetEnvIf, SetEnv, E=), or null.
const std::string* env_value(const Request& req, std::string_view name) { return req.env.find(name); }

// One filter's selection (DEFLATE's or BROTLI_COMPRESS's), merged.
struct Merged {
  std::vector<std::string> types;
  std::optional<bool> set;
  std::vector<std::pair<std::string, bool>> extensions;
  void apply(const config::FilterSelection& f) {
    for (const auto& t : f.types) {
      if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
    }
    if (f.set) set = f.set;
    extensions.insert(extensions.end(), f.extensions.begin(), f.extensions.end());
  }
  // AddOutputFilter for one of the name's extensions (mod_mime reads each:
  // "page.html.en" has .html and .en); the last mapping of each wins.
  bool extension_says(std::string_view name) const {
    if (extensions.empty()) return false;
    size_t dot = name.find('.');
    while (dot != std::string_view::npos) {
      size_t next = name.find('.', dot + 1);
      std::string ext = core::lowercase(name.substr(dot, next == std::string_view::npos ? next : next - dot));
      for (auto it = extensions.rbegin(); it != extensions.rend(); ++it) {
        if (it->first != ext) continue;
        if (it->second) return true;
        break;
      }
      dot = next;
    }
    return false;
  }
};

// Both filters' selections, merged section by section.
struct MergedFilters {
  Merged deflate, brotli;
  void apply(const config::OutputFilters& f) {
    deflate.apply(f.deflate);
    brotli.apply(f.brotli);
  }
};

}  // namespace

void maybe_push_deflate_filter(Request& req) {
  if (!req.site) return;
  const config::VirtualHost& vh = *req.site->cfg;
  if (!vh.output_filters_anywhere) return;
  // no-gzip: Apache's BrowserMatch recipe (not even Vary); no-brotli: mod_brotli's.
  const bool no_gzip = env_value(req, "no-gzip") != nullptr, no_brotli = env_value(req, "no-brotli") != nullptr;
  if (no_gzip && no_brotli) return;

  MergedFilters m;
  m.apply(vh.output_filters);
  std::string_view base;
  std::string filename;
  const bool proxied = req.route && req.route->balancer;
  if (!proxied) {
    filename = !req.rewrite.filename.empty() ? req.rewrite.filename
               : vh.document_root.empty()    ? std::string()
                                             : vh.document_root + req.path;
    std::string_view fn = filename;
    size_t slash = fn.rfind('/');
    std::string_view dir = slash == std::string_view::npos ? fn : fn.substr(0, slash);
    if (dir.empty()) dir = "/";
    base = slash == std::string_view::npos ? fn : fn.substr(slash + 1);
    for (const auto& d : vh.directories) {  // shortest path first
      if (!filename.empty() && under(dir, d.path)) m.apply(d.output_filters);
    }
    if (!base.empty()) {
      for (const auto& f : vh.files) {
        if (f.matches(base)) m.apply(f.output_filters);
      }
      for (const auto& d : vh.directories) {
        if (!under(dir, d.path)) continue;
        for (const auto& f : d.files) {
          if (f.matches(base)) m.apply(f.output_filters);
        }
      }
    }
  }
  for (const auto& l : vh.locations) {
    if (!l.conditional() && l.matches(req.path)) m.apply(l.output_filters);
  }

  deflate::DeflateRequest d;
  if (!no_gzip) {
    d.gzip.any_type = m.deflate.set.value_or(false) || m.deflate.extension_says(base);
    d.gzip.types = std::move(m.deflate.types);
  }
  if (!no_brotli) {
    d.brotli.any_type = m.brotli.set.value_or(false) || m.brotli.extension_says(base);
    d.brotli.types = std::move(m.brotli.types);
  }
  if (!d.gzip.any() && !d.brotli.any()) return;
  d.accepts_gzip = env_value(req, "force-gzip") || http::accepts_coding(req.head, "gzip");
  d.accepts_br = http::accepts_coding(req.head, "br");
  d.head = req.head.method == http::Method::Head;
  d.range = req.head.has("Range");
  d.no_transform = http::has_token(req.head.find("Cache-Control"), "no-transform");
  const std::string* only_html = env_value(req, "gzip-only-text/html");
  d.gzip_only_html = only_html && *only_html == "1";
  req.filters.push(std::make_unique<deflate::DeflateFilter>(vh.deflate, vh.brotli, std::move(d)));
}

}  // namespace pillar::server

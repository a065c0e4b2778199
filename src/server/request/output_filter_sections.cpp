#include "server/request/output_filter_sections.h"

#include <algorithm>

#include "core/text.h"
#include "server/request/request.h"
#include "server/site.h"

namespace pillar::server {

namespace {

bool under(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path.substr(0, dir.size()) == dir && (path.size() == dir.size() || path[dir.size()] == '/');
}

void apply(OutputFilterSections& m, const config::OutputFilters& f) {
  m.deflate.apply(f.deflate);
  m.brotli.apply(f.brotli);
  m.rate_limit.apply(f.rate_limit);
}

}  // namespace

void MergedFilterSelection::apply(const config::FilterSelection& f) {
  for (const auto& t : f.types) {
    if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
  }
  if (f.set) set = f.set;
  extensions.insert(extensions.end(), f.extensions.begin(), f.extensions.end());
}

bool MergedFilterSelection::extension_says(std::string_view name) const {
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

OutputFilterSections output_filter_sections(const Request& req) {
  OutputFilterSections m;
  const config::VirtualHost& vh = *req.site->cfg;
  apply(m, vh.output_filters);
  const bool proxied = req.route && req.route->balancer;
  if (!proxied) {
    m.filename = !req.rewrite.filename.empty() ? req.rewrite.filename
                 : vh.document_root.empty()    ? std::string()
                                               : vh.document_root + req.path;
    std::string_view fn = m.filename;
    size_t slash = fn.rfind('/');
    std::string_view dir = slash == std::string_view::npos ? fn : fn.substr(0, slash);
    if (dir.empty()) dir = "/";
    m.base = slash == std::string_view::npos ? fn : fn.substr(slash + 1);
    for (const auto& d : vh.directories) {  // shortest path first
      if (!m.filename.empty() && under(dir, d.path)) apply(m, d.output_filters);
    }
    if (!m.base.empty()) {
      for (const auto& f : vh.files) {
        if (f.matches(m.base)) apply(m, f.output_filters);
      }
      for (const auto& d : vh.directories) {
        if (!under(dir, d.path)) continue;
        for (const auto& f : d.files) {
          if (f.matches(m.base)) apply(m, f.output_filters);
        }
      }
    }
  }
  for (const auto& l : vh.locations) {
    if (!l.conditional() && l.matches(req.path)) apply(m, l.output_filters);
  }
  return m;
}

}  // namespace pillar::server
